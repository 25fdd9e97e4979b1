"""A simulated Starter-tier day, for real: ``sandbox serve --day-limit 1000
--clock-speed 3600`` (an hour a second), ``crm update --watch --every 1m --budget 50%``
run as a subprocess on the same fast clock (``XEROLINK_CLOCK_SPEED``, so its waits are
scaled too), and 1% of the organisation's documents changing over the simulated day
(invoices paid, spread evenly on the sandbox's clock). After 24 simulated hours (about
25 real seconds): no day-limit 429, the day's Xero calls within half the allowance, the
interval widened and said so in the log and in ``status --json``, and each change made
before the last pass in Salesmate."""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from service.conftest import FIELDS
from service.test_watch_webhooks import field_value, open_invoices, pay
from support import connect_profile, running_sandbox
from support import control as sandbox_control

SPEED = 3600.0  # an hour a second
DAY = timedelta(days=1)
REAL_CAP = 90.0  # real seconds the whole simulated day may take before the test fails


@pytest.fixture
def starter(home, monkeypatch, cli) -> Any:
    with running_sandbox(crm="salesmate", day_limit=1000, clock_speed=SPEED) as server:
        tenant = connect_profile(server, home)
        token = sandbox_control(server.base_url, "GET", "salesmate")["access_token"]
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
        assert cli("crm", "connect", "salesmate", "--linkname", "demo",
                   "--salesmate-url", server.base_url)[0] == 0
        for figure, field in FIELDS:
            assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
        assert cli("crm", "update")[0] == 0  # linked and pushed once, before the day
        yield {"server": server, "tenant": tenant}


def sandbox_now(server: Any) -> datetime:
    return datetime.fromtimestamp(server.sandbox.clock.now(), UTC)


class Churn(threading.Thread):
    """1% of the organisation's documents (invoices, bills, credit notes, quotes) paid
    over the simulated day, evenly spaced on the sandbox's clock, through its control
    route (so the changes cost no Xero calls of the day's allowance)."""

    def __init__(self, starter: dict[str, Any], cli: Any) -> None:
        super().__init__(daemon=True)
        books = starter["server"].sandbox.tenants[starter["tenant"]]
        documents = len(books.invoices) + len(books.credit_notes) + len(books.quotes)
        self.count = max(1, math.ceil(documents / 100))
        self.open = open_invoices(starter, cli)
        assert len(self.open) >= self.count, (len(self.open), self.count)
        self.starter = starter
        self.start_at = sandbox_now(starter["server"])
        self.paid: list[tuple[dict[str, Any], datetime, Decimal]] = []
        self.done = threading.Event()

    def due(self, number: int) -> datetime:
        return self.start_at + DAY * ((number + 0.5) / self.count)

    def run(self) -> None:
        deadline = time.monotonic() + REAL_CAP
        while len(self.paid) < self.count and not self.done.is_set() \
                and time.monotonic() < deadline:
            if sandbox_now(self.starter["server"]) >= self.due(len(self.paid)):
                invoice = self.open[len(self.paid)]
                before = field_value(self.starter, invoice["crm"])
                assert before is not None
                pay(self.starter, invoice)
                wanted = before - Decimal(str(invoice["AmountDue"]))
                self.paid.append((invoice, sandbox_now(self.starter["server"]), wanted))
            time.sleep(0.01)


def run_the_day(starter: dict[str, Any], churn: Churn) -> tuple[list[dict[str, Any]], str, float]:
    """The service for 24 simulated hours: its log lines, its stderr, real seconds."""
    server = starter["server"]
    env = {**os.environ, "XEROLINK_TOKEN_STORE": "file", "PYTHONUNBUFFERED": "1",
           "XEROLINK_CLOCK_SPEED": server.sandbox.clock.described}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "xerolink", "crm", "update", "--watch", "--every", "1m",
         "--budget", "50%", "--log-format", "json"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lines: list[dict[str, Any]] = []
    arrived: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [arrived.put(raw) for raw in process.stdout or ()],
                     daemon=True).start()
    try:
        while not lines or datetime.fromisoformat(lines[-1]["at"]) < max(
                churn.start_at, datetime.fromisoformat(lines[0]["at"])) + DAY:
            left = REAL_CAP - (time.monotonic() - started)
            try:
                lines.append(json.loads(arrived.get(timeout=max(0.0, left))))
            except queue.Empty:
                pytest.fail(f"no simulated day within {REAL_CAP:g} real s: {lines[-1:]}")
            assert lines[-1]["outcome"] == "ok", lines[-1]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        churn.done.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    return lines, err, time.monotonic() - started


@pytest.mark.slow
def test_a_starter_tier_day_draws_no_day_limit_429_and_reports_the_planned_interval(
        starter, cli, monkeypatch, capsys):
    server = starter["server"]
    sandbox_control(server.base_url, "POST", "stats/reset")
    churn = Churn(starter, cli)
    churn.start()
    lines, err, real = run_the_day(starter, churn)
    churn.join(5)
    stats = sandbox_control(server.base_url, "GET", "stats")
    assert stats["status_429"] == 0, stats
    assert "Traceback" not in err
    first, last = (datetime.fromisoformat(lines[i]["at"]) for i in (0, -1))
    assert last - first >= DAY  # a whole day of passes
    used = sum(line["xero_calls"] for line in lines)
    assert used <= 500, f"{used} Xero calls in the day, over half the 1,000"
    assert stats["total"] >= used  # the sandbox saw every call the log counts
    widened = [line for line in lines if line["widened"]]
    assert widened and "interval widened from 1m" in widened[-1]["widened"]
    assert all(line["interval_seconds"] >= 60 for line in lines)
    # every change the churn made before the last pass began is in Salesmate
    caught = [(invoice, wanted) for invoice, at, wanted in churn.paid if at < last]
    assert caught, churn.paid
    for invoice, wanted in caught:
        assert field_value(starter, invoice["crm"]) == wanted, invoice["InvoiceID"]
    monkeypatch.setenv("XEROLINK_CLOCK_SPEED", server.sandbox.clock.described)
    service = cli.json("status")["service"]
    assert service["widened"] == lines[-1]["widened"]
    assert service["interval_seconds"] == lines[-1]["interval_seconds"] > 60
    with capsys.disabled():
        print(f"\nsimulated day in {real:.1f} real s (clock x{SPEED:g}): {len(lines)} passes, "
              f"{used} Xero calls, {len(churn.paid)} of {churn.count} documents paid, "
              f"intervals {lines[0]['interval_seconds']}..{lines[-1]['interval_seconds']} s")

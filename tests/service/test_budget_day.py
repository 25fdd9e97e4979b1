"""A simulated Starter-tier day: ``sandbox serve --day-limit 1000``, the sandbox's clock
run fast (moved on by each wait of the service), 1% of the documents changing over the
day, and ``crm update --watch --every 1m --budget 50%``: no day-limit 429, the interval
widened and said so, and the day's calls within half the allowance."""

from __future__ import annotations

import math
from typing import Any

import pytest

from service.conftest import FIELDS
from service.test_watch import FakeTime
from support import api, connect_profile, running_sandbox, sandbox_token
from support import control as sandbox_control

DAY = 86400


@pytest.fixture
def starter(home, monkeypatch, cli) -> Any:
    with running_sandbox(crm="salesmate", day_limit=1000) as server:
        connect_profile(server, home)
        token = sandbox_control(server.base_url, "GET", "salesmate")["access_token"]
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
        assert cli("crm", "connect", "salesmate", "--linkname", "demo",
                   "--salesmate-url", server.base_url)[0] == 0
        for figure, field in FIELDS:
            assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
        yield server


class ChurningDay(FakeTime):
    """The fast clock, and 1% of the organisation's open invoices voided over the day
    (spread evenly, through the sandbox's API as another app would)."""

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.tenant = next(iter(server.sandbox.tenants.values()))
        self.open = [i["InvoiceID"] for i in self.tenant.invoices.values()
                     if i["Status"] == "AUTHORISED"]
        self.changes = max(1, math.ceil(len(self.tenant.invoices) / 100))
        self.elapsed = 0.0
        self.voided: list[str] = []

    def wait(self, seconds: float) -> bool:
        super().wait(seconds)
        self.elapsed += seconds
        due = min(self.changes, int(self.elapsed * self.changes / DAY) + 1)
        while len(self.voided) < due and self.open:
            invoice = self.open.pop()
            token = sandbox_token(self.server.base_url)  # the clock moved: a fresh one
            status, _, _ = api(self.server.base_url, token, self.tenant.tenant_id,
                               "POST", f"/Invoices/{invoice}",
                               {"Invoices": [{"Status": "VOIDED"}]})
            assert status == 200
            self.voided.append(invoice)
        return False


@pytest.mark.slow
def test_a_starter_tier_day_draws_no_day_limit_429_and_reports_the_planned_interval(
        starter, cli):
    from xerolink.api import Xerolink

    day = ChurningDay(starter)
    lines: list[dict[str, Any]] = []

    def log(entry: dict[str, Any]) -> None:
        lines.append(entry)
        assert entry["outcome"] == "ok", entry
        if day.elapsed >= DAY:
            signals.request_stop()

    from xerolink.services.watch import Signals

    signals = Signals()
    sandbox_control(starter.base_url, "POST", "stats/reset")
    with Xerolink(clock_override=day) as xl:
        xl.crm_watch(every="1m", budget="50%", log=log, wait=day.wait, signals=signals,
                     max_passes=2000)
    stats = sandbox_control(starter.base_url, "GET", "stats")
    assert day.elapsed >= DAY and day.voided
    assert stats["status_429"] == 0
    used = sum(line["xero_calls"] for line in lines)
    assert used <= 500, f"{used} Xero calls in the day, over half the 1,000"
    widened = [line for line in lines if line["widened"]]
    assert widened and "interval widened from 1m" in widened[-1]["widened"]
    assert all(line["interval_seconds"] >= 60 for line in lines)
    service = cli.json("status")["service"]
    assert service["widened"] == lines[-1]["widened"]
    print(f"\n{len(lines)} passes, {used} Xero calls, {len(day.voided)} invoices voided, "
          f"intervals {lines[0]['interval_seconds']}..{lines[-1]['interval_seconds']} s")

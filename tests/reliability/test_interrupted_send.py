"""From a CRM contact to the customer's inbox, killed anywhere: ``create-invoice
contact:… --approve --send --yes`` killed with SIGKILL at each step (before the
create, during it, after it and before the approval, after the approval and before
the email, during the email, after the email and before its history note) and run
again makes one AUTHORISED invoice and sends exactly one email. The kill points are
the interrupted-create tests' own: Xero made slow for one method, the process killed
once the sandbox has the request of that step."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from support import connect_profile, control, crm_csv_from_sandbox

# Due four weeks on, relative to today: the tests pass on any day.
LINE = ("--line", "Killed widgets;3;41.5;200", "--due-date",
        (date.today() + timedelta(days=28)).isoformat())
HISTORY = "PUT /api.xro/2.0/Invoices/{id}/History"
EMAIL = "POST /api.xro/2.0/Invoices/{id}/Email"
# (name, the slowed method, the request that must have reached Xero, how many of them)
KILL_POINTS = [
    ("before the create", "GET", "GET /api.xro/2.0/Contacts/{id}", 1),
    ("during the create", "PUT", "PUT /api.xro/2.0/Invoices", 1),
    ("after the create, before the approval", "PUT", HISTORY, 1),
    ("after the approval, before the email", "PUT", HISTORY, 2),
    ("during the email", "POST", EMAIL, 1),
    ("after the email, before its history note", "PUT", HISTORY, 3),
]


def _setup(proc, sandbox, tmp_path) -> tuple[str, str, str]:
    tenant = connect_profile(sandbox, proc.home)
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=6)
    assert proc.run("crm", "import", str(tmp_path / "crm.csv")).returncode == 0
    assert proc.run("link", "--auto").returncode == 0
    data = control(sandbox.base_url, "GET", f"data?tenant={tenant}&only=contacts")
    addressed = {c["ContactID"] for c in data["contacts"] if c.get("EmailAddress")}
    link = next(x for x in proc.json("links") if x["xero_contact_id"] in addressed)
    return tenant, link["crm"], link["xero_contact_id"]


def _made(sandbox, tenant: str, contact: str) -> list[dict[str, Any]]:
    data = control(sandbox.base_url, "GET", f"data?tenant={tenant}&only=invoices")
    return [i for i in data["invoices"] if i["Contact"]["ContactID"] == contact
            and i["LineItems"][0]["Description"] == "Killed widgets"]


def _emails(sandbox, tenant: str, invoice_id: str) -> int:
    messages = control(sandbox.base_url, "GET", f"outbox?tenant={tenant}")["messages"]
    return sum(1 for m in messages if m["invoice_id"] == invoice_id)


def _kill_at(proc, sandbox, args: tuple[str, ...], method: str, endpoint: str,
             count: int) -> subprocess.CompletedProcess[str]:
    """Run the command with Xero slow to answer ``method``, and SIGKILL it once the
    sandbox has ``count`` requests of ``endpoint`` (the last one still unanswered)."""
    control(sandbox.base_url, "POST", "faults", {"latency_ms": 2500, "methods": [method]})
    control(sandbox.base_url, "POST", "stats/reset")
    job = proc.start(*args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and job.poll() is None:
        if control(sandbox.base_url, "GET", "stats")["by_endpoint"].get(endpoint, 0) >= count:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    job.send_signal(signal.SIGKILL)
    out, err = job.communicate(timeout=30)
    time.sleep(2.6)  # Xero finishes the request it was given
    control(sandbox.base_url, "POST", "faults", {})
    return subprocess.CompletedProcess(job.args, job.returncode, out, err)


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("point", "method", "endpoint", "count"), KILL_POINTS,
                         ids=[p[0].replace(" ", "-").replace(",", "") for p in KILL_POINTS])
def test_create_approve_send_killed_and_run_again_sends_one_invoice_once(
        proc, sandbox, tmp_path, point, method, endpoint, count) -> None:
    tenant, ref, contact = _setup(proc, sandbox, tmp_path)
    args = ("create-invoice", ref, *LINE, "--approve", "--send", "--yes")
    killed = _kill_at(proc, sandbox, args, method, endpoint, count)
    assert killed.returncode == -signal.SIGKILL, f"finished before the kill {point}"
    again = proc.run(*args, "--json")
    assert again.returncode == 0, again.stderr
    invoices = _made(sandbox, tenant, contact)
    assert len(invoices) == 1, point
    assert invoices[0]["Status"] == "AUTHORISED"
    assert _emails(sandbox, tenant, invoices[0]["InvoiceID"]) == 1, point
    done = json.loads(again.stdout)
    assert done["document_id"] == invoices[0]["InvoiceID"] and done["status"] == "AUTHORISED"
    token_free = again.stdout + again.stderr
    assert "access_token" not in token_free
    # once done, the same send is refused: on record as sent
    refused = proc.run("send", invoices[0]["InvoiceNumber"], "--yes")
    assert refused.returncode == 6 and "already sent" in refused.stderr
    assert _emails(sandbox, tenant, invoices[0]["InvoiceID"]) == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("method", "endpoint"), [("POST", EMAIL), ("PUT", HISTORY)],
                         ids=["during-the-email", "before-its-note"])
def test_a_send_killed_and_run_again_emails_once(proc, sandbox, tmp_path, method,
                                                 endpoint) -> None:
    tenant, ref, _ = _setup(proc, sandbox, tmp_path)
    made = proc.json("create-invoice", ref, *LINE, "--approve", "--yes")
    assert made["status"] == "AUTHORISED"
    killed = _kill_at(proc, sandbox, ("send", made["number"], "--yes"), method, endpoint, 1)
    assert killed.returncode == -signal.SIGKILL
    assert _emails(sandbox, tenant, made["document_id"]) == 1, "Xero emailed it"
    rerun = proc.run("send", made["number"], "--yes", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert "was interrupted" in rerun.stderr and "note:" in rerun.stderr
    assert _emails(sandbox, tenant, made["document_id"]) == 1


@pytest.mark.timeout(120)
def test_echo_y_into_send_without_yes_sends_nothing(proc, sandbox, tmp_path) -> None:
    tenant, ref, _ = _setup(proc, sandbox, tmp_path)
    made = proc.json("create-invoice", ref, *LINE, "--approve", "--yes")
    piped = subprocess.run(["sh", "-c", f"echo y | {proc_command()} send {made['number']}"],
                           capture_output=True, text=True, env=proc.env, timeout=60)
    assert piped.returncode == 2, piped.stderr
    assert "pass --yes" in piped.stderr and "nothing was sent" in piped.stderr
    assert _emails(sandbox, tenant, made["document_id"]) == 0


def proc_command() -> str:
    return f"{shlex.quote(sys.executable)} -m xerolink"


@pytest.mark.timeout(120)
def test_a_send_killed_and_run_again_after_the_window_is_taken_as_sent(proc, sandbox,
                                                                       tmp_path) -> None:
    """An hour later Xero may have forgotten the key: Xero marks the invoice sent, so
    the interrupted email is taken as sent (stricter), and only --again sends more."""
    tenant, ref, _ = _setup(proc, sandbox, tmp_path)
    made = proc.json("create-invoice", ref, *LINE, "--approve", "--yes")
    killed = _kill_at(proc, sandbox, ("send", made["number"], "--yes"), "POST", EMAIL, 1)
    assert killed.returncode == -signal.SIGKILL
    later = {**proc.env, "XEROLINK_NOW": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    command = [sys.executable, "-m", "xerolink", "send", made["number"], "--yes"]
    rerun = subprocess.run(command, capture_output=True, text=True, env=later, timeout=60)
    assert rerun.returncode == 6, rerun.stderr
    assert "taken as sent" in rerun.stderr
    assert _emails(sandbox, tenant, made["document_id"]) == 1
    again = subprocess.run([*command, "--again"], capture_output=True, text=True, env=later,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert _emails(sandbox, tenant, made["document_id"]) == 2

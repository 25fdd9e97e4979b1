"""A create interrupted while Xero has it (SIGKILL, Ctrl-C), then run again, makes one
document: the rerun reuses the interrupted run's Idempotency-Key, or after Xero's
idempotency window finds the document before creating."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from support import connect_profile, control, crm_csv_from_sandbox

LINE = ("--line", "Interrupted widgets;3;41.5", "--date", "2026-11-20")


def _setup(proc, sandbox, tmp_path) -> tuple[str, str, str]:
    tenant = connect_profile(sandbox, proc.home)
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=6)
    assert proc.run("crm", "import", str(tmp_path / "crm.csv")).returncode == 0
    assert proc.run("link", "--auto").returncode == 0
    link = proc.json("links")[0]
    return tenant, link["crm"], link["xero_contact_id"]


def _made(sandbox, tenant: str, contact: str) -> int:
    books = sandbox.sandbox.tenants[tenant]
    return sum(1 for i in books.invoices_by_contact[contact]
               if books.invoices[i]["LineItems"][0]["Description"] == "Interrupted widgets")


def _interrupt(proc, sandbox, ref: str, sig: int) -> subprocess.CompletedProcess[str]:
    """Start the create with Xero slow to answer, and signal it once Xero has it."""
    control(sandbox.base_url, "POST", "faults", {"latency_ms": 2500, "methods": ["PUT"]})
    control(sandbox.base_url, "POST", "stats/reset")
    job = proc.start("create-invoice", ref, *LINE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if control(sandbox.base_url, "GET", "stats")["by_endpoint"].get(
                "PUT /api.xro/2.0/Invoices"):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    job.send_signal(sig)
    out, err = job.communicate(timeout=30)
    time.sleep(2.6)  # Xero finishes the create it was given
    control(sandbox.base_url, "POST", "faults", {})
    return subprocess.CompletedProcess(job.args, job.returncode, out, err)


@pytest.mark.timeout(120)
def test_a_killed_create_run_again_makes_one_invoice(proc, sandbox, tmp_path) -> None:
    tenant, ref, contact = _setup(proc, sandbox, tmp_path)
    killed = _interrupt(proc, sandbox, ref, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert _made(sandbox, tenant, contact) == 1, "Xero made it before the kill"
    again = proc.run("create-invoice", ref, *LINE, "--json")
    assert again.returncode == 0, again.stderr
    assert "Idempotency-Key was sent again" in again.stderr
    assert json.loads(again.stdout)["resumed"]
    assert _made(sandbox, tenant, contact) == 1
    # Done: the same command once more is a new, deliberate invoice.
    assert proc.run("create-invoice", ref, *LINE).returncode == 0
    assert _made(sandbox, tenant, contact) == 2


@pytest.mark.timeout(120)
def test_ctrl_c_says_interrupted_and_a_rerun_after_the_window_finds_the_invoice(
        proc, sandbox, tmp_path) -> None:
    tenant, ref, contact = _setup(proc, sandbox, tmp_path)
    stopped = _interrupt(proc, sandbox, ref, signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip().splitlines()[-1] == "error: interrupted"
    assert _made(sandbox, tenant, contact) == 1
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rerun = subprocess.run([sys.executable, "-m", "xerolink", "create-invoice", ref, *LINE],
                           capture_output=True, text=True, timeout=60,
                           env={**proc.env, "XEROLINK_NOW": later})
    assert rerun.returncode == 0, rerun.stderr
    assert "was found in Xero, so it was not created again" in rerun.stderr
    assert _made(sandbox, tenant, contact) == 1

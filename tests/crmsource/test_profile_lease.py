"""One CRM pass at a time per profile (SQLite): two pushes started at once in one home
write each record once; the other stops at once, exit 0, saying who holds the lease;
``--wait`` waits for it; a killed holder frees it at once (the kernel drops the lock)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import test_salesmate
from test_salesmate import calls, control

from xerolink.store.sqlite import SqliteStore

PUT = "PUT /apis/contact/v4/{id}"
crm_sandbox = test_salesmate.crm_sandbox  # the fixtures: a Salesmate slice, connected
salesmate = test_salesmate.salesmate


def _ready(salesmate, cli) -> int:
    """Pulled, linked, read from Xero, fields chosen: a push has every linked contact to
    write. Returns how many are linked."""
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    for figure, field in (("xero_contact", "textCustomField1"),
                          ("outstanding_invoices", "decimalCustomField1")):
        assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
    control(salesmate, "POST", "/stats/reset")
    return len(cli.json("links"))


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "xerolink", *args], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(job: subprocess.Popen[str]) -> dict:
    out, err = job.communicate(timeout=180)
    assert job.returncode == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def test_two_pushes_at_once_in_one_home_write_each_record_once(salesmate, cli):
    linked = _ready(salesmate, cli)
    assert linked >= 10
    salesmate.sandbox.options.latency_ms = 150  # a push takes seconds: the two overlap
    jobs = [_start("crm", "push", "--json") for _ in range(2)]
    reports = [_finish(job) for job in jobs]
    assert calls(salesmate).get(PUT, 0) == linked, "each record written once"
    ran = [r for r in reports if r.get("ran", True)]
    skipped = [r for r in reports if r.get("ran") is False]
    assert len(ran) == 1 and ran[0]["records_written"]["contact"] == linked
    assert len(skipped) == 1
    holder = skipped[0]["held_by"]
    assert holder["user"] == "alice" and holder["host"] == socket.gethostname()
    assert holder["pid"] in {job.pid for job in jobs}
    assert skipped[0]["waited_seconds"] == 0


def test_a_held_lease_stops_pull_and_push_at_once_and_wait_waits_for_it(salesmate, cli,
                                                                           home):
    linked = _ready(salesmate, cli)
    lease = SqliteStore(Path(home) / "profiles/default/xerolink.db").lease("crm")
    assert lease.take("bob", "laptop-7", 4242, 600).taken
    try:
        for verb in ("pull", "push"):
            started = time.monotonic()
            code, out, err = cli("crm", verb)
            assert code == 0, err
            assert time.monotonic() - started < 5, "no waiting without --wait"
            assert "another pass is running: bob on laptop-7 (process 4242) since" in out
            assert "nothing was done; --wait waits for it" in out
        assert calls(salesmate) == {}, "neither read nor wrote the CRM"
        job = _start("crm", "push", "--wait", "--json")
        time.sleep(3)
        assert job.poll() is None, "--wait waits while the lease is held"
        assert calls(salesmate).get(PUT, 0) == 0
    finally:
        lease.release()
        lease.close()
    report = _finish(job)
    assert report["records_written"]["contact"] == linked
    assert calls(salesmate).get(PUT, 0) == linked


def test_a_killed_holder_frees_the_profiles_lease_at_once(salesmate, cli, home):
    linked = _ready(salesmate, cli)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from xerolink.store.sqlite import SqliteStore\n"
        "lease = SqliteStore(Path(sys.argv[1])).lease('crm')\n"
        "assert lease.take('alice', 'here', 1, 600).taken\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"), str(Path(home) / "profiles/default/xerolink.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert cli.json("crm", "push")["ran"] is False
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert cli.json("crm", "push")["records_written"]["contact"] == linked


def test_one_pass_that_pulls_then_pushes_holds_one_lease_and_others_wait_it_out(
        salesmate, cli):
    """A pass (``crm update`` to come) takes the lease once and runs pull and push
    inside it; a push from another process meanwhile stops at once."""
    import xerolink

    linked = _ready(salesmate, cli)
    with xerolink.open() as xl, xl._crm.crm_lease() as holding:
        xl.crm_pull()
        outsider = _finish(_start("crm", "push", "--json"))
        assert outsider["ran"] is False and outsider["held_by"]["pid"] == os.getpid()
        assert xl.crm_push().records_written["contact"] == linked
        holding.check()
    assert calls(salesmate).get(PUT, 0) == linked

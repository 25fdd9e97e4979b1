"""Reads survive faults; creates happen exactly once; limits are honoured or reported."""

from __future__ import annotations

import json

import pytest

from support import connect_profile, control, crm_csv_from_sandbox
from xerolink.store.sqlite import SqliteStore


@pytest.fixture
def linked(proc, sandbox, tmp_path) -> list[dict]:
    connect_profile(sandbox, proc.home)
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=20)
    assert proc.run("crm", "import", str(tmp_path / "crm.csv")).returncode == 0
    assert proc.run("link", "--auto").returncode == 0
    return proc.json("links")


def test_reads_succeed_with_errors_and_dropped_connections(proc, sandbox, linked) -> None:
    control(sandbox.base_url, "POST", "faults", {"error_rate": 0.1, "drop_rate": 0.1,
                                                  "methods": ["GET"]})
    for row in linked[:5]:
        result = proc.run("summary", row["crm"], "--refresh", "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["cached"] is False


def test_commit_then_drop_on_every_create_makes_exactly_one_document(proc, sandbox, linked
                                                                      ) -> None:
    books = next(iter(sandbox.sandbox.tenants.values()))
    control(sandbox.base_url, "POST", "faults", {"commit_then_drop_rate": 1.0,
                                                  "methods": ["PUT"]})
    for command, collection in (("create-invoice", books.invoices),
                                ("create-quote", books.quotes),
                                ("create-bill", books.invoices)):
        before = len(collection)
        result = proc.run(command, linked[0]["crm"], "--line", "Retry safely;1;100", "--json")
        assert result.returncode == 0, result.stderr
        assert len(collection) == before + 1, command
    before = len(books.contacts)
    (proc.home / "c.csv").write_text("id,first_name,last_name,email\n"
                                     "new1,Tui,Marama,tui@x.example\n")
    proc.run("crm", "import", str(proc.home / "c.csv"))
    assert proc.run("create-contact", "new1", "--yes").returncode == 0
    assert len(books.contacts) == before + 1


def test_minute_and_concurrent_limits_are_waited_out(proc, sandbox, linked) -> None:
    control(sandbox.base_url, "POST", "limits", {"minute": 2, "minute_window": 2})
    for row in linked[:3]:
        result = proc.run("summary", row["crm"], "--refresh", "--json")
        assert result.returncode == 0, result.stderr
    assert control(sandbox.base_url, "GET", "stats")["status_429"] >= 1
    assert "rate limit reached" in result.stderr
    control(sandbox.base_url, "POST", "limits", {"minute": 60, "minute_window": 60,
                                                  "concurrent": 1})
    control(sandbox.base_url, "POST", "faults", {"latency_ms": 300})
    jobs = [proc.start("summary", row["crm"], "--refresh", "--json") for row in linked[3:7]]
    for job in jobs:
        _, err = job.communicate(timeout=120)
        assert job.returncode == 0, err


def test_the_day_limit_exits_6_with_the_reset_time_and_changes_nothing(proc, sandbox, linked
                                                                       ) -> None:
    control(sandbox.base_url, "POST", "limits", {"day": 0})
    store_path = proc.home / "profiles" / "default" / "xerolink.db"
    before = SqliteStore(store_path).table_counts()
    result = proc.run("summary", linked[0]["crm"], "--refresh")
    assert result.returncode == 6
    assert result.stderr.startswith("error: Xero's daily call limit")
    assert "resets in about" in result.stderr and result.stderr.count("\n") == 1
    after = SqliteStore(store_path).table_counts()
    assert after == before


@pytest.mark.parametrize("kind", ["summary", "details"])
def test_an_html_or_truncated_answer_is_one_line_and_exit_7(proc, sandbox, linked, kind
                                                            ) -> None:
    control(sandbox.base_url, "POST", "faults", {"garbage_rate": 1.0, "methods": ["GET"]})
    store_path = proc.home / "profiles" / "default" / "xerolink.db"
    before = SqliteStore(store_path).table_counts()
    result = proc.run(kind, linked[0]["crm"])
    assert result.returncode == 7
    assert "could not be read" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert SqliteStore(store_path).table_counts() == before


def test_processes_sharing_the_minute_limit_each_wait_a_window_not_exit_6(proc, sandbox,
                                                                          linked) -> None:
    """Three processes share a window of 8 calls (2 s): a call refused again when it
    comes back, because another process took the new window, waits once more; only a
    single wait longer than --max-wait is refused. Summing the waits, it exited 6
    ("waiting 2 s more would pass --max-wait (2 s)") where waiting a window would do."""
    control(sandbox.base_url, "POST", "limits", {"minute": 8, "minute_window": 2})
    # 18 calls for 8 a window: three refreshes of six (the contact's documents' two, the
    # paid and credit lists' four), the four at once
    jobs = [proc.start("--max-wait", "2", "summary", row["crm"], "--refresh", "--json")
            for row in linked[:3]]
    results = [(job, *job.communicate(timeout=120)) for job in jobs]
    assert [job.returncode for job, _, _ in results] == [0] * len(jobs), \
        [err[-600:] for job, _, err in results if job.returncode]
    assert control(sandbox.base_url, "GET", "stats")["status_429"] >= 3, "the limit was met"

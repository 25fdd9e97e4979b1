"""One CRM pass at a time for a whole team: ten processes in five homes (two admins)
sharing one PostgreSQL start `crm update` (and `crm push`) at once, directly and
through pgbouncer in transaction pooling mode; exactly one pass writes, every other
exits 0 at once saying which machine and login holds the lease and since when. A
runner killed while holding the lease blocks the next pass only until its lease
expires."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from test_team import KAURI, Member

from pgbouncer import PgBouncer, find_pgbouncer
from support import control, running_sandbox

psycopg = pytest.importorskip("psycopg")
PUT = "PUT /apis/contact/v4/{id}"


def salesmate_calls(server) -> dict[str, int]:
    return control(server.base_url, "GET", "salesmate")["calls"]


def xero_calls(server) -> int:
    return int(control(server.base_url, "GET", "stats")["total"])


@pytest.fixture
def bouncer(pg):
    if find_pgbouncer() is None:
        pytest.skip("pgbouncer is not installed (Debian's pgbouncer; .ci/run installs it)")
    server = PgBouncer(pg, ["alice", "bob", "carol", "postgres"])
    yield server
    server.stop()


def _team(pg, team_db, tmp_path, server) -> tuple[Member, Member]:
    """alice (who set the team up, directly on PostgreSQL) connected Xero and
    Salesmate, pulled, linked and read Xero; bob is the second admin."""
    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    alice.json("team", "init")
    alice.json("connect", "--xero-url", server.base_url, "--tenant", KAURI, "--port", "0")
    alice.env["XEROLINK_SALESMATE_TOKEN"] = control(server.base_url, "GET", "salesmate")[
        "access_token"]
    alice.json("crm", "connect", "salesmate", "--linkname", "demo", "--salesmate-url",
               server.base_url)
    alice.json("access", "grant", "bob", "--admin")
    alice.json("crm", "pull")
    alice.json("link", "--auto")
    alice.json("refresh", "--all")
    return alice, bob


def _homes(pg, team_db, tmp_path, url_of) -> list[Member]:
    """Five homes (machines), alice's and bob's, each choosing the pushed fields."""
    homes = []
    for n, login in enumerate(["alice", "bob", "alice", "bob", "bob"]):
        member = Member(pg, team_db, login, tmp_path / f"home{n}")
        member.url = url_of(login)
        member.env["XEROLINK_DATABASE_URL"] = member.url
        for figure, field in (("xero_contact", "textCustomField1"),
                              ("outstanding_invoices", "decimalCustomField1")):
            assert member.run("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
        homes.append(member)
    return homes


def _until_expired(url: str) -> None:
    """Wait (at most 30 s) until the database says the lease has expired."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while not conn.execute("SELECT bool_and(expires_at < now()) FROM "
                               "xerolink.leases").fetchone()[0]:
            assert time.monotonic() < deadline, "the lease never expired"
            time.sleep(0.2)


def _finish(job: subprocess.Popen[str]) -> dict:
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def _ten_ready(via, pg, team_db, tmp_path, request, server) -> tuple[int, list[object]]:
    """A linked team, five homes on the database (directly or through pgbouncer), and
    the sandbox's and the slice's counts at zero: (linked records, homes)."""
    alice, _ = _team(pg, team_db, tmp_path, server)
    linked = len(alice.json("links"))
    assert linked >= 10
    if via == "pgbouncer":
        bouncer = request.getfixturevalue("bouncer")
        homes = _homes(pg, team_db, tmp_path, lambda login: bouncer.url(login, team_db))
    else:
        homes = _homes(pg, team_db, tmp_path, lambda login: pg.url(login, team_db))
    control(server.base_url, "POST", "salesmate/stats/reset")
    control(server.base_url, "POST", "stats/reset")
    return linked, homes


@pytest.mark.parametrize("via", ["postgresql", "pgbouncer"])
def test_ten_pushes_in_five_homes_make_the_calls_of_one_pass(via, pg, team_db, tmp_path,
                                                             request) -> None:
    with running_sandbox(crm="salesmate") as server:
        linked, homes = _ten_ready(via, pg, team_db, tmp_path, request, server)
        slice_ = server.sandbox.salesmate
        slice_.latency_ms = 150  # a pass takes seconds: all ten overlap
        jobs = [homes[n % 5].start("crm", "push", "--json") for n in range(10)]
        reports = [_finish(job) for job in jobs]
        slice_.latency_ms = 0
        wrote = [r for r in reports if r.get("ran", True) and r["records_written"]["contact"]]
        assert len(wrote) == 1 and wrote[0]["records_written"]["contact"] == linked
        crm = salesmate_calls(server)
        assert crm.get(PUT) == linked, "each record written once"
        ran = [r for r in reports if r.get("ran", True)]
        assert sum(crm.values()) == sum(r["calls"] for r in ran) == wrote[0]["calls"], \
            "the CRM calls of exactly one pass"
        assert xero_calls(server) == 0, "a push reads figures from the store, never Xero"
        skipped = [r for r in reports if r.get("ran") is False]
        assert len(skipped) >= 8, "the others stopped at once"
        pids = {job.pid for job in jobs}
        for report in skipped:
            holder = report["held_by"]
            assert holder["user"] in {"alice", "bob"} and holder["host"] == socket.gethostname()
            assert holder["pid"] in pids and holder["since"] and holder["expires_at"]
        with psycopg.connect(pg.url("alice", team_db), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM xerolink.leases").fetchone()[0] == 0, \
                "released at the end"
        if via == "pgbouncer":
            log = request.getfixturevalue("bouncer").log()
            assert f"{team_db}/bob@" in log and f"{team_db}/alice@" in log, "through it"
            assert "prepared statement" not in log


def _until_the_others_stopped(jobs: list[subprocess.Popen[str]]) -> None:
    """Wait (at most 120 s) until all but one of ``jobs`` have exited."""
    deadline = time.monotonic() + 120
    while sum(job.poll() is None for job in jobs) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("via", ["postgresql", "pgbouncer"])
def test_ten_updates_in_five_homes_make_the_calls_of_one_pass(via, pg, team_db, tmp_path,
                                                              request) -> None:
    """Issue 25's acceptance: ten `crm update` processes started at once in five homes
    on one PostgreSQL (directly, and through pgbouncer in transaction pooling mode):
    the sandbox counts the Xero calls, and the Salesmate slice the CRM calls, of exactly
    one pass; every other process exits 0 at once naming the pass that holds the
    lease. The pass is slowed (1 s a call) until the other nine have stopped, so none
    of them can start after it ended and run a second, legitimate, pass."""
    with running_sandbox(crm="salesmate") as server:
        linked, homes = _ten_ready(via, pg, team_db, tmp_path, request, server)
        server.sandbox.options.latency_ms = server.sandbox.salesmate.latency_ms = 1000
        try:
            jobs = [homes[n % 5].start("crm", "update", "--json") for n in range(10)]
            _until_the_others_stopped(jobs)
        finally:
            server.sandbox.options.latency_ms = server.sandbox.salesmate.latency_ms = 0
        reports = [_finish(job) for job in jobs]
        ran = [r for r in reports if r.get("ran", True)]
        assert len(ran) == 1, "exactly one pass"
        one = ran[0]
        push = next(p for p in one["phases"] if p["phase"] == "push")
        assert push["written"] == linked and one["refused"] == []
        crm = salesmate_calls(server)
        assert crm.get(PUT) == linked, "each record written once"
        assert sum(crm.values()) == one["crm_calls"] > linked, \
            "the Salesmate calls of exactly one pass (its pull, its reads, its updates)"
        assert xero_calls(server) == one["xero_calls"] >= 1, \
            "the Xero calls of exactly one pass (its refresh)"
        print(f"\n10 crm update via {via}: one pass, {one['xero_calls']} Xero calls, "
              f"{one['crm_calls']} Salesmate calls ({crm}), {push['written']} records written")
        skipped = [r for r in reports if r.get("ran") is False]
        assert len(skipped) == 9, "the others stopped at once"
        runner = {job.pid for job, r in zip(jobs, reports, strict=True) if r is one}
        for report in skipped:
            holder = report["held_by"]
            assert holder["user"] in {"alice", "bob"} and holder["host"] == socket.gethostname()
            assert {holder["pid"]} == runner and holder["since"] and holder["expires_at"]
        with psycopg.connect(pg.url("alice", team_db), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM xerolink.leases").fetchone()[0] == 0, \
                "released at the end"
        if via == "pgbouncer":
            log = request.getfixturevalue("bouncer").log()
            assert f"{team_db}/bob@" in log and f"{team_db}/alice@" in log, "through it"
            assert "prepared statement" not in log


def test_a_killed_runners_lease_blocks_the_next_pass_only_until_it_expires(
        pg, team_db, tmp_path) -> None:
    with running_sandbox(crm="salesmate") as server:
        alice, _ = _team(pg, team_db, tmp_path, server)
        linked = len(alice.json("links"))
        home = _homes(pg, team_db, tmp_path, lambda login: pg.url(login, team_db))[1]
        runner = subprocess.Popen([sys.executable, "-c", (
            "import os, sys, time\n"
            "from xerolink.store.postgres import PostgresStore\n"
            "lease = PostgresStore(sys.argv[1]).lease('crm')\n"
            "assert lease.take('ignored', 'runner-host', os.getpid(), 10).taken\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n"), pg.url("alice", team_db)],
            stdout=subprocess.PIPE, text=True, env=alice.env)
        assert runner.stdout is not None and runner.stdout.readline().strip() == "held"
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
        code, out, err = home.run("crm", "push")
        assert code == 0, err
        assert "another pass is running: alice on runner-host (process " in out, \
            "the database login, whatever the runner claimed"
        assert salesmate_calls(server).get(PUT, 0) == 0
        _until_expired(pg.url("alice", team_db))  # the database's clock, not ours
        report = home.json("crm", "push")
        assert report["records_written"]["contact"] == linked


def test_the_heartbeat_keeps_the_team_lease_and_wait_takes_it_once_released(
        pg, team_db) -> None:
    """A lease renewed by its heartbeat outlives its expiry; with ``wait`` the next
    runner takes it as soon as it is released, and not before."""
    import threading

    from xerolink.services.lease import LeaseBusy, Me, held
    from xerolink.store.postgres import PostgresStore

    first = PostgresStore(pg.url("alice", team_db), migrate=True)
    first.initialise_team()
    second = PostgresStore(pg.url("alice", team_db))
    released = threading.Event()
    try:
        with held(first, Me("alice", "one", 1), ttl=2, renew_every=0.5) as holding:
            time.sleep(3)  # past the first expiry: only the heartbeat keeps it
            with pytest.raises(LeaseBusy) as busy, held(second, Me("alice", "two", 2)):
                pass
            assert busy.value.result.holder.host == "one" and not holding.lost
            holding.check()

            def wait_for_it() -> None:
                with held(second, Me("alice", "two", 2), wait=True, wait_seconds=30) as got:
                    assert released.is_set() and got.holder.host == "two"

            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            time.sleep(2)
            assert waiter.is_alive(), "waiting while the lease is held"
            released.set()
        waiter.join(timeout=10)
        assert not waiter.is_alive()
    finally:
        first.close()
        second.close()


def test_leases_renewed_through_pgbouncer_never_miss_a_beat(pg, team_db, bouncer) -> None:
    """Through a pooler in transaction mode each statement may land on another server
    connection: a heartbeat's repeated statement must not rely on one prepared before."""
    from xerolink.services.lease import Me, held
    from xerolink.store.postgres import PostgresStore

    PostgresStore(pg.url("alice", team_db), migrate=True).initialise_team()
    stores = [PostgresStore(bouncer.url("alice", team_db)) for _ in range(6)]
    try:
        with contextlib.ExitStack() as stack:
            holdings = [stack.enter_context(held(store, Me("alice", f"m{n}", n),
                                                 name=f"job{n}", ttl=60, renew_every=0.02))
                        for n, store in enumerate(stores)]
            time.sleep(3)
            assert [h.missed for h in holdings] == [0] * 6
            assert min(h.renewals for h in holdings) >= 10
            assert not any(h.lost for h in holdings)
    finally:
        for store in stores:
            store.close()


def test_a_pass_whose_lease_expired_and_was_taken_knows_it_lost_it(pg, team_db) -> None:
    """Renewals that came too late (a suspended laptop): the lease expired, another
    runner took it, and the first pass's check stops it (exit 12), never both writing."""
    from xerolink.errors import ExitCode
    from xerolink.services.lease import LeaseLostError, Me, held
    from xerolink.store.postgres import PostgresStore

    first = PostgresStore(pg.url("alice", team_db), migrate=True)
    first.initialise_team()
    second = PostgresStore(pg.url("alice", team_db))
    def hosts() -> list[str]:
        with psycopg.connect(pg.url("alice", team_db), autocommit=True) as conn:
            return [r[0] for r in conn.execute("SELECT host FROM xerolink.leases")]

    try:
        with contextlib.ExitStack() as first_pass, contextlib.ExitStack() as taking:
            late = first_pass.enter_context(held(first, Me("alice", "one", 1), ttl=1,
                                                 renew_every=2.5))
            time.sleep(1.5)
            taker = taking.enter_context(held(second, Me("alice", "two", 2), ttl=60))
            assert taker.holder.host == "two"
            time.sleep(1.5)  # the first one's heartbeat finds it taken
            assert late.lost
            with pytest.raises(LeaseLostError) as lost:
                late.check()
            assert lost.value.exit_code == ExitCode.STORE_UNREACHABLE
            first_pass.close()
            assert hosts() == ["two"], "the first one's release leaves the taker's alone"
        assert hosts() == []
    finally:
        first.close()
        second.close()


def test_a_viewer_sees_who_holds_the_lease_but_cannot_take_or_drop_it(pg, team_db,
                                                                     tmp_path) -> None:
    """Only admins run passes: a viewer's plain SQL cannot steal, extend or delete the
    team's lease (which would let a second pass run), though it may read it."""
    from xerolink.services.lease import Me, held
    from xerolink.store.postgres import PostgresStore

    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    alice.json("team", "init")
    store = PostgresStore(pg.url("alice", team_db))
    pg.sql(f'GRANT "{store.roles[0]}" TO bob', database=team_db)  # bob views
    try:
        with held(store, Me("alice", "one", 1)):
            with psycopg.connect(pg.url("bob", team_db), autocommit=True) as conn:
                assert conn.execute("SELECT holder, host FROM xerolink.leases").fetchall() == [
                    ("alice", "one")]
                for statement in (
                        "DELETE FROM xerolink.leases",
                        "UPDATE xerolink.leases SET expires_at = now() - interval '1 day'",
                        "INSERT INTO xerolink.leases VALUES ('x', 't', 'bob', 'h', 1, now(), "
                        "now())"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(statement)
    finally:
        store.close()

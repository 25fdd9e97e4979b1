"""Team mode as a team would use it: two users, one database, one connection."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from support import control, crm_csv_from_sandbox
from xerolink.cli import main
from xerolink.cli._runtime import Runtime
from xerolink.render import Renderer
from xerolink.sandbox.browser import follow_in_background
from xerolink.store.models import AccessEntry, Connection, CrmContact, Link
from xerolink.store.sqlite import SqliteStore

KAURI = "Kauri Bay Trading Ltd"


class Member:
    """One person of the team: a database login and a home of their own."""

    def __init__(self, pg, database: str, login: str, home) -> None:
        self.url = pg.url(login, database)
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
        self.env.update({"XEROLINK_HOME": str(home), "XEROLINK_DATABASE_URL": self.url,
                         "NO_COLOR": "1"})

    def run(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(env=self.env, renderer_factory=lambda mode: Renderer(
            mode=mode, stdout=out, stderr=err))
        runtime.browser = follow_in_background
        code = main(list(args), runtime=runtime)
        return code, out.getvalue(), err.getvalue()

    def json(self, *args: str):
        code, out, err = self.run(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "xerolink", *args], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def team(pg, team_db, sandbox, tmp_path):
    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    carol = Member(pg, team_db, "carol", tmp_path / "carol")
    assert alice.json("team", "init")["admin"] == "alice"
    connected = alice.json("connect", "--xero-url", sandbox.base_url, "--tenant", KAURI,
                           "--port", "0")
    assert connected["status"] == "Running"
    return alice, bob, carol


def test_links_access_and_the_token_table_are_shared_and_enforced(team, pg, team_db, sandbox,
                                                                  tmp_path) -> None:
    alice, bob, carol = team
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=15)
    assert alice.run("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    linked = alice.json("link", "--auto")["linked"]
    assert linked
    code, _, err = bob.run("links")
    assert code == 4 and "access grant bob" in err
    code, _, err = bob.run("summary", linked[0]["crm"])
    assert code == 4
    import psycopg

    with psycopg.connect(bob.url, autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT token FROM xerolink.xero_tokens")
    assert alice.json("access", "grant", "bob")["role"] == "viewer"
    assert sorted(row["crm"] for row in bob.json("links")) == sorted(
        row["crm"] for row in linked)
    figures = bob.json("summary", linked[0]["crm"])
    assert figures["tenant_id"] == alice.json("status", "--offline")["tenant_id"]
    assert bob.run("access", "grant", "carol")[0] == 4, "viewers cannot grant"
    assert bob.run("remove")[0] == 4
    code, _, _ = carol.run("status")
    assert code == 4
    with psycopg.connect(bob.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM xerolink.xero_tokens").fetchone()[0] == 1
    assert alice.run("access", "revoke", "alice")[0] == 2, "the last admin stays"
    listing = alice.json("access", "list")
    assert {(r["user"], r["role"]) for r in listing} == {("alice", "admin"), ("bob", "viewer")}


def test_twenty_processes_on_four_homes_refresh_the_shared_token_once(team, pg, team_db,
                                                                      sandbox, tmp_path) -> None:
    alice = team[0]
    alice.json("access", "grant", "bob")
    import psycopg

    with psycopg.connect(alice.url, autocommit=True) as conn:
        tenant, text = conn.execute("SELECT tenant_id, token FROM xerolink.xero_tokens").fetchone()
        token = json.loads(text)
        token["expires_at"] = 0
        conn.execute("UPDATE xerolink.xero_tokens SET token = %s", (json.dumps(token),))
    # Mostly bob (a viewer): whoever wins the refresh must be allowed to save it.
    members = [Member(pg, team_db, login, tmp_path / f"home{n}")
               for n, login in enumerate(["bob", "bob", "alice", "bob"])]
    control(sandbox.base_url, "POST", "stats/reset")
    jobs = [members[n % 4].start("status", "--json") for n in range(20)]
    for job in jobs:
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
        assert json.loads(out)["status"] == "Running"
    stats = control(sandbox.base_url, "GET", "stats")
    assert stats["invalid_grant"] == 0
    assert stats["token_grants"] == {"refresh_token": 1}, "exactly one refresh per expiry"
    with psycopg.connect(alice.url, autocommit=True) as conn:
        stored = json.loads(conn.execute("SELECT token FROM xerolink.xero_tokens").fetchone()[0])
    live = [t for t, record in sandbox.sandbox.identity.refresh_tokens.items()
            if record.used_at is None and not sandbox.sandbox.identity.grants[
                record.grant_id].revoked]
    assert stored["refresh_token"] in live and tenant


def test_migrating_a_10000_contact_profile_loses_nothing_and_twice_changes_nothing(
        pg, team_db, tmp_path) -> None:
    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    alice.json("team", "init")
    source_path = tmp_path / "single.db"
    source = SqliteStore(source_path)
    now = datetime.now(UTC)
    source.upsert_crm_records(contacts=[CrmContact(str(n), "First", str(n), f"p{n}@e.com")
                                        for n in range(10_000)], at=now)
    source.add_links_if_unlinked([Link("tenant", str(n), f"x{n}", "alice", now)
                                  for n in range(0, 10_000, 2)])
    source.save_connection(Connection("tenant", "Org", "pkce", "alice", now))
    source.grant_access(AccessEntry("tenant", "alice", "admin", "alice", now))
    expected = source.table_counts()
    source.close()
    first = alice.json("team", "migrate", "--from-sqlite", str(source_path))
    assert sum(row["added"] for row in first) == sum(
        count for table, count in expected.items() if table != "xero_tokens")
    second = alice.json("team", "migrate", "--from-sqlite", str(source_path))
    assert sum(row["added"] for row in second) == 0
    from xerolink.store.postgres import PostgresStore

    target = PostgresStore(alice.url)
    try:
        counts = target.table_counts()
    finally:
        target.close()
    for table, count in expected.items():
        assert counts[table] == count, table


def test_a_viewer_can_renew_the_shared_token(team, pg, team_db) -> None:
    """Viewers hold SELECT and UPDATE on the token table, not INSERT: a refresh saved by
    a viewer must be an update."""
    alice, bob, _ = team
    alice.json("access", "grant", "bob")
    import psycopg

    with psycopg.connect(alice.url, autocommit=True) as conn:
        text = conn.execute("SELECT token FROM xerolink.xero_tokens").fetchone()[0]
        token = json.loads(text)
        token["expires_at"] = 0
        conn.execute("UPDATE xerolink.xero_tokens SET token = %s", (json.dumps(token),))
    code, _, err = bob.run("status", "--json")
    assert code == 0, err
    with psycopg.connect(alice.url, autocommit=True) as conn:
        renewed = json.loads(conn.execute("SELECT token FROM xerolink.xero_tokens").fetchone()[0])
    assert renewed["expires_at"] > 0 and renewed["refresh_token"] != token["refresh_token"]


def test_doctor_in_team_mode_reports_the_shared_token_store(team) -> None:
    alice = team[0]
    checks = {c["check"]: c for c in alice.json("doctor")}
    assert checks["token store"]["status"] == "ok"
    assert "team database" in checks["token store"]["detail"]
    assert "keyring backend" not in checks
    assert checks["clock"]["status"] == "ok"


def test_the_team_shares_its_salesmate_source_and_only_admins_connect_it(pg, team_db,
                                                                         tmp_path) -> None:
    from support import running_sandbox

    with running_sandbox(crm="salesmate") as server:
        alice = Member(pg, team_db, "alice", tmp_path / "alice")
        bob = Member(pg, team_db, "bob", tmp_path / "bob")
        alice.json("team", "init")
        alice.json("connect", "--xero-url", server.base_url, "--tenant", KAURI, "--port", "0")
        token = control(server.base_url, "GET", "salesmate")["access_token"]
        for member in (alice, bob):
            member.env["XEROLINK_SALESMATE_TOKEN"] = token
        assert alice.json("crm", "connect", "salesmate", "--linkname", "demo",
                          "--salesmate-url", server.base_url)["source"] == "salesmate"
        alice.json("access", "grant", "bob")
        code, _, err = bob.run("crm", "connect", "salesmate", "--linkname", "demo",
                               "--salesmate-url", server.base_url)
        assert code == 4 and "admin" in err
        assert bob.run("crm", "disconnect")[0] == 4
        code, _, err = bob.run("crm", "pull")  # the CRM token is the admins'
        assert code == 4 and "xerolink access grant bob --admin" in err
        pulled = alice.json("crm", "pull")  # the token from the team database
        assert pulled["contacts"]["written"] == 60
        assert bob.json("status", "--offline")["crm_source"]["records"]["contact"][
            "live"] == 60
        assert len(bob.json("crm", "list", "contacts")) == 60
        alice.json("access", "grant", "bob", "--admin")
        assert bob.json("crm", "pull")["contacts"]["written"] == 0, "an admin now"

"""What a viewer may do in the team database, tried with plain SQL as the viewer (psql
and psycopg), not through the CLI: the database is the boundary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_team import KAURI, Member

from support import control, running_sandbox

psycopg = pytest.importorskip("psycopg")
Refused = psycopg.errors.InsufficientPrivilege


def psql(pg, url: str, statement: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``statement`` run by psql, as pasted by a person (stops at the first error);
    ``variables`` are psql's (``:'name'`` quotes one as a literal)."""
    binary = Path(str(pg.bindir)) / "psql"
    given = [arg for name, value in variables.items() for arg in ("-v", f"{name}={value}")]
    return subprocess.run([str(binary), "-X", "-v", "ON_ERROR_STOP=1", *given, "-d", url],
                          input=statement, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def salesmate_team(pg, team_db, tmp_path):
    """alice (admin) connected Xero and Salesmate; bob is a viewer."""
    with running_sandbox(crm="salesmate") as server:
        alice = Member(pg, team_db, "alice", tmp_path / "alice")
        bob = Member(pg, team_db, "bob", tmp_path / "bob")
        alice.json("team", "init")
        alice.json("connect", "--xero-url", server.base_url, "--tenant", KAURI, "--port", "0")
        alice.env["XEROLINK_SALESMATE_TOKEN"] = control(server.base_url, "GET", "salesmate")[
            "access_token"]
        alice.json("crm", "connect", "salesmate", "--linkname", "demo", "--salesmate-url",
                   server.base_url)
        alice.json("access", "grant", "bob")
        yield alice, bob, server


def _setting(member, key: str) -> str | None:
    with psycopg.connect(member.url, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM xerolink.settings WHERE key = %s",
                           (key,)).fetchone()
    return None if row is None else row[0]


def test_a_viewer_cannot_point_the_crm_source_at_their_own_server(salesmate_team, pg) -> None:
    alice, bob, _ = salesmate_team
    source = _setting(alice, "crm.source")
    evil = json.dumps({**json.loads(source), "url": "http://127.0.0.1:9/steal"})
    refused = psql(pg, bob.url, "UPDATE xerolink.settings SET value = :'evil' "
                   "WHERE key = 'crm.source';", evil=evil)
    assert refused.returncode != 0 and "row-level security" in refused.stderr
    with psycopg.connect(bob.url, autocommit=True) as conn:
        for statement, args in [
            ("DELETE FROM xerolink.settings WHERE key = 'crm.source'", ()),
            ("UPDATE xerolink.settings SET key = 'crm.pulled_from.x' WHERE key = 'crm.source'",
             ()),
            ("INSERT INTO xerolink.settings (key, value) VALUES ('crm.source2', %s)", (evil,)),
            ("INSERT INTO xerolink.settings (key, value) VALUES "
             "('salesmate.fields.xero_contact', 'textCustomField9')", ()),
            ("INSERT INTO xerolink.settings (key, value) VALUES ('crm.source', %s) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (evil,)),
        ]:
            with pytest.raises(Refused):
                conn.execute(statement, args)
    assert _setting(alice, "crm.source") == source
    # What a viewer's pull writes is still theirs to write, and a viewer's day works:
    # pull, link, refresh (the document cache and sync state), summary, details, push.
    assert bob.json("crm", "pull")["contacts"]["written"] == 60
    assert _setting(bob, "crm.pulled_from.salesmate") == "demo"
    linked = bob.json("link", "--auto")["linked"]
    assert linked
    assert bob.run("refresh", "--all")[0] == 0
    contact = linked[0]["crm"]
    assert bob.json("summary", contact)["tenant_id"]
    assert bob.run("details", contact)[0] == 0
    assert bob.run("crm", "push", "--dry-run")[0] == 0
    assert psql(pg, bob.url, "UPDATE xerolink.settings SET value = 'demo' "
                "WHERE key = 'crm.pulled_from.salesmate';").returncode == 0
    # An admin still decides.
    assert psql(pg, alice.url, "UPDATE xerolink.settings SET value = value "
                "WHERE key = 'crm.source';").returncode == 0


def test_a_viewer_reads_but_never_changes_the_crm_token_or_adds_and_removes_tokens(
        salesmate_team, pg) -> None:
    alice, bob, _ = salesmate_team
    with psycopg.connect(alice.url, autocommit=True) as conn:
        before = conn.execute("SELECT tenant_id, token FROM xerolink.xero_tokens "
                              "ORDER BY tenant_id").fetchall()
    crm_key = next(key for key, _ in before if key.startswith("crm:"))
    tenant = next(key for key, _ in before if not key.startswith("crm:"))
    refused = psql(pg, bob.url, "UPDATE xerolink.xero_tokens SET token = 'mine' "
                   "WHERE tenant_id = :'key';", key=crm_key)
    assert refused.returncode != 0 and "row-level security" in refused.stderr
    with psycopg.connect(bob.url, autocommit=True) as conn:
        for statement in [
            "UPDATE xerolink.xero_tokens SET tenant_id = 'x' WHERE tenant_id = %(tenant)s",
            "DELETE FROM xerolink.xero_tokens WHERE tenant_id = %(tenant)s",
            "INSERT INTO xerolink.xero_tokens (tenant_id, token, updated_at) "
            "VALUES ('crm:salesmate:evil', 't', 'now')",
            "DELETE FROM xerolink.connections",
            "UPDATE xerolink.connections SET xero_url = 'http://127.0.0.1:9'",
            "INSERT INTO xerolink.access (tenant_id, user_name, role, granted_by, granted_at)"
            " VALUES ('t', 'bob', 'admin', 'bob', 'now')",
            "UPDATE xerolink.schema_version SET version = 1",
            "ALTER TABLE xerolink.settings DISABLE ROW LEVEL SECURITY",
            "DROP POLICY settings_read ON xerolink.settings",
            "CREATE OR REPLACE FUNCTION xerolink.team_admin() RETURNS boolean "
            "LANGUAGE sql AS 'SELECT true'",
        ]:
            with pytest.raises(Refused):
                conn.execute(statement, {"tenant": tenant} if "%(" in statement else None)
        # pull and push send the CRM token: a viewer may read it, as they read Xero's.
        assert conn.execute("SELECT count(*) FROM xerolink.xero_tokens").fetchone()[0] == 2
        # A refresh: the Xero token set renewed in place.
        conn.execute("UPDATE xerolink.xero_tokens SET token = token WHERE tenant_id = %s",
                     (tenant,))
    with psycopg.connect(alice.url, autocommit=True) as conn:
        assert conn.execute("SELECT tenant_id, token FROM xerolink.xero_tokens "
                            "ORDER BY tenant_id").fetchall() == before


def test_a_viewer_hunting_a_search_path_cannot_pass_for_an_admin(salesmate_team, pg,
                                                                 team_db) -> None:
    """The admin check is a function; a schema of the viewer's own, first in their
    search_path, must not stand in for what it calls."""
    bob = salesmate_team[1]
    pg.sql("GRANT CREATE ON SCHEMA public TO bob", database=team_db)
    with psycopg.connect(bob.url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS boolean "
                     "LANGUAGE sql AS 'SELECT true'")
        conn.execute("CREATE FUNCTION public.left(text, integer) RETURNS text "
                     "LANGUAGE sql AS 'SELECT current_user::text'")
        conn.execute("SET search_path = public, xerolink, pg_catalog")
        assert conn.execute("SELECT xerolink.team_admin()").fetchone()[0] is False
        with pytest.raises(Refused):
            conn.execute("UPDATE xerolink.settings SET value = '{}' WHERE key = 'crm.source'")


def test_an_existing_team_database_is_upgraded_by_team_init(pg, team_db, tmp_path) -> None:
    """A database the previous xerolink set up (schema 6, its grants): nobody uses it
    until an admin runs team init, which closes what viewers could change."""
    from xerolink.store.migrations import MIGRATIONS
    from xerolink.store.postgres import PostgresStore

    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    old = PostgresStore(alice.url, migrate=True, migrations=MIGRATIONS[:6])
    viewers, admins = old.roles
    old.close()
    previous_grants = """
        CREATE ROLE VIEWERS NOLOGIN; CREATE ROLE ADMINS NOLOGIN;
        GRANT USAGE ON SCHEMA xerolink TO VIEWERS, ADMINS;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA xerolink TO ADMINS;
        GRANT SELECT, INSERT, UPDATE, DELETE ON xerolink.settings TO VIEWERS;
        GRANT SELECT ON xerolink.connections, xerolink.schema_version TO VIEWERS;
        GRANT SELECT, UPDATE ON xerolink.xero_tokens TO VIEWERS;
        GRANT VIEWERS TO alice WITH ADMIN OPTION; GRANT ADMINS TO alice WITH ADMIN OPTION;
        GRANT VIEWERS TO bob;
        INSERT INTO xerolink.settings VALUES ('crm.source', '{"source": "salesmate"}');
    """.replace("VIEWERS", viewers).replace("ADMINS", admins)
    assert psql(pg, alice.url, previous_grants).returncode == 0
    assert psql(pg, bob.url, "UPDATE xerolink.settings SET value = value "
                "WHERE key = 'crm.source';").returncode == 0, "the hole being closed"
    code, _, err = bob.run("status")
    assert code == 12 and "schema 6" in err and "xerolink team init" in err
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS)
    refused = psql(pg, bob.url, "UPDATE xerolink.settings SET value = value "
                   "WHERE key = 'crm.source';")
    assert refused.returncode != 0 and "row-level security" in refused.stderr
    for statement in ("DELETE FROM xerolink.settings;",
                      "UPDATE xerolink.xero_tokens SET tenant_id = tenant_id;"):
        refused = psql(pg, bob.url, statement)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, statement
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS), "again: no-op"


def test_a_viewer_refused_by_the_database_exits_4_with_the_admin_hint(salesmate_team) -> None:
    from xerolink.errors import ExitCode, PermissionDeniedError
    from xerolink.store.postgres import PostgresStore

    _, bob, _ = salesmate_team
    store = PostgresStore(bob.url)
    try:
        with pytest.raises(PermissionDeniedError) as refused:
            store.set_setting("crm.source", "{}")
    finally:
        store.close()
    assert refused.value.exit_code == ExitCode.PERMISSION_DENIED
    assert "access grant bob --admin" in str(refused.value)

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
    assert refused.returncode != 0 and "permission denied" in refused.stderr
    alice.json("crm", "pull")
    with psycopg.connect(bob.url, autocommit=True) as conn:
        for statement, args in [
            # Only admins pull, so what a pull records is theirs too.
            ("UPDATE xerolink.settings SET value = 'other' "
             "WHERE key = 'crm.pulled_from.salesmate'", ()),
            ("INSERT INTO xerolink.settings (key, value) VALUES "
             "('crm.refused_fields.salesmate', '5') ON CONFLICT (key) DO UPDATE "
             "SET value = excluded.value", ()),
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
    assert _setting(alice, "crm.pulled_from.salesmate") == "demo"
    assert _setting(alice, "crm.refused_fields.salesmate") is None
    # An admin still decides.
    assert psql(pg, alice.url, "UPDATE xerolink.settings SET value = value "
                "WHERE key = 'crm.source';").returncode == 0


def test_only_admins_pull_and_push_and_a_viewer_s_day_still_works(salesmate_team, pg
                                                                  ) -> None:
    alice, bob, server = salesmate_team
    before = control(server.base_url, "GET", "salesmate")["total_calls"]
    for command in (("crm", "pull"), ("crm", "push"), ("crm", "push", "--dry-run")):
        code, out, err = bob.run(*command)
        assert code == 4 and out == "", (command, err)
        assert f"only an admin runs `xerolink {' '.join(command[:2])}`" in err
        assert "xerolink access grant bob --admin" in err and len(err.strip().splitlines()) == 1
    assert control(server.base_url, "GET", "salesmate")["total_calls"] == before
    # The admin pulls; the viewer reads what was pulled, links, refreshes (the document
    # cache and sync state), sees summaries and details; the admin pushes.
    assert alice.json("crm", "pull")["contacts"]["written"] == 60
    assert len(bob.json("crm", "list", "contacts")) == 60
    assert bob.json("crm", "show", "contact:1")["ref"] == "contact:1"
    linked = bob.json("link", "--auto")["linked"]
    assert linked
    assert bob.run("refresh", "--all")[0] == 0
    contact = linked[0]["crm"]
    assert bob.json("summary", contact)["tenant_id"]
    assert bob.run("details", contact)[0] == 0
    assert bob.json("status", "--offline")["crm_source"]["records"]["contact"]["live"] == 60
    check = next(c for c in bob.json("doctor", "--offline") if c["check"] == "crm source")
    assert check["status"] == "ok" and "an admin runs crm pull" in check["detail"]
    assert alice.run("crm", "push", "--dry-run")[0] == 0
    assert alice.run("crm", "push")[0] == 0
    # What only a pull and a push write is read-only for a viewer: no watermark in 2099
    # to make the admin's next pull miss every edit.
    for statement in ("UPDATE xerolink.crm_pulls SET watermark = '2099-01-01T00:00:00Z';",
                      "UPDATE xerolink.crm_source_records SET fields = '{}';",
                      "DELETE FROM xerolink.crm_pulls;"):
        refused = psql(pg, bob.url, statement)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, statement
    assert alice.json("crm", "pull")["contacts"]["written"] == 0


def test_a_viewer_never_sees_the_crm_token_nor_changes_or_adds_tokens(
        salesmate_team, pg, team_db) -> None:
    alice, bob, _ = salesmate_team
    with psycopg.connect(alice.url, autocommit=True) as conn:
        before = conn.execute("SELECT tenant_id, token FROM xerolink.xero_tokens "
                              "ORDER BY tenant_id").fetchall()
    crm_key, crm_token = next((key, t) for key, t in before if key.startswith("crm:"))
    tenant = next(key for key, _ in before if not key.startswith("crm:"))
    # Asked every way psql can: by key, the whole table, a copy of it, a function of
    # the viewer's own that prints what it is given (run after the row policy).
    pg.sql("GRANT CREATE ON SCHEMA public TO bob", database=team_db)
    seen = psql(pg, bob.url, """
        SELECT count(*) AS crm_rows FROM xerolink.xero_tokens WHERE tenant_id = :'key';
        SELECT * FROM xerolink.xero_tokens;
        \\copy xerolink.xero_tokens to stdout
        CREATE FUNCTION public.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.000001
            AS $$ BEGIN RAISE NOTICE 'peeked %', $1; RETURN true; END $$;
        SELECT tenant_id FROM xerolink.xero_tokens WHERE public.peek(token);
        UPDATE xerolink.xero_tokens SET token = 'mine' WHERE tenant_id = :'key';
        UPDATE xerolink.xero_tokens SET token = token;
        """, key=crm_key)
    assert seen.returncode == 0, seen.stderr
    assert crm_token not in seen.stdout + seen.stderr
    assert crm_key not in seen.stdout.replace(f"'{crm_key}'", "")
    assert " crm_rows \n----------\n        0" in seen.stdout
    assert "peeked" in seen.stderr and tenant in seen.stdout, "the Xero row is there"
    assert "UPDATE 0" in seen.stdout and "UPDATE 1" in seen.stdout
    refused = psql(pg, bob.url, "INSERT INTO xerolink.xero_tokens (tenant_id, token, "
                   "updated_at) VALUES (:'key', 'mine', 'now');", key=crm_key)
    assert refused.returncode != 0 and "permission denied" in refused.stderr
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
        # Only admins pull and push: the CRM token is theirs alone.
        assert conn.execute("SELECT tenant_id FROM xerolink.xero_tokens").fetchall() == [
            (tenant,)]
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
        INSERT INTO xerolink.xero_tokens VALUES ('crm:salesmate:demo', 'crm-secret', 'now');
    """.replace("VIEWERS", viewers).replace("ADMINS", admins)
    assert psql(pg, alice.url, previous_grants).returncode == 0
    assert psql(pg, bob.url, "UPDATE xerolink.settings SET value = value "
                "WHERE key = 'crm.source';").returncode == 0, "the hole being closed"
    assert "crm-secret" in psql(pg, bob.url, "SELECT token FROM xerolink.xero_tokens;").stdout
    code, _, err = bob.run("status")
    assert code == 12 and "schema 6" in err and "xerolink team init" in err
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS)
    assert "crm-secret" not in psql(pg, bob.url, "SELECT * FROM xerolink.xero_tokens;").stdout
    for statement in ("UPDATE xerolink.settings SET value = value WHERE key = 'crm.source';",
                      "DELETE FROM xerolink.settings;",
                      "UPDATE xerolink.xero_tokens SET tenant_id = tenant_id;"):
        refused = psql(pg, bob.url, statement)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, statement
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS), "again: no-op"


def test_a_schema_7_team_database_is_upgraded_by_team_init(pg, team_db, tmp_path) -> None:
    """Set up by the xerolink before this one (schema 7, viewers pulled): viewers read
    the CRM token and wrote what a pull records; after team init they do neither."""
    from xerolink.store.migrations import MIGRATIONS
    from xerolink.store.postgres import PostgresStore

    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    old = PostgresStore(alice.url, migrate=True, migrations=MIGRATIONS[:7])
    viewers, admins = old.roles
    old.close()
    previous_grants = """
        CREATE ROLE VIEWERS NOLOGIN; CREATE ROLE ADMINS NOLOGIN;
        GRANT USAGE ON SCHEMA xerolink TO VIEWERS, ADMINS;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA xerolink TO ADMINS;
        GRANT SELECT, INSERT, UPDATE, DELETE ON xerolink.crm_source_records,
            xerolink.crm_pulls TO VIEWERS;
        GRANT SELECT ON xerolink.connections, xerolink.access, xerolink.schema_version
            TO VIEWERS;
        GRANT SELECT, INSERT, UPDATE (value) ON xerolink.settings TO VIEWERS;
        GRANT SELECT, UPDATE (token, updated_at) ON xerolink.xero_tokens TO VIEWERS;
        GRANT VIEWERS TO alice WITH ADMIN OPTION; GRANT ADMINS TO alice WITH ADMIN OPTION;
        GRANT VIEWERS TO bob;
        INSERT INTO xerolink.settings VALUES ('crm.pulled_from.salesmate', 'demo');
        INSERT INTO xerolink.xero_tokens VALUES ('crm:salesmate:demo', 'crm-secret', 'now');
        INSERT INTO xerolink.crm_pulls VALUES ('salesmate', 'contact', NULL, 'now');
    """.replace("VIEWERS", viewers).replace("ADMINS", admins)
    assert psql(pg, alice.url, previous_grants).returncode == 0
    holes = ["UPDATE xerolink.settings SET value = 'other' "
             "WHERE key = 'crm.pulled_from.salesmate';",
             "UPDATE xerolink.crm_pulls SET watermark = '2099-01-01T00:00:00Z';"]
    for statement in holes:
        assert psql(pg, bob.url, statement).returncode == 0, "the hole being closed"
    assert "crm-secret" in psql(pg, bob.url, "SELECT token FROM xerolink.xero_tokens;").stdout
    code, _, err = bob.run("status")
    assert code == 12 and f"schema 7, and this xerolink needs {len(MIGRATIONS)}" in err
    assert "xerolink team init" in err
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS)
    seen = psql(pg, bob.url, "SELECT * FROM xerolink.xero_tokens;")
    assert seen.returncode == 0 and "crm-secret" not in seen.stdout and "(0 rows)" in seen.stdout
    for statement in holes:
        refused = psql(pg, bob.url, statement)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, statement
    assert "crm-secret" in psql(pg, alice.url, "SELECT token FROM xerolink.xero_tokens;").stdout
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


def test_a_viewer_sees_what_was_sent_but_records_no_send(salesmate_team) -> None:
    """Sending is for who has the right: a viewer without it reads send_intents (what was
    emailed) and can neither forge a send (which would block a real one as "already
    sent") nor remove one (which would let a rerun email twice); once an admin grants
    bob the right, the database lets him record his sends."""
    alice, bob, _ = salesmate_team
    with psycopg.connect(alice.url, autocommit=True) as conn:
        tenant = conn.execute("SELECT tenant_id FROM xerolink.access "
                              "WHERE user_name = 'bob'").fetchone()[0]
    row = (tenant, "k", "d", "INV-1", "a@example.invalid", "alice",
           "2026-12-01T00:00:00+00:00")
    insert = ("INSERT INTO xerolink.send_intents (tenant_id, idempotency_key, document_id, "
              "number, to_address, requested_by, requested_at) VALUES "
              "(%s, %s, %s, %s, %s, %s, %s)")
    with psycopg.connect(alice.url, autocommit=True) as conn:
        conn.execute(insert, row)
    with psycopg.connect(bob.url, autocommit=True) as conn:
        assert conn.execute("SELECT number FROM xerolink.send_intents").fetchall() == [
            ("INV-1",)]
        with pytest.raises(Refused):
            conn.execute(insert, (tenant, "k2", *row[2:]))
        for statement in ("DELETE FROM xerolink.send_intents",
                          "UPDATE xerolink.send_intents SET sent_at = 'x'"):
            assert conn.execute(statement).rowcount == 0, statement  # no row is his
        assert conn.execute("SELECT number, sent_at FROM xerolink.send_intents"
                            ).fetchall() == [("INV-1", None)]
    assert alice.json("access", "grant", "bob", "--send")["send_right"] == "granted"
    with psycopg.connect(bob.url, autocommit=True) as conn:
        conn.execute(insert, (tenant, "k2", *row[2:]))
        assert conn.execute("UPDATE xerolink.send_intents SET sent_at = 'x' "
                            "WHERE idempotency_key = 'k2'").rowcount == 1

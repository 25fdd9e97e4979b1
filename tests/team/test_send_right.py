"""The right to send in the team database: an admin's to give, and the database itself
refuses a viewer who writes it on their own row (tried as the viewer, in plain SQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from psycopg import sql
from test_team import KAURI, Member
from test_viewer_privileges import psql

from support import control

psycopg = pytest.importorskip("psycopg")
Refused = psycopg.errors.InsufficientPrivilege
HINT = "ask an admin (xerolink access grant bob --send)"


@pytest.fixture
def sending_team(pg, team_db, sandbox, tmp_path):
    """alice (admin) connected Xero; bob is a viewer; the organisation's tenant id."""
    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    alice.json("team", "init")
    alice.json("connect", "--xero-url", sandbox.base_url, "--tenant", KAURI, "--port", "0")
    tenant = alice.json("access", "grant", "bob")["tenant_id"]
    return alice, bob, tenant


def _draft(sandbox, tenant: str) -> str:
    data = control(sandbox.base_url, "GET", f"data?tenant={tenant}&only=invoices")
    return next(i["InvoiceID"] for i in data["invoices"] if i["Type"] == "ACCREC"
                and i["Status"] == "DRAFT" and i.get("DueDate")
                and all(line.get("AccountCode") for line in i["LineItems"]))


def _may_send(member, tenant: str) -> bool:
    """What the database says of the member's own right (team_may_send)."""
    with psycopg.connect(member.url, autocommit=True) as conn:
        return bool(conn.execute("SELECT xerolink.team_may_send(%s)", (tenant,)).fetchone()[0])


def _bobs_mark(alice) -> int:
    with psycopg.connect(alice.url, autocommit=True) as conn:
        return int(conn.execute("SELECT may_send FROM xerolink.access "
                                "WHERE user_name = 'bob'").fetchone()[0])


def test_a_viewer_cannot_give_themselves_the_right_to_send(sending_team, sandbox) -> None:
    alice, bob, tenant = sending_team
    with psycopg.connect(bob.url, autocommit=True) as conn:
        for statement, args in [
            ("UPDATE xerolink.access SET may_send = 1 WHERE user_name = current_user", ()),
            ("INSERT INTO xerolink.access (tenant_id, user_name, role, granted_by, granted_at, "
             "may_send) VALUES (%s, 'bob', 'viewer', 'bob', 'now', 1) ON CONFLICT "
             "(tenant_id, user_name) DO UPDATE SET may_send = 1", (tenant,)),
            ("DELETE FROM xerolink.access WHERE user_name = current_user", ()),
        ]:
            with pytest.raises(Refused):
                conn.execute(statement, args)
    assert _bobs_mark(alice) == 0 and not _may_send(bob, tenant)
    code, _, err = bob.run("access", "grant", "bob", "--send")
    assert code == 4 and "only an admin" in err
    draft = _draft(sandbox, tenant)
    code, _, err = bob.run("approve", draft, "--yes")
    assert code == 4 and err.rstrip().endswith(HINT)
    code, _, err = alice.run("access", "grant", "alice", "--send")
    assert code == 2 and "admins always have the right to send" in err
    alice.json("access", "grant", "bob", "--send")
    assert _may_send(bob, tenant) and _may_send(alice, tenant)
    assert bob.json("approve", draft, "--yes")["to_status"] == "AUTHORISED"
    rows = {r["user"]: (r["role"], r["may_send"]) for r in alice.json("access", "list")}
    assert rows == {"alice": ("admin", True), "bob": ("viewer", True)}
    alice.json("access", "revoke", "bob", "--send")
    assert not _may_send(bob, tenant)
    code, _, err = bob.run("approve", _draft(sandbox, tenant), "--yes")
    assert code == 4 and err.rstrip().endswith(HINT)


def test_a_broader_grant_still_leaves_the_access_list_to_admins(sending_team, pg) -> None:
    """Should the viewers role ever be given writes on the access table (a database
    administrator's broad grant), its row policies still keep every row an admin's."""
    alice, bob, tenant = sending_team
    with psycopg.connect(alice.url, autocommit=True) as conn:
        viewers = conn.execute("SELECT current_database() || '_xerolink_viewers'").fetchone()[0]
    assert psql(pg, alice.url, f'GRANT INSERT, UPDATE, DELETE ON xerolink.access TO "{viewers}";'
                ).returncode == 0
    with psycopg.connect(bob.url, autocommit=True) as conn:
        changed = conn.execute("UPDATE xerolink.access SET may_send = 1 "
                               "WHERE user_name = current_user")
        assert changed.rowcount == 0
        assert conn.execute("DELETE FROM xerolink.access").rowcount == 0
        with pytest.raises(Refused, match="row-level security"):
            conn.execute("INSERT INTO xerolink.access (tenant_id, user_name, role, granted_by, "
                         "granted_at, may_send) VALUES (%s, 'bob2', 'viewer', 'bob', 'now', 1)",
                         (tenant,))
    assert _bobs_mark(alice) == 0 and not _may_send(bob, tenant)


def test_a_team_database_from_before_the_right_keeps_its_roles(pg, team_db, tmp_path,
                                                               monkeypatch) -> None:
    """Set up by the xerolink before the right to send: after team init the admin is an
    admin (and may send), the viewer a viewer without the right."""
    from xerolink.store import postgres
    from xerolink.store.migrations import MIGRATIONS
    from xerolink.store.postgres import PostgresStore

    grants = postgres._viewer_grants
    before = next(i for i, step in enumerate(MIGRATIONS) if "may_send" in step)
    later = {t for step in MIGRATIONS[before:] for t in re.findall(r"CREATE TABLE (\w+)", step)}

    def older_grants(viewers: Any) -> list[Any]:
        """That xerolink's grants: none on the tables of later migrations."""
        kept = []
        for grant in grants(viewers):
            text = grant.as_string(None)
            head, tables, tail = re.fullmatch(r"(.* ON )(.*?)( TO .*)", text, re.S).groups()
            names = [t for t in tables.split(", ") if t.strip() not in later]
            if names:
                kept.append(sql.SQL(head + ", ".join(names) + tail))
        return kept

    monkeypatch.setattr(postgres, "_viewer_grants", older_grants)

    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    old = PostgresStore(alice.url, migrate=True, migrations=MIGRATIONS[:before])
    viewers, _ = old.initialise_team()
    old.close()
    monkeypatch.setattr(postgres, "_viewer_grants", grants)
    assert psql(pg, alice.url, """
        GRANT "VIEWERS" TO bob;
        INSERT INTO xerolink.access (tenant_id, user_name, role, granted_by, granted_at)
            VALUES ('t1', 'bob', 'viewer', 'alice', '2026-11-01T09:00:00+00:00');
    """.replace("VIEWERS", viewers)).returncode == 0
    code, _, err = bob.run("status")
    assert code == 12 and f"schema {before}, and this xerolink needs" in err
    assert alice.json("team", "init")["schema_version"] == len(MIGRATIONS)
    store = PostgresStore(alice.url)
    try:
        assert {(e.user, e.role, e.may_send) for e in store.list_access("t1")} == {
            ("alice", "admin", False), ("bob", "viewer", False)}
        assert store.role_of("t1", "bob") == "viewer" and not store.may_send("t1", "bob")
    finally:
        store.close()
    assert not _may_send(bob, "t1") and _may_send(alice, "t1")
    refused = psql(pg, bob.url, "UPDATE xerolink.access SET may_send = 1;")
    assert refused.returncode != 0 and "permission denied" in refused.stderr

"""The store: migrations, concurrent writers, permissions, refusal of a newer schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from xerolink.store import StoreError
from xerolink.store.migrations import MIGRATIONS, SCHEMA_VERSION
from xerolink.store.models import AccessEntry, Connection, CrmContact, Link
from xerolink.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_new_store_is_migrated_to_the_latest_schema_and_is_private(tmp_path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    assert store.schema_version() == SCHEMA_VERSION >= 2
    assert store.integrity_check() == "ok"
    assert oct((tmp_path / "x.db").stat().st_mode & 0o777) == "0o600"
    tables = set(store.table_counts())
    assert {"crm_contacts", "crm_companies", "crm_deals", "crm_deal_participants", "links",
            "deal_documents", "access", "xero_documents", "connections"} <= tables
    mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_an_empty_file_is_migrated(tmp_path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    store = SqliteStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.integrity_check() == "ok"


def test_migrating_from_the_previous_version_keeps_the_data(tmp_path) -> None:
    path = tmp_path / "old.db"
    old = SqliteStore(path, migrations=MIGRATIONS[:-1])
    assert old.schema_version() == SCHEMA_VERSION - 1
    old.close()
    # rows as the previous xerolink wrote them, in its own columns
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO crm_contacts (id, first_name, last_name, email, updated_at) "
                   "VALUES ('42', 'Ada', 'Lovelace', 'ada@example.com', ?)", (NOW.isoformat(),))
        db.execute("INSERT INTO links (tenant_id, crm_contact_id, xero_contact_id, xero_name, "
                   "linked_by, linked_at) VALUES ('tenant-1', '42', 'xero-1', 'Ada Lovelace', "
                   "'alice', ?)", (NOW.isoformat(),))
    store = SqliteStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.get_link("tenant-1", "42").xero_contact_id == "xero-1"
    contact = store.get_crm_contact("42")
    assert contact.name == "Ada Lovelace" and contact.source is None and not contact.gone
    assert store.table_counts()["deal_documents"] == 0


def test_the_right_to_send_arrives_unset_and_every_role_is_kept(tmp_path) -> None:
    """A store from before the right to send: admins and viewers keep their roles, and
    no viewer may send until an admin grants it."""
    path = tmp_path / "before.db"
    before = next(i for i, step in enumerate(MIGRATIONS) if "may_send" in step)
    SqliteStore(path, migrations=MIGRATIONS[:before]).close()
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO access (tenant_id, user_name, role, granted_by, "
                       "granted_at) VALUES ('t1', ?, ?, 'alice', ?)",
                       [("alice", "admin", NOW.isoformat()), ("bob", "viewer", NOW.isoformat())])
    store = SqliteStore(path)
    assert {(e.user, e.role, e.may_send) for e in store.list_access("t1")} == {
        ("alice", "admin", False), ("bob", "viewer", False)}
    assert not store.may_send("t1", "bob") and store.role_of("t1", "bob") == "viewer"
    store.grant_access(AccessEntry("t1", "bob", "viewer", "alice", NOW, may_send=True))
    store.grant_access(AccessEntry("t1", "bob", "viewer", "alice", NOW))  # kept
    assert store.may_send("t1", "bob")
    assert store.revoke_send_right("t1", ["alice", "bob"]) == ["bob"]
    assert not store.may_send("t1", "bob") and store.role_of("t1", "bob") == "viewer"
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute("UPDATE access SET may_send = 2 WHERE user_name = 'bob'")


def test_a_store_from_a_newer_xerolink_is_refused_unchanged(tmp_path) -> None:
    path = tmp_path / "new.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this xerolink"):
        SqliteStore(path)


def test_a_failed_transaction_leaves_nothing_behind(tmp_path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO settings (key, value) VALUES ('a', 'b')")
        raise RuntimeError("half-way")
    assert store.get_setting("a") is None


def test_one_xero_contact_per_crm_contact_unless_replaced(tmp_path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    store.upsert_crm_records(contacts=[CrmContact("7")], at=NOW)
    first = Link("t", "7", "x-1", "alice", NOW)
    assert store.put_link(first, replace=False) is None
    kept = store.put_link(Link("t", "7", "x-2", "alice", NOW), replace=False)
    assert kept.xero_contact_id == "x-1" and store.get_link("t", "7").xero_contact_id == "x-1"
    store.put_link(Link("t", "7", "x-2", "alice", NOW), replace=True)
    assert store.get_link("t", "7").xero_contact_id == "x-2"
    assert len(store.list_links("t")) == 1


def test_connections_and_access_survive_deactivation(tmp_path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    store.save_connection(Connection("t1", "Org One", "pkce", "alice", NOW))
    store.grant_access(AccessEntry("t1", "alice", "admin", "alice", NOW))
    store.save_connection(Connection("t2", "Org Two", "pkce", "alice", NOW))
    assert store.active_connection().tenant_id == "t2"
    store.deactivate_connection("t2")
    assert store.active_connection() is None
    assert [a.user for a in store.list_access("t1")] == ["alice"]


WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from xerolink.store.models import CrmContact, Link
    from xerolink.store.sqlite import SqliteStore
    path, prefix = Path(sys.argv[1]), sys.argv[2]
    store = SqliteStore(path)
    now = datetime.now(UTC)
    for i in range(150):
        cid = f"{prefix}-{i}"
        store.upsert_crm_records(contacts=[CrmContact(cid, "N", str(i))], at=now)
        store.put_link(Link("tenant", cid, f"x-{cid}", prefix, now), replace=False)
    store.close()
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path) -> None:
    path = tmp_path / "shared.db"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name],
                              env={**os.environ}) for name in ("one", "two")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    store = SqliteStore(path)
    assert store.count_crm_contacts() == 300
    assert len(store.list_links("tenant")) == 300
    assert store.integrity_check() == "ok"

"""``SqliteStore.in_memory()``: the real schema, migrations and SQL, with nothing on
disk: what the fast tier's service tests stand on."""

from __future__ import annotations

import os

import pytest

from fakes import T0, TENANT
from xerolink.store import SqliteStore, StoreError
from xerolink.store.migrations import MIGRATIONS
from xerolink.store.models import CrmContact, Link


def test_it_has_the_latest_schema_and_every_table(tmp_path) -> None:
    memory = SqliteStore.in_memory()
    on_disk = SqliteStore(tmp_path / "store.db")
    try:
        assert memory.schema_version() == len(MIGRATIONS)
        assert set(memory.table_counts()) == set(on_disk.table_counts())
        assert memory.integrity_check() == "ok"
        schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        assert memory._db.execute(schema).fetchall() == on_disk._db.execute(schema).fetchall()
    finally:
        memory.close()
        on_disk.close()


def test_nothing_is_written_to_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqliteStore.in_memory()
    store.upsert_crm_records(contacts=[CrmContact("c1", "Ann", "Lee")], at=T0)
    store.close()
    assert os.listdir(tmp_path) == []


def test_two_stores_in_memory_share_nothing() -> None:
    one, two = SqliteStore.in_memory(), SqliteStore.in_memory()
    one.upsert_crm_records(contacts=[CrmContact("c1", "Ann", "Lee")], at=T0)
    assert one.get_crm_contact("c1") is not None
    assert two.get_crm_contact("c1") is None


def test_its_constraints_hold_as_on_disk() -> None:
    """Foreign keys are on: a link to a CRM contact that does not exist is refused."""
    store = SqliteStore.in_memory()
    with pytest.raises(Exception, match="FOREIGN KEY"):
        store.put_link(Link(TENANT, "nobody", "x", "alice", T0), replace=True)


def test_a_copy_or_a_lease_is_refused_with_a_reason() -> None:
    store = SqliteStore.in_memory()
    with pytest.raises(StoreError, match="in memory"):
        store.take_copy()
    with pytest.raises(StoreError, match="in memory"):
        store.lease("push")

"""The store's copies (taken when what only it holds changes: private, atomic, rotated,
never replaced by a damaged one) and the repair's choices: readable rows first, the
copy for what was lost, the cache dropped for Xero to give back."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from xerolink.store import backup
from xerolink.store.base import DamagedStore
from xerolink.store.models import CachedDocument, CrmContact, Link, XeroContact
from xerolink.store.sqlite import SqliteStore, repair

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TENANT = "tenant-1"
PAGE = 4096


def _link(n: int) -> Link:
    return Link(TENANT, str(n), f"00000000-0000-4000-8000-{n:012d}", "alice", AT)


def _store(tmp_path: Path, contacts: int = 0) -> SqliteStore:
    store = SqliteStore(tmp_path / "xerolink.db")
    if contacts:
        store.upsert_crm_records(contacts=[CrmContact(str(n), f"F{n}", f"L{n}")
                                           for n in range(1, contacts + 1)], at=AT)
    return store


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in (path.parent / "store-copies").iterdir())


def _rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _damage_page_of(path: Path, table: str, which: int = 0) -> int:
    """Overwrite one leaf (or the only page) of ``table``; returns the page."""
    db = sqlite3.connect(path)
    pages = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name = ? AND "
                                      "pagetype != 'internal' ORDER BY pageno", (table,))]
    db.close()
    page = pages[which]
    data = bytearray(path.read_bytes())
    data[(page - 1) * PAGE:page * PAGE] = b"\xde\xad\xbe\xef" * (PAGE // 4)
    path.write_bytes(bytes(data))
    return page


def test_a_copy_is_taken_when_links_change_and_not_when_the_cache_or_crm_do(
        tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("xerolink.store.sqlite.COPY_INTERVAL", 0.0)
    store = _store(tmp_path, contacts=5)
    path = store.path
    store.upsert_xero_contacts(TENANT, [XeroContact("x1", "Kauri", "ACTIVE")])
    store.set_sync_state(TENANT, "Contacts", None, "2026-03-01T09:00:00+00:00")
    assert not (path.parent / "store-copies").exists(), "no copy for a cache or CRM write"
    store.put_link(_link(1), replace=False)
    [first] = _names(path)
    copy = path.parent / "store-copies" / first
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert _rows(copy, "SELECT crm_contact_id FROM links") == [("1",)]
    assert _rows(copy, "PRAGMA journal_mode") == [("delete",)], "one self-contained file"
    for n in range(2, 6):
        store.put_link(_link(n), replace=False)
    store.set_setting("sales_account", "200")
    store.close()
    names = _names(path)
    assert len(names) == backup.KEEP and not any(n.endswith(".tmp") for n in names)
    newest = path.parent / "store-copies" / names[-1]
    assert len(_rows(newest, "SELECT * FROM links")) == 5
    assert _rows(newest, "SELECT value FROM settings") == [("200",)]


def test_changes_close_together_are_copied_once_more_at_close(tmp_path) -> None:
    store = _store(tmp_path, contacts=3)
    path = store.path
    store.put_link(_link(1), replace=False)
    store.put_link(_link(2), replace=False)  # within COPY_INTERVAL of the first copy
    assert len(_names(path)) == 1
    store.close()
    names = _names(path)
    assert len(names) == 2
    assert len(_rows(path.parent / "store-copies" / names[-1], "SELECT * FROM links")) == 2


def test_a_damaged_store_never_rotates_the_good_copies_out(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("xerolink.store.sqlite.COPY_INTERVAL", 0.0)
    store = _store(tmp_path, contacts=2000)
    path = store.path
    for n in range(1, 4):
        store.put_link(_link(n), replace=False)
    store.close()
    good = _names(path)
    _damage_page_of(path, "crm_contacts", which=5)  # a page linking contact 4 never reads
    store = SqliteStore(path)
    with pytest.raises(DamagedStore, match="the change was saved") as caught:
        store.put_link(_link(4), replace=False)
    assert str(path) in str(caught.value) and "doctor --repair" in str(caught.value)
    store.close()
    assert _names(path) == good, "the good copies stay; no damaged one replaces them"


def test_repair_keeps_rows_newer_than_the_copy_and_takes_the_lost_page_from_it(
        tmp_path) -> None:
    store = _store(tmp_path, contacts=3050)
    path = store.path
    store.add_links_if_unlinked([_link(n) for n in range(1, 3001)])
    store.close()
    [older] = _names(path)
    store = SqliteStore(path)
    store.add_links_if_unlinked([_link(n) for n in range(3001, 3051)])
    store.close()
    for name in _names(path):
        if name != older:
            (path.parent / "store-copies" / name).unlink()  # the copy lags the store
    _damage_page_of(path, "links", which=5)
    rebuilt = repair(path, "20260301T090000Z")
    links = {t.table: t for t in rebuilt.tables}["links"]
    assert 0 < links.from_copy < 3000 and links.readable + links.from_copy == 3050
    assert rebuilt.copy_used is not None and rebuilt.copy_used.name == older
    assert _rows(path, "SELECT count(*) FROM links") == [(3050,)]
    assert _rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert rebuilt.damaged_aside.exists() and rebuilt.damaged_aside.name == \
        "xerolink.db.damaged-20260301T090000Z"
    assert len(_names(path)) == 2, "the rebuilt store is copied at once"


def test_without_a_copy_repair_keeps_what_is_readable_and_says_what_was_lost(
        tmp_path) -> None:
    store = _store(tmp_path, contacts=3000)
    path = store.path
    store.add_links_if_unlinked([_link(n) for n in range(1, 3001)])
    store.close()
    for name in _names(path):
        (path.parent / "store-copies" / name).unlink()
    _damage_page_of(path, "links", which=3)
    rebuilt = repair(path, "20260301T090000Z")
    links = {t.table: t for t in rebuilt.tables}["links"]
    assert not links.whole and links.from_copy == 0 and 2800 < links.readable < 3000
    assert _rows(path, "SELECT count(*) FROM links") == [(links.readable,)]
    assert any("no good copy" in note and "links" in note for note in rebuilt.notes)


def test_a_damaged_cache_is_emptied_for_xero_to_give_back_and_crm_damage_asks_a_full_pull(
        tmp_path) -> None:
    store = _store(tmp_path, contacts=2000)
    path = store.path
    store.add_links_if_unlinked([_link(n) for n in range(1, 11)])
    store.replace_all_documents(TENANT, "invoice", [CachedDocument(
        f"00000000-0000-4000-9000-{n:012d}", "invoice", "x1", f"INV-{n}", "", "AUTHORISED",
        date(2026, 1, 1), date(2026, 2, 1), "NZD", Decimal("1"), Decimal("10.00"),
        Decimal("10.00"), None, AT) for n in range(2000)])
    store.set_sync_state(TENANT, "Invoices", "2026-03-01T09:00:00", "2026-03-01T09:00:00")
    store._db.execute("INSERT INTO crm_pulls (source, kind, watermark, pulled_at) VALUES "
                      "('salesmate', 'contact', 'w', '2026-03-01')")
    store.close()
    _damage_page_of(path, "xero_documents", which=2)
    _damage_page_of(path, "crm_contacts", which=2)
    rebuilt = repair(path, "20260301T090000Z")
    tables = {t.table: t for t in rebuilt.tables}
    assert tables["xero_documents"].dropped > 0
    assert _rows(path, "SELECT count(*) FROM xero_documents") == [(0,)]
    assert _rows(path, "SELECT count(*) FROM sync_state") == [(0,)], "no watermark outlives it"
    assert _rows(path, "SELECT count(*) FROM crm_pulls") == [(0,)], "the next pull is full"
    assert _rows(path, "SELECT count(*) FROM crm_contacts") == [(2000,)], "from the copy"
    assert _rows(path, "SELECT count(*) FROM links") == [(10,)]
    said = " ".join(rebuilt.notes)
    assert "Xero" in said and "crm pull" in said


def test_repair_of_a_healthy_store_changes_nothing(cli, home) -> None:
    path = Path(home) / "profiles" / "default" / "xerolink.db"
    store = SqliteStore(path)
    store.set_setting("a", "b")
    store.close()
    before = path.read_bytes()
    code, out, _ = cli("doctor", "--repair", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["repaired"] is False and "nothing to repair" in report["notes"][0]
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if "damaged" in p.name) == []


def test_rows_only_in_the_write_ahead_log_are_recovered_with_it(tmp_path) -> None:
    """A crash leaves committed links in xerolink.db-wal, not yet in the file: the
    repair moves the WAL aside with the file and reads it too."""
    import shutil

    live = tmp_path / "live"
    live.mkdir()
    store = _store(live, contacts=3000)
    store.add_links_if_unlinked([_link(n) for n in range(1, 2001)])
    store.close()
    store = SqliteStore(live / "xerolink.db")
    store._db.execute("PRAGMA wal_autocheckpoint = 0")
    store.add_links_if_unlinked([_link(n) for n in range(2001, 3001)])  # in the WAL only
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("xerolink.db", "xerolink.db-wal"):
        shutil.copy(live / name, crashed / name)
    db = sqlite3.connect(live / "xerolink.db")  # the store is open: no checkpoint at close
    [(page,)] = db.execute("SELECT pageno FROM dbstat WHERE name = 'crm_contacts' AND "
                           "pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 2").fetchall()
    db.close()
    store.close()
    path = crashed / "xerolink.db"
    assert (crashed / "xerolink.db-wal").stat().st_size > 0
    data = bytearray(path.read_bytes())  # no copies here: readable rows only
    data[(page - 1) * PAGE:page * PAGE] = bytes(PAGE)
    path.write_bytes(bytes(data))
    rebuilt = repair(path, "20260301T090000Z")
    assert _rows(path, "SELECT count(*) FROM links") == [(3000,)]
    assert {t.table: t for t in rebuilt.tables}["links"].whole
    assert Path(f"{rebuilt.damaged_aside}-wal").exists(), "the WAL is kept with the file"


def test_repair_is_for_a_profiles_own_store_not_a_team_database(cli, monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_DATABASE_URL", "postgresql://alice@127.0.0.1:1/xerolink")
    code, _, err = cli("doctor", "--repair")
    assert code == 2 and "PostgreSQL backups" in err and len(err.strip().splitlines()) == 1


def test_a_repair_that_fails_half_way_puts_the_damaged_file_back(tmp_path,
                                                                 monkeypatch) -> None:
    store = _store(tmp_path, contacts=3000)
    path = store.path
    store.add_links_if_unlinked([_link(n) for n in range(1, 3001)])
    store.close()
    _damage_page_of(path, "links", which=3)
    damaged = path.read_bytes()

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_fill_from_copy", disk_full)
    with pytest.raises(OSError):
        repair(path, "20260301T090000Z")
    assert path.read_bytes() == damaged, "the store is where it was, not an empty one"
    assert not list(tmp_path.glob("*.damaged-*"))


def test_a_copy_that_cannot_be_written_is_taken_at_close_instead(tmp_path,
                                                                 monkeypatch) -> None:
    """A full disk at the moment of the change does not fail the command, and does
    not forget the copy: closing tries again."""
    real = backup.take_copy
    calls = []

    def full_once(db: sqlite3.Connection, path: Path) -> Path:
        calls.append(path)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(db, path)

    monkeypatch.setattr(backup, "take_copy", full_once)
    store = _store(tmp_path, contacts=2)
    store.put_link(_link(1), replace=False)
    assert len(calls) == 1 and not (tmp_path / "store-copies").exists()
    store.close()
    [name] = _names(store.path)
    assert _rows(tmp_path / "store-copies" / name, "SELECT count(*) FROM links") == [(1,)]


def test_a_repair_interrupted_by_ctrl_c_leaves_no_half_built_store(tmp_path,
                                                                  monkeypatch) -> None:
    store = _store(tmp_path, contacts=300)
    path = store.path
    store.add_links_if_unlinked([_link(n) for n in range(1, 301)])
    store.close()
    _damage_page_of(path, "links")
    damaged = path.read_bytes()

    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(backup, "_fill_from_copy", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        repair(path, "20260301T090000Z")
    assert path.read_bytes() == damaged
    assert not list(tmp_path.glob("xerolink.db.rebuilding*")), "the half-built store is gone"
    monkeypatch.undo()
    (tmp_path / "xerolink.db.rebuilding").write_bytes(b"left by a killed repair")
    done = repair(path, "20260301T090001Z")
    assert done.store == path and not list(tmp_path.glob("xerolink.db.rebuilding*"))

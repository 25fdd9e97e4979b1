"""``doctor --repair`` rewrites the whole store, access list included: once access is
on record only an admin may run it; when the damage leaves the access list unreadable,
only the OS user who owns the store file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import xerolink.services.access as access_rules
from xerolink.errors import PermissionDeniedError
from xerolink.store.sqlite import SqliteStore

PAGE = 4096


def _db(home) -> Path:
    return Path(home) / "profiles" / "default" / "xerolink.db"


def _damage(path: Path, table: str) -> bytes:
    """Overwrite the first page of ``table``; returns the damaged file."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = db.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno",
                      (table,)).fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    data[(page - 1) * PAGE:page * PAGE] = b"\xde\xad\xbe\xef" * (PAGE // 4)
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("who", ["mallory", "bob"])
def test_only_an_admin_may_repair_once_access_is_on_record(cli, connected, home,
                                                           monkeypatch, who) -> None:
    assert cli("access", "grant", "bob")[0] == 0  # bob: a viewer
    damaged = _damage(_db(home), "xero_contacts")
    monkeypatch.setenv("XEROLINK_USER", who)
    code, _, err = cli("doctor", "--repair")
    assert code == 4, err
    assert "only an admin can repair" in err
    assert _db(home).read_bytes() == damaged, "nothing was rebuilt"
    assert not list(_db(home).parent.glob("xerolink.db.damaged-*"))
    monkeypatch.setenv("XEROLINK_USER", "alice")
    code, _, err = cli("doctor", "--repair")
    assert code == 0, err
    assert list(_db(home).parent.glob("xerolink.db.damaged-*"))


def test_an_unreadable_access_list_lets_the_files_owner_repair(cli, connected, home,
                                                               monkeypatch) -> None:
    _damage(_db(home), "access")
    monkeypatch.setenv("XEROLINK_USER", "mallory")  # the same OS user: the file is theirs
    code, _, err = cli("doctor", "--repair")
    assert code == 0, err


def test_an_unreadable_access_list_refuses_anyone_else(connected, home) -> None:
    path = _db(home)
    _damage(path, "access")
    with pytest.raises(PermissionDeniedError, match="owns the store file"):
        access_rules.check_may_repair(lambda: SqliteStore(path, keep_copies=False),
                                      "mallory", lambda: False)
    access_rules.check_may_repair(lambda: SqliteStore(path, keep_copies=False), "mallory",
                                  lambda: True)

"""A store path that is not a readable database file: a folder is a damaged store
(exit 11, doctor's finding, repaired by doctor --repair); a file this user may not open
is a permission problem (exit 12 with the fix). Never exit 1, doctor included."""

from __future__ import annotations

import json
import os


def _db(home):
    return home / "profiles" / "default" / "xerolink.db"


def _doctor(cli):
    code, out, _ = cli("doctor", "--offline", "--json")
    return code, {c["check"]: c for c in json.loads(out)}


def test_a_folder_where_the_store_should_be_is_a_damaged_store(cli, connected, home) -> None:
    db = _db(home)
    for companion in (db, db.with_name("xerolink.db-wal"), db.with_name("xerolink.db-shm")):
        if companion.exists():
            companion.unlink()
    db.mkdir()
    for command in (["status"], ["links"], ["crm", "list", "contacts"]):
        code, out, err = cli(*command)
        assert code == 11, (command, err)
        assert "is a folder" in err and "doctor --repair" in err
        assert "Traceback" not in out + err
    code, checks = _doctor(cli)
    assert code == 10
    assert checks["store"]["status"] == "problem" and "folder" in checks["store"]["detail"]
    code, out, err = cli("doctor", "--repair", "--json")
    assert code == 0, err
    assert cli("status")[0] != 1


def test_a_store_this_user_may_not_open_is_a_permission_problem(cli, connected, home,
                                                               monkeypatch) -> None:
    db = _db(home)
    real_access = os.access

    def refusing(path, mode, **kwargs):  # the OS's answer for another user's 0600 file
        return False if os.fspath(path) == os.fspath(db) else real_access(path, mode, **kwargs)

    monkeypatch.setattr("xerolink.store.sqlite.os.access", refusing)
    try:
        code, out, err = cli("status")
        assert code == 12, err
        assert "permission denied" in err and "chmod 600" in err
        assert "Traceback" not in out + err
        code, checks = _doctor(cli)
        assert code == 10
        assert checks["store"]["status"] == "problem"
        assert "permission denied" in checks["store"]["detail"]
        assert "chmod 600" in checks["store"]["action"]
    finally:
        monkeypatch.undo()

"""`xerolink doctor` on a fresh machine, on a healthy profile, and with a problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from support import connect_profile


def test_a_fresh_machine_names_the_missing_keyring_and_the_opt_in(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
    env.update({"XEROLINK_HOME": str(tmp_path / "home"),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    result = subprocess.run([sys.executable, "-m", "xerolink", "doctor", "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, "warnings only: nothing is broken yet"
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    keyring = checks["keyring backend"]
    assert keyring["status"] == "warning"
    assert "no working OS keyring backend" in keyring["detail"]
    assert "XEROLINK_TOKEN_STORE=file" in keyring["action"]
    assert checks["connection"]["status"] == "warning"
    human = subprocess.run([sys.executable, "-m", "xerolink", "doctor"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert "XEROLINK_TOKEN_STORE=file" in human.stdout


def test_a_healthy_connection_passes_with_the_clock_checked(cli, connected) -> None:
    checks = {c["check"]: c for c in cli.json("doctor")}
    assert checks["connection"]["status"] == "ok"
    assert checks["refresh token"]["status"] == "ok"
    assert checks["clock"]["status"] == "ok" and "Xero" in checks["clock"]["detail"]
    assert checks["store"]["status"] == "ok"


def test_an_expired_refresh_token_is_a_problem_and_exit_10(cli, sandbox, home, monkeypatch
                                                         ) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(sandbox, home)
    path = home / "profiles" / "default" / "tokens.json"
    data = json.loads(path.read_text())
    for entry in data.values():
        entry["refresh_issued_at"] = time.time() - 61 * 86400
    path.write_text(json.dumps(data))
    code, out, _ = cli("doctor", "--offline", "--json")
    assert code == 10
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["refresh token"]["status"] == "problem"
    assert checks["refresh token"]["action"] == "run xerolink connect"


# -- the states doctor exists for: each a finding with its remedy, never a crash --------
def _db(home):
    return home / "profiles" / "default" / "xerolink.db"


def _doctor(cli) -> tuple[int, dict]:
    code, out, err = cli("doctor", "--offline", "--json")
    assert "unexpected" not in err, err
    return code, {c["check"]: c for c in json.loads(out)}


def test_a_corrupted_store_page_is_a_finding(cli, connected, home) -> None:
    path = _db(home)
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xde\xad\xbe\xef" * 1024  # a page of the b-trees overwritten
    path.write_bytes(bytes(data))
    code, checks = _doctor(cli)
    assert code == 10
    assert checks["store"]["status"] == "problem"
    assert "xerolink doctor --repair" in checks["store"]["action"]


def test_a_damaged_page_that_the_crm_source_check_reads_is_a_finding_not_a_crash(
        cli, connected, home) -> None:
    """doctor reads the CRM source setting after its own checks: a bad settings page
    was exit 1 ("unexpected DatabaseError"); it is a finding, exit 10, and every other
    command that meets it exits 11."""
    import sqlite3

    from xerolink.store.sqlite import SqliteStore

    store = SqliteStore(_db(home))
    store.set_setting("crm.source", json.dumps({"source": "salesmate", "account": "demo"}))
    store.close()
    db = sqlite3.connect(_db(home))
    [(page,)] = db.execute("SELECT pageno FROM dbstat WHERE name = 'settings'").fetchall()
    db.close()
    data = bytearray(_db(home).read_bytes())
    data[(page - 1) * 4096:page * 4096] = bytes(4096)
    _db(home).write_bytes(bytes(data))
    code, checks = _doctor(cli)
    assert code == 10
    assert checks["store"]["status"] == "problem"
    assert "xerolink doctor --repair" in checks["store"]["action"]
    code, _, err = cli("crm", "pull")
    assert code == 11 and len(err.strip().splitlines()) == 1
    assert str(_db(home)) in err and "xerolink doctor --repair" in err


def test_a_file_that_is_not_a_database_is_a_finding(cli, connected, home) -> None:
    _db(home).write_bytes(b"this is not a database, just text " * 200)
    code, checks = _doctor(cli)
    assert code == 10 and checks["store"]["status"] == "problem"


def test_a_store_from_a_newer_xerolink_says_upgrade(cli, connected, home) -> None:
    import sqlite3

    db = sqlite3.connect(_db(home))
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    code, checks = _doctor(cli)
    assert code == 10 and "upgrade xerolink" in checks["store"]["action"]


def test_a_token_file_readable_by_others_is_a_problem_not_mode_0600(cli, connected,
                                                                     home) -> None:
    path = home / "profiles" / "default" / "tokens.json"
    path.chmod(0o644)
    code, checks = _doctor(cli)
    assert code == 10
    assert checks["token store"]["status"] == "problem"
    assert "0644" in checks["token store"]["detail"] and "0600" not in \
        checks["token store"]["detail"]
    assert checks["token store"]["action"] == f"chmod 600 {path}"


def test_a_damaged_token_file_is_not_reported_as_no_tokens(cli, connected, home) -> None:
    (home / "profiles" / "default" / "tokens.json").write_text("{ not json")
    code, checks = _doctor(cli)
    assert code == 10
    assert "damaged" in checks["tokens"]["detail"]
    assert "no tokens are stored" not in checks["tokens"]["detail"]


def test_a_refused_xero_connection_names_the_address_not_reconnect(cli, connected, home,
                                                                   sandbox) -> None:
    where = sandbox.base_url.removeprefix("http://")
    sandbox.stop()
    _, out, _ = cli("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["Xero"]["status"] == "warning"
    action = checks["Xero"]["action"]
    assert f"the server at {where} refused the connection" in action
    assert "Xero URL" in action and "read_timeout" not in action
    assert "xerolink connect" not in action


def test_a_stranger_sees_no_more_in_doctor_than_status_shows(cli, connected, monkeypatch
                                                             ) -> None:
    monkeypatch.setenv("XEROLINK_USER", "mallory")
    assert cli("status")[0] == 4
    _, text, _ = cli("doctor", "--offline", "--json")
    assert connected not in text and "Kauri" not in text and "alice" not in text

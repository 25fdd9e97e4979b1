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


def test_an_expired_refresh_token_is_a_problem_and_exit_1(cli, sandbox, home, monkeypatch
                                                         ) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(sandbox, home)
    path = home / "profiles" / "default" / "tokens.json"
    data = json.loads(path.read_text())
    for entry in data.values():
        entry["refresh_issued_at"] = time.time() - 61 * 86400
    path.write_text(json.dumps(data))
    code, out, _ = cli("doctor", "--offline", "--json")
    assert code == 1
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["refresh token"]["status"] == "problem"
    assert checks["refresh token"]["action"] == "run xerolink connect"

"""The systemd unit and the cron line the README gives, run as written: their command
lines, with only the binary's path and XEROLINK_HOME swapped for this test's."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from xerolink.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2] / "docs" / "service"


def unit() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in (ROOT / "xerolink-update.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def environment(assignments: list[str], home: Path) -> dict[str, str]:
    env = {**os.environ}
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        env[key] = value
    env["XEROLINK_HOME"] = str(home)  # the unit's /var/lib/xerolink, here
    return env


def test_the_units_execstart_runs_the_service_and_sigterm_stops_it_with_exit_0(salesmate,
                                                                               home):
    entries = unit()
    (exec_start,) = entries["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/usr/local/bin/xerolink"
    env = environment(entries["Environment"], home)
    assert env["XEROLINK_TOKEN_STORE"] == "file"
    process = subprocess.Popen([sys.executable, "-m", "xerolink", *argv[1:]], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = json.loads(process.stdout.readline())
        assert line["outcome"] == "ok" and line["interval_seconds"] == 900
        getattr(signal, entries["KillSignal"][0])  # a signal Python knows by that name
        process.send_signal(getattr(signal, entries["KillSignal"][0]))
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err


def test_the_unit_does_not_restart_what_a_restart_cannot_fix():
    (codes,) = unit()["RestartPreventExitStatus"]
    assert {int(c) for c in codes.split()} == {
        ExitCode.USAGE, ExitCode.NOT_CONNECTED, ExitCode.PERMISSION_DENIED,
        ExitCode.CRM_REFUSED}


def test_the_cron_line_runs_one_pass(salesmate, home):
    (line,) = [row for row in (ROOT / "crontab").read_text().splitlines()
               if row and not row.startswith("#")]
    words = shlex.split(line)
    assert words[:5] == ["*/15", "*", "*", "*", "*"]
    command = words[5:words.index(">>")]
    assignments = [w for w in command if "=" in w and not w.startswith("-")]
    argv = command[len(assignments):]
    assert argv[0] == "/usr/local/bin/xerolink"
    done = subprocess.run([sys.executable, "-m", "xerolink", *argv[1:]],
                          env=environment(assignments, home), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["phases"][0]["phase"] == "pull"

"""The README's promises that CI depends on stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readmes_two_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in ("TEST_COMMAND", "DEMO_COMMAND"):
        command = re.search(rf'^{name}="(.+)"$', ci, re.M)
        assert command, f".ci/run must define {name}"
        assert f"\n{command.group(1)}\n" in readme, name
        assert f'bash -c "${name}"' in ci, f".ci/run must run {name}"


def test_every_exit_code_is_documented() -> None:
    from xerolink.errors import ExitCode

    readme = (ROOT / "README.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", readme, re.M), code

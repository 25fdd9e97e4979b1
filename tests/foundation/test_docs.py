"""The README's promises that CI depends on stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.M)
    assert command, ".ci/run must define TEST_COMMAND"
    readme = (ROOT / "README.md").read_text()
    assert f"\n{command.group(1)}\n" in readme


def test_every_exit_code_is_documented() -> None:
    from xerolink.errors import ExitCode

    readme = (ROOT / "README.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", readme, re.M), code

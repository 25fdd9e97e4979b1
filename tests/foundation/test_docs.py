"""The README's and the docs site's promises that CI depends on stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readmes_two_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    started = (ROOT / "docs" / "getting-started.md").read_text()
    for name in ("TEST_COMMAND", "DEMO_COMMAND"):
        command = re.search(rf'^{name}="(.+)"$', ci, re.M)
        assert command, f".ci/run must define {name}"
        assert f"\n{command.group(1)}\n" in readme, name
        assert f"\n{command.group(1)}\n" in started, f"docs/getting-started.md: {name}"
        assert f'bash -c "${name}"' in ci, f".ci/run must run {name}"


def test_ci_builds_the_docs_strictly_after_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    build = ci.index(".venv/bin/mkdocs build --strict")
    assert ci.index('bash -c "$TEST_COMMAND"') < build
    assert ci.index(".venv/bin/python scripts/make_docs.py --check") < build


def test_every_exit_code_is_documented() -> None:
    from xerolink.errors import ExitCode

    page = (ROOT / "docs" / "exit-codes.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", page, re.M), code


def test_the_readme_stays_a_front_door() -> None:
    """The manual is the docs site; the README says what it is, how to start, where
    to read on (issue 26: under 200 lines)."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).is_file(), link

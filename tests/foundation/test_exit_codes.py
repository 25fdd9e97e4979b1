"""Exit codes are made in one place: a failure's by its exception, an outcome's by its
result (``Result.exit_code``); no command raises ``typer.Exit`` for a non-zero outcome."""

from __future__ import annotations

import re
from pathlib import Path

from xerolink.errors import ExitCode
from xerolink.results import Result

CLI = Path(__file__).resolve().parents[2] / "src" / "xerolink" / "cli"
SUCCESS = {"typer.Exit()", "typer.Exit(0)", "typer.Exit(int(ExitCode.OK))"}


def test_no_command_exits_non_zero_through_typer() -> None:
    found = {f"{path.name}:{text}" for path in CLI.rglob("*.py")
             for text in re.findall(r"typer\.Exit\([^)]*\)?\)?", path.read_text())}
    assert found, "the --version exit is still there"
    assert {hit.split(":", 1)[1] for hit in found} <= SUCCESS, sorted(found)


def test_each_outcome_knows_its_code() -> None:
    from xerolink.services.connection import NOT_CONNECTED, RUNNING, StatusReport
    from xerolink.services.doctor import OK, PROBLEM, WARNING, Check, Diagnosis
    from xerolink.services.outcomes import Documents

    assert Result().exit_code == ExitCode.OK
    assert StatusReport(RUNNING).exit_code == ExitCode.OK
    assert StatusReport(NOT_CONNECTED).exit_code == ExitCode.NOT_CONNECTED
    assert Documents([], stale=True).exit_code == ExitCode.XERO_UNREACHABLE
    assert Documents([]).exit_code == ExitCode.OK
    assert Diagnosis([Check("a", OK, ""), Check("b", WARNING, "")]).exit_code == ExitCode.OK
    assert Diagnosis([Check("a", PROBLEM, "")]).exit_code == ExitCode.CHECKS_FAILED == 10

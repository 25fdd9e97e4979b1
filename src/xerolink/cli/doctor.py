"""``xerolink doctor``: is this machine and profile ready, and if not, what to do."""

from __future__ import annotations

from typing import Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import ExitCode
from xerolink.render import Column


def register(app: typer.Typer) -> None:
    command(app, "doctor", lists=True, examples=["xerolink doctor",
                                                 "xerolink doctor --offline --json"])(doctor)


def doctor(
    rt: Runtime,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Skip the one Xero call (token check and clock skew).")] = False,
) -> None:
    """Check Python and packages, the keyring, the store, the connection and its tokens,
    the clock against Xero's, rate-limit headroom and access settings.

    Exits 1 when it finds a problem, 0 otherwise (warnings included).
    """
    from xerolink.services import doctor as checks

    diagnosis = rt.app.doctor(offline=offline)
    colours = {checks.PROBLEM: "bold red", checks.WARNING: "yellow"}
    rt.out.records(diagnosis.rows, [Column("check", "Check"), Column("status", "Status"),
                                    Column("detail", "Finding", wrap=True),
                                    Column("action", "What to do", wrap=True)],
                   row_style=lambda r: colours.get(r["status"]))
    if diagnosis.problem:
        raise typer.Exit(int(ExitCode.UNEXPECTED))  # doctor's documented "problem found"

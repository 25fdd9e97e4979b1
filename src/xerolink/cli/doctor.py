"""``xerolink doctor``: is this machine and profile ready, and if not, what to do;
``doctor --repair`` rebuilds a damaged store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column
from xerolink.results import Result

if TYPE_CHECKING:
    from xerolink.services.repair import Repaired


def register(app: typer.Typer) -> None:
    command(app, "doctor", lists=True, examples=["xerolink doctor",
                                                 "xerolink doctor --offline --json",
                                                 "xerolink doctor --repair"])(doctor)


def doctor(
    rt: Runtime,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Skip the one Xero call (token check and clock skew).")] = False,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Rebuild a damaged store from what is readable and its last copy "
        "(the damaged file is kept aside).")] = False,
) -> Result:
    """Check Python and packages, the keyring, the store and its copies, the connection
    and its tokens, the clock against Xero's, rate-limit headroom and access settings.

    Exits 10 when it finds a problem, 0 otherwise (warnings included). With --repair it
    rebuilds a damaged store and says what it recovered, table by table.
    """
    if repair:
        report = rt.app.repair_store()
        rt.out.result(report, human=lambda: _show_repair(rt, report))
        return report
    from xerolink.services import doctor as checks

    diagnosis = rt.app.doctor(offline=offline)
    colours = {checks.PROBLEM: "bold red", checks.WARNING: "yellow"}
    rt.out.records(diagnosis.rows, [Column("check", "Check"), Column("status", "Status"),
                                    Column("detail", "Finding", wrap=True),
                                    Column("action", "What to do", wrap=True)],
                   row_style=lambda r: colours.get(r["status"]))
    return diagnosis


def _show_repair(rt: Runtime, report: Repaired) -> None:
    if not report.repaired:
        for note in report.notes:
            rt.out.line(note)
        return
    rt.out.line(f"Rebuilt {report.store}; the damaged file is kept as {report.damaged_file}")
    rt.out.line(f"Missing rows came from the copy {report.copy_used}" if report.copy_used
                else "No copy was needed" if all(t["whole"] for t in report.tables)
                else "No good copy was found")
    rows = [{**t, "whole": "yes" if t["whole"] else "no"} for t in report.tables
            if t["readable"] or t["from_copy"] or not t["whole"]]
    rt.out.records(rows, [Column("table", "Table"), Column("kind", "Kind"),
                          Column("readable", "From the damaged file"),
                          Column("from_copy", "From the copy"),
                          Column("whole", "Read whole"), Column("dropped", "Dropped")],
                   empty="The store held no rows")
    for note in report.notes:
        rt.out.line(note)

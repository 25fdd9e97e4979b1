"""``xerolink doctor``: is this machine and profile ready, and if not, what to do."""

from __future__ import annotations

from typing import Annotated, Any

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
    from xerolink.tokenstore import token_store_kind

    def live(connection: Any) -> Any:
        gateway = rt.gateway_for(connection)
        return checks.live_check(gateway.connections, lambda: (
            gateway.log.server_date, gateway.log.server_date_seen_at))

    results = checks.diagnose(checks.Inputs(
        open_store=lambda: rt.store, config=lambda: rt.config,
        token_kind=lambda: token_store_kind(rt.config.get("token_store"), rt.env),
        token_store=lambda: rt.token_store, team=lambda: rt.team, user=lambda: rt.user,
        now=rt.clock.now(), live=None if offline else live))
    rows = [{"check": r.name, "status": r.status, "detail": r.detail, "action": r.action}
            for r in results]
    colours = {checks.PROBLEM: "bold red", checks.WARNING: "yellow"}
    rt.out.records(rows, [Column("check", "Check"), Column("status", "Status"),
                          Column("detail", "Finding", wrap=True),
                          Column("action", "What to do", wrap=True)],
                   row_style=lambda r: colours.get(r["status"]))
    if any(r.status == checks.PROBLEM for r in results):
        raise typer.Exit(int(ExitCode.UNEXPECTED))  # doctor's documented "problem found"

"""``xerolink doctor``: is this machine and profile ready, and if not, what to do."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xerolink.cli._runtime import Runtime, command
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

    results: list[Any] = [checks.versions()]
    kind = token_store_kind(rt.config.get("token_store"), rt.env)
    store = rt.store
    connection = store.active_connection()
    if rt.team:
        results.append(checks.Check("token store", checks.OK,
                                    f"the team database ({store.path}), shared by the team"))
    else:
        results.append(checks.keyring_backend(kind, rt.token_store, connection is not None))
    results.append(checks.store_health(store))
    tokens = None
    if connection is not None:
        try:
            tokens = rt.token_store.load(connection.tenant_id)
        except Exception:
            tokens = None
    now = rt.clock.now()
    results += checks.connection_checks(connection, tokens, now)
    if connection is not None and tokens is not None and not offline:
        results.append(_live(rt, connection, checks))
    results.append(checks.rate_limits(store.active_connection()))
    results.append(checks.access_check(store, connection, rt.user))
    rows = [{"check": r.name, "status": r.status, "detail": r.detail, "action": r.action}
            for r in results]
    rt.out.records(rows, [Column("check", "Check"), Column("status", "Status"),
                          Column("detail", "Finding", wrap=True),
                          Column("action", "What to do", wrap=True)])
    if any(r.status == checks.PROBLEM for r in results):
        raise typer.Exit(1)


def _live(rt: Runtime, connection: Any, checks: Any) -> Any:
    """One call: the token works (refreshing it if due), and Xero's clock."""
    from xerolink.errors import XerolinkError

    gateway = rt.gateway_for(connection)
    try:
        gateway.connections()
    except XerolinkError as exc:
        return checks.Check("Xero", checks.PROBLEM, str(exc), "run xerolink connect")
    return checks.clock_skew(gateway.log.server_date, gateway.log.server_date_seen_at)

"""``xerolink access``: who may view Xero data in this profile."""

from __future__ import annotations

from typing import Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column

app = typer.Typer(no_args_is_help=True)

USERS = Annotated[list[str], typer.Argument(help="User names (XEROLINK_USER or login names).")]
COLUMNS = [Column("user", "User"), Column("role", "Role"), Column("granted_by", "Granted by"),
           Column("granted_at", "Granted at")]


@command(app, "list", lists=True, examples=["xerolink access list", "xerolink access list --json"])
def list_access(rt: Runtime) -> None:
    """List the users who may view Xero data, and the admins."""
    from xerolink.services import access

    connection, entries = access.list_entries(rt.store, rt.user)
    rows = [{"user": e.user, "role": e.role, "granted_by": e.granted_by,
             "granted_at": e.granted_at} for e in entries]
    rt.out.records(rows, COLUMNS, title=f"Access to {connection.tenant_name}")


@command(app, "grant", examples=["xerolink access grant bob carol",
                                 "xerolink access grant dana --admin"])
def grant(
    rt: Runtime,
    users: USERS,
    admin: Annotated[bool, typer.Option("--admin", help="Make them admins.")] = False,
) -> None:
    """Let users view Xero data (and, with --admin, manage the connection)."""
    from xerolink.services import access

    change = access.grant(rt.store, rt.user, users, admin=admin, at=rt.clock.now())
    _report(rt, change)


@command(app, "revoke", examples=["xerolink access revoke bob"])
def revoke(rt: Runtime, users: USERS) -> None:
    """Take users' access away. The last admin cannot be revoked."""
    from xerolink.services import access

    _report(rt, access.revoke(rt.store, rt.user, users))


def _report(rt: Runtime, change: object) -> None:
    from xerolink.services.access import AccessChange

    assert isinstance(change, AccessChange)
    if rt.out.is_human:
        verb = f"granted {change.role} access" if change.role else "revoked access"
        names = ", ".join(change.changed) or "nobody"
        rt.out.line(f"{change.tenant_name}: {verb} for {names}")
    else:
        rt.out.json({"tenant_id": change.tenant_id, "users": change.changed,
                     "role": change.role, "revoked": change.role is None})

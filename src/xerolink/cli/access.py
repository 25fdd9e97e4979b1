"""``xerolink access``: who may view Xero data in this profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column

if TYPE_CHECKING:
    from xerolink.services.access import AccessChange

app = typer.Typer(no_args_is_help=True)

USERS = Annotated[list[str], typer.Argument(help="User names (XEROLINK_USER or login names).")]
COLUMNS = [Column("user", "User"), Column("role", "Role"), Column("granted_by", "Granted by"),
           Column("granted_at", "Granted at")]


@command(app, "list", lists=True, examples=["xerolink access list", "xerolink access list --json"])
def list_access(rt: Runtime) -> None:
    """List the users who may view Xero data, and the admins."""
    found = rt.app.access_list()
    rt.out.records(found.rows, COLUMNS, title=found.title)


@command(app, "grant", examples=["xerolink access grant bob carol",
                                 "xerolink access grant dana --admin"])
def grant(
    rt: Runtime,
    users: USERS,
    admin: Annotated[bool, typer.Option("--admin", help="Make them admins.")] = False,
) -> None:
    """Let users view Xero data (and, with --admin, manage the connection)."""
    _report(rt, rt.app.grant(users, admin=admin))


@command(app, "revoke", examples=["xerolink access revoke bob"])
def revoke(rt: Runtime, users: USERS) -> None:
    """Take users' access away. The last admin cannot be revoked."""
    _report(rt, rt.app.revoke(users))


def _report(rt: Runtime, change: AccessChange) -> None:
    def human() -> None:
        verb = f"granted {change.role} access" if change.role else "revoked access"
        names = ", ".join(change.changed) or "nobody"
        rt.out.line(f"{change.tenant_name}: {verb} for {names}")

    rt.out.result(change, human)

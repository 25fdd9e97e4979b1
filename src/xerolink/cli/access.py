"""``xerolink access``: who may view Xero data in this profile, and who may send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column

if TYPE_CHECKING:
    from xerolink.services.access import AccessChange

app = typer.Typer(no_args_is_help=True)

USERS = Annotated[list[str], typer.Argument(help="User names (XEROLINK_USER or login names).")]
COLUMNS = [Column("user", "User"), Column("role", "Role"), Column("may_send", "May send"),
           Column("granted_by", "Granted by"), Column("granted_at", "Granted at")]


@command(app, "list", lists=True, examples=["xerolink access list", "xerolink access list --json"])
def list_access(rt: Runtime) -> None:
    """List the users who may view Xero data, the admins, and who may send.

    May send: whether they may approve documents and send them to customers (admins
    always may; a viewer once granted --send).
    """
    found = rt.app.access_list()
    rt.out.records(found.rows, COLUMNS, title=found.title)


@command(app, "grant", examples=["xerolink access grant bob carol",
                                 "xerolink access grant dana --admin",
                                 "xerolink access grant erin --send"])
def grant(
    rt: Runtime,
    users: USERS,
    admin: Annotated[bool, typer.Option("--admin", help="Make them admins.")] = False,
    send: Annotated[bool, typer.Option(
        "--send", help="Also give them the right to approve and send documents.")] = False,
) -> None:
    """Let users view Xero data (and, with --admin, manage the connection).

    With --send a viewer may also approve documents and send them to customers
    (admins always may). Without it a user's right to send stays as it was; `access
    revoke USER --send` takes it away. A grant never takes an admin down: without
    --admin, naming an admin exits 2 and changes nothing (revoke, then grant again).
    """
    _report(rt, rt.app.grant(users, admin=admin, send=send))


@command(app, "revoke", examples=["xerolink access revoke bob",
                                  "xerolink access revoke erin --send"])
def revoke(
    rt: Runtime,
    users: USERS,
    send: Annotated[bool, typer.Option(
        "--send", help="Take only the right to send; they keep viewing.")] = False,
) -> None:
    """Take users' access away. The last admin cannot be revoked.

    With --send only their right to approve and send goes; an admin's is theirs by
    their role (exit 2, nothing changed). Someone with nothing to revoke: exit 5.
    """
    _report(rt, rt.app.revoke(users, send=send))


def _report(rt: Runtime, change: AccessChange) -> None:
    def human() -> None:
        names = ", ".join(change.changed) or "nobody"
        if change.send_right == "revoked":
            rt.out.line(f"{change.tenant_name}: took the right to send from {names} "
                        f"(they keep {change.role} access)")
            return
        verb = f"granted {change.role} access" if change.role else "revoked access"
        if change.send_right == "granted":
            verb += " and the right to send"
        rt.out.line(f"{change.tenant_name}: {verb} for {names}")

    rt.out.result(change, human)

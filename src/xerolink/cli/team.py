"""``xerolink team``: share links, access settings and the Xero connection through
PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column

app = typer.Typer(no_args_is_help=True)


@command(app, "init", examples=[
    "XEROLINK_DATABASE_URL=postgresql://alice@db.example.com/xerolink xerolink team init"])
def init(rt: Runtime) -> None:
    """Create the team's schema and two roles (viewers, admins), grant their privileges,
    and make your database login an admin. Needs a login that may create roles; safe to
    run again (it also upgrades the schema)."""
    ready = rt.app.team_init()
    rt.out.result(ready, lambda: rt.out.line(
        f"Team database ready: {ready.database} (schema {ready.schema_version}); roles "
        f"{ready.viewers_role} and {ready.admins_role}; {ready.admin} is an admin"))


@command(app, "migrate", lists=True, examples=[
    "xerolink team migrate --from-sqlite ~/.local/share/xerolink/profiles/default/xerolink.db"])
def migrate(
    rt: Runtime,
    from_sqlite: Annotated[Path, typer.Option("--from-sqlite", metavar="PATH",
                                              help="A single-user profile's store.")],
) -> None:
    """Copy a single-user profile (CRM records, links, deal documents, access,
    connection metadata, caches) into the team database. Running it twice changes
    nothing. Tokens are not copied: an admin runs `xerolink connect` once."""
    report = rt.app.team_migrate(from_sqlite.expanduser())
    rt.out.records(report.rows, [Column("table", "Table"),
                                 Column("rows", "Rows", justify="right"),
                                 Column("added", "Added", justify="right")])

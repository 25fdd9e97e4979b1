"""``xerolink team``: share links, access settings and the Xero connection through
PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError
from xerolink.render import Column

app = typer.Typer(no_args_is_help=True)


def _url(rt: Runtime) -> str:
    url = rt.database_url
    if not url:
        raise UsageError("team mode needs a database: set XEROLINK_DATABASE_URL or "
                         "`xerolink config set database_url postgresql://...`")
    return url


@command(app, "init", examples=[
    "XEROLINK_DATABASE_URL=postgresql://alice@db.example.com/xerolink xerolink team init"])
def init(rt: Runtime) -> None:
    """Create the team's schema and two roles (viewers, admins), grant their privileges,
    and make your database login an admin. Needs a login that may create roles; safe to
    run again (it also upgrades the schema)."""
    from xerolink.services import team
    from xerolink.store import open_store

    store = open_store(rt.profile, _url(rt), migrate=True)
    try:
        report = team.init(store)
    finally:
        store.close()
    if rt.out.is_human:
        rt.out.line(f"Team database ready: {report['database']} (schema "
                    f"{report['schema_version']}); roles {report['viewers_role']} and "
                    f"{report['admins_role']}; {report['admin']} is an admin")
    else:
        rt.out.json(report)


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
    from xerolink.services import team

    _url(rt)
    report = team.migrate_from_sqlite(rt.store, from_sqlite.expanduser())
    rows = [{"table": table, **counts} for table, counts in report.items()]
    rt.out.records(rows, [Column("table", "Table"), Column("rows", "Rows", justify="right"),
                          Column("added", "Added", justify="right")])

"""Team mode: a shared PostgreSQL store. ``init`` prepares the database; ``migrate``
moves a single-user profile into it (running it twice changes nothing)."""

from __future__ import annotations

from pathlib import Path

from xerolink.errors import NotFoundError, PermissionDeniedError
from xerolink.services.outcomes import Rows, TeamReady
from xerolink.store import Store


def init(store: Store) -> TeamReady:
    viewers, admins = store.initialise_team()
    return TeamReady(store.path, store.schema_version(), viewers, admins, store.login)


def migrate_from_sqlite(store: Store, path: Path) -> Rows:
    """Every table's rows copied, and how many were new: one row per table."""
    from xerolink.store.sqlite import SqliteStore

    if store.role_of("", store.login) != "admin":
        raise PermissionDeniedError("only a team admin can migrate a profile into the team "
                                    "database")
    if not path.is_file():
        raise NotFoundError(f"no SQLite store at {path}")
    source = SqliteStore(path)
    try:
        report = []
        for table in store.COPY_ORDER:
            columns, rows = source.export_table(table)
            added = store.import_rows(table, columns, rows)
            report.append({"table": table, "rows": len(rows), "added": added})
        return Rows(report)
    finally:
        source.close()

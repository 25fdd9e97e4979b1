"""Team mode: a shared PostgreSQL store. ``init`` prepares the database; ``migrate``
moves a single-user profile into it (running it twice changes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xerolink.errors import NotFoundError, PermissionDeniedError


def init(store: Any) -> dict[str, Any]:
    viewers, admins = store.initialise_team()
    return {"database": store.path, "schema_version": store.schema_version(),
            "viewers_role": viewers, "admins_role": admins, "admin": store.login}


def migrate_from_sqlite(store: Any, path: Path) -> dict[str, dict[str, int]]:
    from xerolink.store.sqlite import SqliteStore

    if store.role_of("", store.login) != "admin":
        raise PermissionDeniedError("only a team admin can migrate a profile into the team "
                                    "database")
    if not path.is_file():
        raise NotFoundError(f"no SQLite store at {path}")
    source = SqliteStore(path)
    try:
        report = {}
        for table in store.COPY_ORDER:
            columns, rows = source.export_table(table)
            added = store.import_rows(table, columns, rows)
            report[table] = {"rows": len(rows), "added": added}
        return report
    finally:
        source.close()

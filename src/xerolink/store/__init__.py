"""The local store: every SQL statement xerolink runs lives in this package.

Callers use ``open_store`` and the store's named operations; nothing outside this
package knows which database engine is underneath: SQLite (one file per profile, the
default) or PostgreSQL (a team's shared database, ``XEROLINK_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Mapping

from xerolink.errors import UsageError
from xerolink.profile import Profile
from xerolink.store.sql import SqlStore, StoreError
from xerolink.store.sqlite import SqliteStore

Store = SqlStore

__all__ = ["SqliteStore", "Store", "StoreError", "database_url", "open_store"]


def database_url(config_value: str | None, env: Mapping[str, str]) -> str | None:
    url = env.get("XEROLINK_DATABASE_URL") or config_value
    return url.strip() if url else None


def open_store(profile: Profile, url: str | None = None, *, migrate: bool = False) -> Store:
    if url:
        try:
            from xerolink.store.postgres import PostgresStore
        except ImportError:  # pragma: no cover - depends on the installation
            raise UsageError("team mode needs psycopg: pip install 'xerolink[team]'") from None
        return PostgresStore(url, migrate=migrate)
    profile.ensure_dirs()
    return SqliteStore(profile.store_path)

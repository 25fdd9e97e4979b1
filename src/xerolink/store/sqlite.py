"""The SQLite engine: one file per profile (the single-user default).

WAL lets readers work while one process writes; every write runs inside
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of
failing half-way; the file is created 0600 before SQLite ever opens it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from xerolink.store.migrations import MIGRATIONS
from xerolink.store.sql import BUSY_TIMEOUT_MS, SqlStore, StoreError


def _statements(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]}")
    return statements


class SqliteStore(SqlStore):
    engine = "sqlite"

    def __init__(self, path: Path, *, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        try:
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate(migrations)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the store {path}: {exc}; `xerolink doctor` checks it"
            ) from exc

    def _use_wal(self) -> None:
        """Switch a new file to WAL (persistent). Two processes creating the same file
        can race here, and SQLite answers that race with an immediate "locked" rather
        than waiting, so it is retried, boundedly."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    # -- plumbing -------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: a write lock from the start, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def _migrate(self, migrations: Sequence[str]) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):  # written by a newer xerolink
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this "
                f"xerolink understands ({len(MIGRATIONS)}); upgrade xerolink"
            )
        if current >= len(migrations):
            return
        with self.transaction() as db:
            # Re-read inside the lock: another process may have migrated meanwhile.
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for version in range(current, len(migrations)):
                for statement in _statements(migrations[version]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def durable_writes(self) -> None:
        self._db.execute("PRAGMA synchronous = FULL")  # WAL: fsync at every commit

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def table_counts(self) -> dict[str, int]:
        names = [
            r[0]
            for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        # Table names come from sqlite_master, never from input.
        return {n: self._db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]  # noqa: S608
                for n in names}


"""The SQLite engine: one file per profile (the single-user default).

WAL lets readers work while one process writes; every write runs inside
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of
failing half-way; the file is created 0600 before SQLite ever opens it.

A damaged file (a bad page, a file that is not a database) is met here, the only
place that runs SQL: every statement goes through ``_Guarded``, which turns SQLite's
"malformed" and "not a database" into ``StoreDamagedError`` (exit 11, naming the file
and ``xerolink doctor --repair``), whichever command meets it. After a transaction that
changed what only the store holds (links, deal documents, access, settings, which
connections exist), a copy is taken (``backup.take_copy``) for the repair.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from xerolink.errors import StoreDamagedError
from xerolink.store import backup
from xerolink.store.base import DamagedStore
from xerolink.store.lease import FileLease, Lease
from xerolink.store.migrations import MIGRATIONS
from xerolink.store.sql import BUSY_TIMEOUT_MS, SqlStore, StoreError

IN_MEMORY = Path(":memory:")  # SQLite's name for a private database in memory
COPY_INTERVAL = 2.0  # seconds: changes closer together are copied once, at close
_WATCH = [(t, op) for t in backup.WATCHED for op in ("INSERT", "UPDATE", "DELETE")] + [
    ("connections", "INSERT"), ("connections", "DELETE"), ("connections", "UPDATE OF active")]


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


class _MigratedInMemory:
    """The latest schema, migrated once per process into a database in memory, and
    copied (SQLite's backup, a few pages) into each new store in memory: the fast tests
    make hundreds, and running every migration was most of each one's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._template: sqlite3.Connection | None = None

    def copy_into(self, target: sqlite3.Connection) -> None:
        with self._lock:
            if self._template is None:
                # Not MIGRATIONS itself (a copy of it): this one runs them.
                store = SqliteStore(IN_MEMORY, keep_copies=False, migrations=tuple(MIGRATIONS))
                self._template = store._db.raw
            self._template.backup(target)


_MIGRATED_IN_MEMORY = _MigratedInMemory()


def damaged(path: Path, exc: BaseException) -> DamagedStore:
    """The one line every command prints for a damaged store."""
    return DamagedStore(path, _short(exc))


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite opens it. Only when missing: closing any
    descriptor of the file drops every POSIX lock this process holds on it, SQLite's for
    another store open on it included (the service's, when the webhook receiver opens its
    own); the next command to close its store then deletes the WAL under it.

    A folder where the file should be is a damaged store (exit 11, which ``doctor
    --repair`` moves aside); a file this user may not open is a permission problem (exit
    12, with the fix), never a crash."""
    from xerolink.errors import StoreUnreachableError

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.is_dir():
            raise DamagedStore(path, "it is a folder, not a database file")
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        if not os.access(path, os.R_OK | os.W_OK):
            raise PermissionError(13, "Permission denied", str(path))
    except IsADirectoryError as exc:
        raise DamagedStore(path, "it is a folder, not a database file") from exc
    except PermissionError as exc:
        raise StoreUnreachableError(
            f"the store {path} cannot be opened: permission denied",
            f"it must belong to you and be readable and writable by you: chown $USER "
            f"{path} && chmod 600 {path}") from exc
    except OSError as exc:
        raise StoreUnreachableError(
            f"the store {path} cannot be opened ({exc.strerror or exc})",
            "check the profile folder (XEROLINK_HOME) and the disk") from exc


class _Cursor:
    """A cursor whose reads report damage as ``StoreDamagedError``."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path) -> None:
        self._cursor, self._path = cursor, path

    def _guard(self, read: Any) -> Any:
        try:
            return read()
        except sqlite3.DatabaseError as exc:
            if backup.is_damage(exc):
                raise damaged(self._path, exc) from exc
            raise

    def fetchone(self) -> Any:
        return self._guard(self._cursor.fetchone)

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._guard(self._cursor.fetchall)
        return rows

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._cursor  # the C iterator: listings of 100,000 rows stay fast
        except sqlite3.DatabaseError as exc:
            if backup.is_damage(exc):
                raise damaged(self._path, exc) from exc
            raise

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description


class _Guarded:
    """The connection as the table modules see it: ``execute`` and ``executemany``."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.raw, self._path = db, path

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Cursor:
        try:
            return _Cursor(self.raw.execute(sql, args), self._path)
        except sqlite3.DatabaseError as exc:
            if backup.is_damage(exc):
                raise damaged(self._path, exc) from exc
            raise

    def executemany(self, sql: str, rows: Any) -> _Cursor:
        try:
            return _Cursor(self.raw.executemany(sql, rows), self._path)
        except sqlite3.DatabaseError as exc:
            if backup.is_damage(exc):
                raise damaged(self._path, exc) from exc
            raise

    def close(self) -> None:
        self.raw.close()


class SqliteStore(SqlStore):
    engine = "sqlite"

    def __init__(self, path: Path, *, migrations: Sequence[str] = MIGRATIONS,
                 keep_copies: bool = True) -> None:
        self.path = path
        self._keep_copies, self._copy_due, self._copied_at = keep_copies, False, 0.0
        self._watching, self._changes_seen, self._closed = False, 0, False
        if path != IN_MEMORY:
            _create_private(path)
        try:
            raw = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        raw.row_factory = sqlite3.Row
        self._db = _Guarded(raw, path)
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            if path == IN_MEMORY and migrations is MIGRATIONS:
                _MIGRATED_IN_MEMORY.copy_into(raw)  # then there is nothing left to migrate
            self._migrate(migrations)
            if keep_copies:
                self._watch()
        except StoreDamagedError:
            raw.close()
            raise
        except sqlite3.DatabaseError as exc:
            raw.close()
            raise StoreError(
                f"cannot open the store {path}: {exc}; `xerolink doctor` checks it"
            ) from exc

    @classmethod
    def in_memory(cls) -> SqliteStore:
        """The real schema, migrations and SQL on a private database in memory: the
        fast tests' store. Nothing is on disk, so there are no copies to keep (and no
        lease folder): it lives as long as this object."""
        return cls(IN_MEMORY, keep_copies=False)

    def _use_wal(self) -> None:
        """Switch a new file to WAL (persistent). Two processes creating the same file
        can race here, and SQLite answers that race with an immediate "locked" rather
        than waiting, so it is retried, boundedly."""
        if self.path == IN_MEMORY:  # its journal is in memory too: WAL does not apply
            return
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

    def _watch(self) -> None:
        """Count changes to what only the store holds, in this connection's own TEMP
        schema (nothing is written to the file): the copy is taken only when it moved."""
        present = {r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._db.execute("CREATE TEMP TABLE xerolink_changes (n INTEGER NOT NULL)")
        self._db.execute("INSERT INTO xerolink_changes VALUES (0)")
        for number, (table, operation) in enumerate(_WATCH):
            if table not in present:  # an older schema, in tests of the migrations
                continue
            # Names and operations are this module's constants, never input.
            trigger = (f"CREATE TEMP TRIGGER xerolink_watch_{number} AFTER {operation} "  # noqa: S608
                       f"ON main.{table} BEGIN UPDATE xerolink_changes SET n = n + 1; END")
            self._db.execute(trigger)
        self._changes_seen = self._db.raw.total_changes
        self._watching = True

    # -- plumbing -------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """All-or-nothing: a write lock from the start, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.raw.in_transaction:  # SQLite may have rolled back already
                with contextlib.suppress(sqlite3.Error, StoreDamagedError):
                    self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
            self._after_commit()

    def _after_commit(self) -> None:
        if not self._changed_since_copy():
            return
        self._copy_due = True
        if time.monotonic() - self._copied_at >= COPY_INTERVAL:
            with contextlib.suppress(OSError):  # a full disk: close tries again
                self.take_copy()

    def take_copy(self) -> Path:
        """Copy the store now (what a change to links, access... does by itself)."""
        if self.path == IN_MEMORY:
            raise StoreError("a store in memory has no file to copy")
        self._copied_at = time.monotonic()
        try:
            made = backup.take_copy(self._db.raw, self.path)
        except backup.CopyFailed as exc:  # the store's own pages fail the check
            self._copy_due = False  # trying again at close would find the same
            raise DamagedStore(self.path, "the change was saved, but copying the store "
                               f"found damage: {_short(exc)}") from None
        # Reset only once written: a copy that failed (a full disk) is still due.
        self._db.execute("UPDATE xerolink_changes SET n = 0")
        self._copy_due = False
        return made

    def close(self) -> None:
        """Take a copy still due (changes close together, or made outside
        ``transaction``). Closing never fails a command that has done its work: a store
        found damaged here keeps its older copies, and the next command reports it.
        Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._copy_due or self._changed_since_copy():
                with contextlib.suppress(OSError, StoreDamagedError):
                    self.take_copy()
        finally:
            self._db.close()

    def record_rate_limits(self, tenant_id: str, limits_json: str) -> None:
        """Bookkeeping written as a command ends, after its answer: a damaged page met
        here must not turn a finished command into a crash (the next command that
        reads that page, and doctor, report it)."""
        with contextlib.suppress(DamagedStore):
            super().record_rate_limits(tenant_id, limits_json)

    def _changed_since_copy(self) -> bool:
        if not self._watching or self._db.raw.total_changes == self._changes_seen:
            return False
        self._changes_seen = self._db.raw.total_changes
        with contextlib.suppress(StoreDamagedError):
            return bool(self._db.execute("SELECT n FROM xerolink_changes").fetchone()[0])
        return False

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

    def lease(self, name: str) -> Lease:
        """The profile's lease ``name``: a file lock in its lock folder (the profile's
        ``locks``, beside this file)."""
        if self.path == IN_MEMORY:
            raise StoreError("a store in memory has no lock folder")
        return FileLease(Path(self.path).parent / "locks", name)

    def durable_writes(self) -> None:
        self._db.execute("PRAGMA synchronous = FULL")  # WAL: fsync at every commit

    def integrity_check(self) -> str:
        """"ok", or every problem SQLite found (the first ten, and how many)."""
        found = [str(r[0]) for r in self._db.execute("PRAGMA integrity_check(100)")]
        if found == ["ok"]:
            return "ok"
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        return "; ".join(found[:10]) + more

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

    def copies(self) -> list[Path]:
        return backup.copies(self.path)


def _remove_rebuilding(fresh_path: Path) -> None:
    for leftover in (fresh_path, Path(f"{fresh_path}-wal"), Path(f"{fresh_path}-shm"),
                     Path(f"{fresh_path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def repair(path: Path, stamp: str) -> backup.Rebuilt:
    """Rebuild the damaged store at ``path`` (see ``backup.rebuild``), then copy the
    rebuilt one. ``stamp`` names the damaged file kept aside."""
    fresh_path = path.with_name(f"{path.name}.rebuilding")
    _remove_rebuilding(fresh_path)  # an earlier repair's, if it was killed outright
    fresh: SqliteStore | None = None
    try:
        fresh = SqliteStore(fresh_path, keep_copies=False)
        fresh._db.execute("PRAGMA journal_mode = DELETE")  # one file, to move into place
        rebuilt = backup.rebuild(path, fresh._db.raw, fresh_path, stamp)
    except BaseException:  # Ctrl-C included: leave no half-built store behind
        if fresh is not None:
            with contextlib.suppress(sqlite3.Error):
                fresh._db.raw.close()
        _remove_rebuilding(fresh_path)
        raise
    store = SqliteStore(path)
    try:
        store.take_copy()
    finally:
        store.close()
    return rebuilt

"""The store's copies, and rebuilding a damaged store (SQLite, one profile's file).

What Xero or the CRM cannot give back (links, deal documents, access, settings) lives
only in the store, so one bad page must not lose it. After a transaction that changed
those tables the store writes a copy with SQLite's online backup API: a temporary file
(0600) checked with ``quick_check`` and renamed into ``store-copies/`` beside the store,
the newest ``KEEP`` kept. ``rebuild`` makes a fresh store from every row still readable
in the damaged file, table by table, and fills what is missing from the newest good
copy; the damaged file is moved aside, never deleted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

COPIES_FOLDER = "store-copies"
KEEP = 3
WATCHED = ("links", "deal_documents", "access", "settings")  # what only the store holds
# Re-read from Xero on the next refresh: kept only when every one of them read whole,
# since a watermark in sync_state must not outlive the documents it vouches for.
CACHE = ("xero_documents", "contact_refreshes", "sync_state", "xero_contacts",
         "xero_payments", "xero_credits")
# Re-read from the CRM source: filled from the copy, and a full pull is asked for
# (the pull watermarks are dropped) when any of them lost rows.
CRM = ("crm_companies", "crm_contacts", "crm_deals", "crm_deal_participants",
       "crm_source_records")
CRM_WATERMARKS = "crm_pulls"
PROBES_PER_TABLE = 20_000  # the skip-ahead over damaged pages is bounded
ROWID_MAX = 2**63 - 1


def is_damage(exc: BaseException) -> bool:
    """A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB, text that is not UTF-8), as
    opposed to a busy lock or a full disk."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (11, 26):
        return True
    text = str(exc).lower()
    return any(w in text for w in ("malformed", "not a database", "could not decode",
                                   "corrupt"))


# -- copies -----------------------------------------------------------------------------
def copies_folder(store_path: Path) -> Path:
    return store_path.parent / COPIES_FOLDER


def copies(store_path: Path) -> list[Path]:
    """The copies, newest first."""
    folder = copies_folder(store_path)
    try:
        found = [p for p in folder.iterdir() if p.name.startswith("copy-")
                 and p.suffix == ".db"]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


class CopyFailed(Exception):
    """The copy just written does not pass its check: the store itself is damaged."""


def take_copy(db: sqlite3.Connection, store_path: Path) -> Path:
    """Back the store up into a new copy, atomically, then keep the newest ``KEEP``."""
    folder = copies_folder(store_path)
    folder.mkdir(mode=0o700, exist_ok=True)
    name = f"copy-{time.time_ns():020d}-{os.getpid()}.db"
    temporary = folder / f".{name}.tmp"
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        _backup_into(db, temporary)
        final = folder / name
        os.replace(temporary, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _fsync_folder(folder)
    for old in copies(store_path)[KEEP:]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return final


def _backup_into(db: sqlite3.Connection, target: Path) -> None:
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        db.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        ok = check(dest)
    except sqlite3.DatabaseError as exc:
        raise CopyFailed(str(exc)) from exc
    finally:
        dest.close()
    if ok != "ok":
        raise CopyFailed(ok)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check(db: sqlite3.Connection) -> str:
    """"ok" when every table a repair takes from a copy (all but the cache, which Xero
    gives back and which is most of a large store) passes ``quick_check``."""
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        if table in CACHE:
            continue
        found = db.execute(f'PRAGMA quick_check("{table}")').fetchone()[0]
        if found != "ok":
            return str(found)
    return "ok" if tables else "no tables"


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- reading what is readable -------------------------------------------------------------
@dataclass
class TableRead:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    whole: bool = True  # False: a damaged page (or the table's schema) was skipped


def open_read_only(path: Path) -> sqlite3.Connection:
    """Read a file without changing it; with no WAL beside it, without even the lock
    files SQLite would create (a WAL holds committed pages, so it is then read too)."""
    still = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro{still}", uri=True, isolation_level=None)
    db.execute("PRAGMA query_only = ON")
    return db


def read_table(db: sqlite3.Connection, table: str, columns: list[str]) -> TableRead:
    """Every row of ``table`` that can still be read, in rowid order, skipping over
    damaged pages (a seek past a bad leaf reaches the next good one)."""
    try:
        present = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
    except sqlite3.DatabaseError:
        return TableRead(columns, whole=False)
    if not present:
        return TableRead(columns, whole=False)
    chosen = [c for c in columns if c in present]
    found = TableRead(chosen)
    # Names come from the fresh store's own schema, never from input.
    select = (f"SELECT rowid, {', '.join(chosen)} FROM \"{table}\" "  # noqa: S608
              "WHERE rowid > ? ORDER BY rowid")
    position, probes = 0, 0
    while True:
        try:
            for row in db.execute(select, (position,)):
                found.rows.append(tuple(row[1:]))
                position = row[0]
            return found
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            found.whole = False
            resume, used = _next_readable(db, select, position)
            probes += used
            if resume is None or probes > PROBES_PER_TABLE:
                return found
            position = resume


def _next_readable(db: sqlite3.Connection, select: str, after: int
                   ) -> tuple[int | None, int]:
    """The position (a rowid to read after) past the damage that stopped a scan after
    ``after``; None when nothing further can be read. Returns it and the probes used."""
    def readable(start: int) -> bool | None:
        """True: a row from ``start`` on reads; None: no row from there on at all."""
        try:
            row = db.execute(select + " LIMIT 1", (start - 1,)).fetchone()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            return False
        return None if row is None else True

    bad, step, probes = after + 1, 1, 0
    while True:  # gallop to a start that reads (at most 64 doublings)
        probe = min(after + 1 + step, ROWID_MAX)
        probes += 1
        answer = readable(probe)
        if answer is None:
            return None, probes
        if answer:
            break
        bad = probe
        if probe == ROWID_MAX:
            return None, probes
        step *= 2
    good = probe
    while good - bad > 1:  # the first start that reads, between the two
        middle = (bad + good) // 2
        probes += 1
        answer = readable(middle)
        if answer is False:
            bad = middle
        else:
            good = middle
    return good - 1, probes


# -- rebuilding ---------------------------------------------------------------------------
@dataclass
class TableRecovery:
    table: str
    readable: int  # rows read from the damaged file
    from_copy: int  # rows the copy had that the damaged file no longer gave
    whole: bool  # the damaged file gave the whole table
    dropped: int = 0  # cache rows dropped, to be read again from Xero


@dataclass
class Rebuilt:
    store: Path
    damaged_aside: Path
    copy_used: Path | None
    tables: list[TableRecovery]
    notes: list[str]


def rebuild(store_path: Path, fresh: sqlite3.Connection, fresh_path: Path,
            stamp: str) -> Rebuilt:
    """Move the damaged store aside, fill ``fresh`` (a new, migrated store at
    ``fresh_path``) from it and from the newest good copy, and put it in place."""
    aside = _move_aside(store_path, stamp)
    try:
        return _rebuild(store_path, aside, fresh, fresh_path)
    except BaseException:
        if not store_path.exists():  # put the damaged file back, as it was
            _move(aside, store_path)
        raise


def _rebuild(store_path: Path, aside: Path, fresh: sqlite3.Connection, fresh_path: Path
             ) -> Rebuilt:
    tables = [r[0] for r in fresh.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    columns = {t: [r[1] for r in fresh.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    fresh.execute("PRAGMA foreign_keys = OFF")  # a link outlives its missing contact
    recovered = _from_damaged(aside, fresh, tables, columns)
    copy_used = _fill_from_copy(store_path, fresh, tables, columns, recovered)
    notes = _settle(fresh, recovered, copy_used)
    ok = fresh.execute("PRAGMA integrity_check").fetchone()[0]
    if ok != "ok":  # pragma: no cover - a fresh file written just now
        raise CopyFailed(f"the rebuilt store fails its check: {ok}")
    fresh.close()
    os.replace(fresh_path, store_path)
    _fsync_folder(store_path.parent)
    return Rebuilt(store_path, aside, copy_used, [recovered[t] for t in tables], notes)


def _move_aside(store_path: Path, stamp: str) -> Path:
    aside = store_path.with_name(f"{store_path.name}.damaged-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = store_path.with_name(f"{store_path.name}.damaged-{stamp}-{number}")
    _move(store_path, aside)
    return aside


def _move(source: Path, target: Path) -> None:
    """Rename a store file, its WAL with it (the WAL holds committed pages)."""
    os.replace(source, target)
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{source}{suffix}")
        if companion.exists():
            os.replace(companion, Path(f"{target}{suffix}"))


def _from_damaged(aside: Path, fresh: sqlite3.Connection, tables: list[str],
                  columns: dict[str, list[str]]) -> dict[str, TableRecovery]:
    recovered = {}
    try:
        damaged: sqlite3.Connection | None = open_read_only(aside)
    except sqlite3.DatabaseError:
        damaged = None
    try:
        for table in tables:
            read = (TableRead(columns[table], whole=False) if damaged is None
                    else _read_or_nothing(damaged, table, columns[table]))
            added = _insert(fresh, table, read)
            recovered[table] = TableRecovery(table, added, 0, read.whole)
    finally:
        if damaged is not None:
            damaged.close()
    return recovered


def _read_or_nothing(db: sqlite3.Connection, table: str, columns: list[str]) -> TableRead:
    try:
        return read_table(db, table, columns)
    except sqlite3.DatabaseError:  # a fault the skip-ahead cannot get past
        return TableRead(columns, whole=False)


def _insert(fresh: sqlite3.Connection, table: str, read: TableRead) -> int:
    if not read.rows or not read.columns:
        return 0
    marks = ", ".join("?" * len(read.columns))
    sql = (f'INSERT OR IGNORE INTO "{table}" ({", ".join(read.columns)}) '  # noqa: S608
           f"VALUES ({marks})")
    with _transaction(fresh):
        before = fresh.total_changes
        fresh.executemany(sql, read.rows)
        return fresh.total_changes - before


def _fill_from_copy(store_path: Path, fresh: sqlite3.Connection, tables: list[str],
                    columns: dict[str, list[str]], recovered: dict[str, TableRecovery]
                    ) -> Path | None:
    if all(r.whole for r in recovered.values()):
        return None  # nothing was lost: the copy is older than what was read
    for candidate in copies(store_path):
        try:
            db = open_read_only(candidate)
            try:
                if check(db) != "ok":
                    continue
                for table in tables:
                    if table in CACHE:
                        continue
                    read = read_table(db, table, columns[table])
                    recovered[table].from_copy = _insert(fresh, table, read)
            finally:
                db.close()
        except sqlite3.DatabaseError:
            continue
        return candidate
    return None


def _settle(fresh: sqlite3.Connection, recovered: dict[str, TableRecovery],
            copy_used: Path | None) -> list[str]:
    """Make the rebuilt store consistent with what was lost, and say what to do."""
    notes = []
    if not all(recovered[t].whole for t in CACHE if t in recovered):
        with _transaction(fresh):
            for table in CACHE:
                if table in recovered:
                    recovered[table].dropped = recovered[table].readable
                    fresh.execute(f'DELETE FROM "{table}"')  # noqa: S608 - a fixed name
        notes.append("the cache of Xero documents and contacts was damaged and is emptied: "
                     "summaries read Xero again (xerolink refresh --all fills it at once)")
    if not all(recovered[t].whole for t in CRM if t in recovered):
        with _transaction(fresh):
            fresh.execute(f'DELETE FROM "{CRM_WATERMARKS}"')  # noqa: S608 - a fixed name
        notes.append("CRM records were damaged: the next `xerolink crm pull` reads "
                     "everything again (CRM files can be imported again)")
    orphans = fresh.execute("SELECT count(*) FROM links l WHERE NOT EXISTS (SELECT 1 FROM "
                            "crm_contacts c WHERE c.id = l.crm_contact_id)").fetchone()[0]
    if orphans:
        notes.append(f"{orphans} links are kept whose CRM contact was lost: they show again "
                     "once `xerolink crm pull` or `crm import` brings the contact back")
    lost_watched = [t for t in WATCHED if t in recovered and not recovered[t].whole]
    if lost_watched and copy_used is None:
        notes.append("no good copy was found: rows on the damaged pages of "
                     f"{', '.join(lost_watched)} could not be recovered")
    return notes


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def stamp_of(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")

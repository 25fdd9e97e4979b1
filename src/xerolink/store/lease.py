"""Leases: one holder at a time of a named job (a CRM pass), whoever else tries.

SQLite (one profile on one machine): an OS file lock in the profile's lock folder,
which the kernel drops the moment its process ends, with the holder's details in a
file beside it. PostgreSQL (a team): a row of the ``leases`` table taken by a single
atomic statement, with an expiry on the database's clock renewed while the job runs.
A row, not a session advisory lock, so that it works through a pooler in transaction
mode (pgbouncer), where no session outlives a statement.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a lease: their login, machine and process, since when, and until when
    (``None``: a file lock, held until its process ends)."""

    user: str
    host: str
    pid: int
    since: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True)
class LeaseAnswer:
    taken: bool  # True: the caller holds it now
    holder: LeaseHolder | None  # whoever holds it; None when it could not be told


class Lease:
    """One named lease, as one caller sees it: ``take``, ``renew`` while working,
    ``release`` at the end, ``close`` always."""

    def take(self, user: str, host: str, pid: int, ttl_seconds: float) -> LeaseAnswer:
        raise NotImplementedError

    def renew(self, ttl_seconds: float) -> bool:
        """Push the expiry on; False if the lease is no longer this caller's."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free what the lease holds open (its connection); releases nothing."""


class FileLease(Lease):
    """A file lock per profile: the kernel is the arbiter, and a killed process loses
    it at once, so there is nothing to expire or renew."""

    def __init__(self, folder: Path, name: str) -> None:
        from filelock import FileLock

        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.info = folder / f"{name}.lease.json"
        self.lock = FileLock(str(folder / f"{name}.lease.lock"), mode=0o600,
                             thread_local=False)

    def take(self, user: str, host: str, pid: int, ttl_seconds: float) -> LeaseAnswer:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            return LeaseAnswer(False, self._holder_soon())
        me = LeaseHolder(user, host, pid, datetime.now(UTC))
        self._write(me)
        return LeaseAnswer(True, me)

    def renew(self, ttl_seconds: float) -> bool:
        return self.lock.is_locked

    def release(self) -> None:
        if self.lock.is_locked:
            with contextlib.suppress(FileNotFoundError):
                self.info.unlink()
            self.lock.release(force=True)

    def _write(self, me: LeaseHolder) -> None:
        partial = self.info.with_suffix(".partial")
        fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"user": me.user, "host": me.host, "pid": me.pid,
                       "since": me.since.isoformat()}, handle)
        partial.replace(self.info)

    def _holder_soon(self) -> LeaseHolder | None:
        """The holder's details, waiting up to a second for a holder that has just taken
        the lock to write them (the lock is taken before the details are written); None
        if they never come (a holder that let go meanwhile)."""
        import time

        for _ in range(50):
            holder = self._holder()
            if holder is not None:
                return holder
            time.sleep(0.02)
        return self._holder()

    def _holder(self) -> LeaseHolder | None:
        """The holder's details; None if not written yet (the holder is a moment old)
        or unreadable."""
        try:
            data = json.loads(self.info.read_text(encoding="utf-8"))
            return LeaseHolder(str(data["user"]), str(data["host"]), int(data["pid"]),
                               datetime.fromisoformat(str(data["since"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None


# Taken only when free or expired, in one statement: two takers can never both see
# it free. Times are the database's (now()), never a machine's clock.
TAKE = (
    "INSERT INTO leases (name, token, holder, host, pid, acquired_at, expires_at) "
    "VALUES (?, ?, current_user, ?, ?, now(), now() + make_interval(secs => ?)) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token, holder = excluded.holder, "
    "host = excluded.host, pid = excluded.pid, acquired_at = excluded.acquired_at, "
    "expires_at = excluded.expires_at WHERE leases.expires_at < now() "
    "RETURNING holder, host, pid, acquired_at, expires_at")
HELD = "SELECT holder, host, pid, acquired_at, expires_at FROM leases WHERE name = ?"
RENEW = ("UPDATE leases SET expires_at = now() + make_interval(secs => ?) "
         "WHERE name = ? AND token = ? RETURNING name")
RELEASE = "DELETE FROM leases WHERE name = ? AND token = ?"


class RowLease(Lease):
    """A row of the team database's ``leases`` table, on a connection of its own (so
    that renewing never waits on, or joins, the job's own transactions)."""

    def __init__(self, connect: Any, name: str) -> None:
        self.db = connect()
        self.name = name
        self.token = uuid.uuid4().hex

    def take(self, user: str, host: str, pid: int, ttl_seconds: float) -> LeaseAnswer:
        for _ in range(3):  # a holder releasing between the two statements: look again
            row = self.db.execute(TAKE, (self.name, self.token, host, pid,
                                         float(ttl_seconds))).fetchone()
            if row is not None:
                return LeaseAnswer(True, _holder(row))
            row = self.db.execute(HELD, (self.name,)).fetchone()
            if row is not None:
                return LeaseAnswer(False, _holder(row))
        return LeaseAnswer(False, None)

    def renew(self, ttl_seconds: float) -> bool:
        return self.db.execute(RENEW, (float(ttl_seconds), self.name,
                                       self.token)).fetchone() is not None

    def release(self) -> None:
        self.db.execute(RELEASE, (self.name, self.token))

    def close(self) -> None:
        self.db.close()


def _holder(row: Any) -> LeaseHolder:
    return LeaseHolder(str(row[0]), str(row[1]), int(row[2]), row[3], row[4])

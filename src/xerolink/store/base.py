"""The store's foundation, shared by every table module and both engines: errors,
the connection and transaction hooks each engine supplies, the engine-specific
operations every store declares, settings, and turning rows into records."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from xerolink.errors import StoreDamagedError, UsageError, XerolinkError
from xerolink.store.lease import Lease
from xerolink.store.migrations import SCHEMA_VERSION
from xerolink.store.models import (
    CachedDocument,
    Connection,
    CrmContact,
    Link,
    XeroContact,
)

BUSY_TIMEOUT_MS = 30_000
IN_CHUNK = 500  # values bound in one IN (...) list: under SQLite's parameter limit
Row = Any  # a row that answers by column name and by position, in either engine


class StoreError(XerolinkError):
    """The store cannot be used (locked too long, corrupt, newer schema)."""


class LastAdminError(UsageError):
    pass


class DamagedStore(StoreDamagedError):
    """The store file is damaged: one line naming it, the damage, and the repair."""

    def __init__(self, path: Any, reason: str) -> None:
        super().__init__(
            f"the store {path} is damaged ({reason}); run `xerolink doctor --repair` to "
            "rebuild it from what is readable and its last copy (the damaged file is kept "
            "aside)")
        self.path, self.reason = path, reason


def chunks_in(values: Sequence[str]) -> Iterator[tuple[str, Sequence[str]]]:
    """``values`` a chunk at a time for an ``IN (...)`` list: the chunk's placeholders
    (``?,?,?``) and its values. A statement per chunk, never one past the limit."""
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        yield ",".join("?" * len(chunk)), chunk


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class SqlBase:
    """What every engine supplies (``_db``: ``execute``, ``executemany``; transactions;
    migrations) and the operations only an engine can do, declared here so callers are
    typed against any store."""

    _db: Any
    engine = "sql"
    path: Any  # the SQLite file, or the PostgreSQL URL without its password

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover - engines implement it

    def schema_version(self) -> int:
        raise NotImplementedError

    @staticmethod
    def latest_schema_version() -> int:
        return SCHEMA_VERSION

    def durable_writes(self) -> None:
        """Make each commit of this connection survive a power cut, not only a crash
        (the webhook receiver's promise to Xero). PostgreSQL's commits already do."""

    def integrity_check(self) -> str:
        """"ok", or what the engine found wrong."""
        raise NotImplementedError

    def table_counts(self) -> dict[str, int]:
        raise NotImplementedError

    def copies(self) -> list[Any]:
        """The copies kept for ``doctor --repair``, newest first (SQLite; a team's
        database is backed up by its administrator)."""
        return []

    @property
    def login(self) -> str:
        """The database login (team mode); the SQLite engine has none."""
        raise NotImplementedError

    def token_lock(self, tenant_id: str) -> contextlib.AbstractContextManager[Any]:
        """A lock every machine of the team respects (team mode only)."""
        raise NotImplementedError

    def lease(self, name: str) -> Lease:
        """One holder at a time of the job ``name``, across every process that shares
        this store (a file lock per profile; a lease row in team mode)."""
        raise NotImplementedError

    def initialise_team(self) -> tuple[str, str]:
        """Create the team's roles; returns (viewers role, admins role)."""
        raise NotImplementedError

    # -- settings ---------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _count(self, sql: str, *args: str) -> int:
        return int(self._db.execute(sql, args).fetchone()[0])


def contact_row(row: Row) -> CrmContact:
    return CrmContact(
        id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        phone=row["phone"],
        company_id=row["company_id"],
        source=row["source"],
        gone=row["gone_at"] is not None,
    )


def connection_row(row: Row) -> Connection:
    return Connection(
        tenant_id=row["tenant_id"],
        tenant_name=row["tenant_name"],
        short_code=row["short_code"],
        base_currency=row["base_currency"],
        timezone=row["timezone"],
        country_code=row["country_code"],
        xero_url=row["xero_url"],
        client_id=row["client_id"],
        auth_kind=row["auth_kind"],
        scopes=row["scopes"],
        connected_by=row["connected_by"],
        connected_at=datetime.fromisoformat(row["connected_at"]),
        rate_limits=row["rate_limits"],
    )


def link_row(row: Row) -> Link:
    return Link(
        tenant_id=row["tenant_id"],
        crm_contact_id=row["crm_contact_id"],
        xero_contact_id=row["xero_contact_id"],
        xero_name=row["xero_name"],
        xero_email=row["xero_email"],
        linked_by=row["linked_by"],
        linked_at=datetime.fromisoformat(row["linked_at"]),
    )


def put_documents(db: Any, tenant_id: str,
                   documents: list[CachedDocument]) -> None:
    db.executemany(
        "INSERT INTO xero_documents (tenant_id, document_id, kind, xero_contact_id, number, "
        "reference, status, issue_date, due_date, currency, currency_rate, total, amount_due, "
        "updated_utc, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (tenant_id, document_id) DO UPDATE SET kind = excluded.kind, "
        "xero_contact_id = excluded.xero_contact_id, number = excluded.number, "
        "reference = excluded.reference, status = excluded.status, "
        "issue_date = excluded.issue_date, due_date = excluded.due_date, "
        "currency = excluded.currency, currency_rate = excluded.currency_rate, "
        "total = excluded.total, amount_due = excluded.amount_due, "
        "updated_utc = excluded.updated_utc, fetched_at = excluded.fetched_at",
        [(tenant_id, d.document_id, d.kind, d.xero_contact_id, d.number, d.reference, d.status,
          None if d.issue_date is None else d.issue_date.isoformat(),
          None if d.due_date is None else d.due_date.isoformat(), d.currency,
          str(d.currency_rate), str(d.total), str(d.amount_due),
          None if d.updated_utc is None else d.updated_utc.isoformat(), iso(d.fetched_at))
         for d in documents])


def document_row(row: Row) -> CachedDocument:
    return CachedDocument(
        document_id=row["document_id"], kind=row["kind"], xero_contact_id=row["xero_contact_id"],
        number=row["number"], reference=row["reference"], status=row["status"],
        issue_date=None if row["issue_date"] is None else date.fromisoformat(row["issue_date"]),
        due_date=None if row["due_date"] is None else date.fromisoformat(row["due_date"]),
        currency=row["currency"], currency_rate=Decimal(row["currency_rate"]),
        total=Decimal(row["total"]), amount_due=Decimal(row["amount_due"]),
        updated_utc=None if row["updated_utc"] is None else datetime.fromisoformat(
            row["updated_utc"]),
        fetched_at=datetime.fromisoformat(row["fetched_at"]),
    )


def put_sync_state(db: Any, tenant_id: str, resource: str,
                    modified_since: str | None, synced_at: str) -> None:
    db.execute(
        "INSERT INTO sync_state (tenant_id, resource, modified_since, synced_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, resource) DO UPDATE SET "
        "modified_since = excluded.modified_since, synced_at = excluded.synced_at",
        (tenant_id, resource, modified_since, synced_at))


def xero_contact_row(row: Row) -> XeroContact:
    return XeroContact(
        contact_id=row["contact_id"],
        name=row["name"],
        status=row["status"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        persons=tuple(tuple(p) for p in json.loads(row["persons"])),
        updated_utc=None if row["updated_utc"] is None else datetime.fromisoformat(
            row["updated_utc"]),
    )

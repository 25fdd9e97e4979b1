"""Every named store operation, in SQL that both engines run (SQLite and PostgreSQL).

Engines supply the connection (``self._db``: ``execute``, ``executemany``), the
transactions and the migrations; the SQL here is written with ``?`` placeholders and
the PostgreSQL engine translates them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from xerolink.errors import UsageError, XerolinkError
from xerolink.store.migrations import SCHEMA_VERSION
from xerolink.store.records import (
    AccessEntry,
    CachedDocument,
    Connection,
    CreateIntent,
    CrmCompany,
    CrmContact,
    CrmDeal,
    Link,
    LinkView,
    XeroContact,
)

BUSY_TIMEOUT_MS = 30_000
Row = Any  # a row that answers by column name and by position, in either engine


class StoreError(XerolinkError):
    """The store cannot be used (locked too long, corrupt, newer schema)."""


class LastAdminError(UsageError):
    pass


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class SqlStore:
    """The store's operations; see the engines for connections and transactions."""

    _db: Any
    engine = "sql"

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    @staticmethod
    def latest_schema_version() -> int:
        return SCHEMA_VERSION

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

    # -- CRM records ------------------------------------------------------------
    def upsert_crm_records(
        self,
        *,
        contacts: Iterable[CrmContact] = (),
        companies: Iterable[CrmCompany] = (),
        deals: Iterable[CrmDeal] = (),
        at: datetime,
    ) -> int:
        """Insert or update records by id, all in one transaction. Returns rows written."""
        stamp, written = _iso(at), 0
        with self.transaction() as db:
            for company in companies:
                db.execute(
                    "INSERT INTO crm_companies (id, name, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                    "updated_at = excluded.updated_at",
                    (company.id, company.name, stamp),
                )
                written += 1
            for c in contacts:
                db.execute(
                    "INSERT INTO crm_contacts "
                    "(id, first_name, last_name, email, phone, company_id, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "first_name = excluded.first_name, last_name = excluded.last_name, "
                    "email = excluded.email, phone = excluded.phone, "
                    "company_id = excluded.company_id, updated_at = excluded.updated_at",
                    (c.id, c.first_name, c.last_name, c.email, c.phone, c.company_id, stamp),
                )
                written += 1
            for deal in deals:
                db.execute(
                    "INSERT INTO crm_deals "
                    "(id, title, value, currency, primary_contact_id, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "title = excluded.title, value = excluded.value, "
                    "currency = excluded.currency, "
                    "primary_contact_id = excluded.primary_contact_id, "
                    "updated_at = excluded.updated_at",
                    (
                        deal.id,
                        deal.title,
                        None if deal.value is None else str(deal.value),
                        deal.currency,
                        deal.primary_contact_id,
                        stamp,
                    ),
                )
                db.execute("DELETE FROM crm_deal_participants WHERE deal_id = ?", (deal.id,))
                db.executemany(
                    "INSERT OR IGNORE INTO crm_deal_participants (deal_id, contact_id) "
                    "VALUES (?, ?)",
                    [(deal.id, p) for p in deal.participant_ids],
                )
                written += 1
        return written

    def get_crm_contact(self, contact_id: str) -> CrmContact | None:
        row = self._db.execute("SELECT * FROM crm_contacts WHERE id = ?", (contact_id,)).fetchone()
        return None if row is None else _contact(row)

    def list_crm_contacts(self) -> list[CrmContact]:
        return [_contact(r) for r in self._db.execute("SELECT * FROM crm_contacts ORDER BY id")]

    def count_crm_contacts(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM crm_contacts").fetchone()[0])

    def list_crm_companies(self) -> list[CrmCompany]:
        return [CrmCompany(r["id"], r["name"])
                for r in self._db.execute("SELECT id, name FROM crm_companies ORDER BY id")]

    def get_crm_company(self, company_id: str) -> CrmCompany | None:
        row = self._db.execute("SELECT id, name FROM crm_companies WHERE id = ?",
                               (company_id,)).fetchone()
        return None if row is None else CrmCompany(row["id"], row["name"])

    def company_members(self, company_id: str) -> list[CrmContact]:
        return [_contact(r) for r in self._db.execute(
            "SELECT * FROM crm_contacts WHERE company_id = ? ORDER BY id", (company_id,))]

    def list_crm_deals(self) -> list[CrmDeal]:
        return [self._deal(r) for r in self._db.execute("SELECT * FROM crm_deals ORDER BY id")]

    def get_crm_deal(self, deal_id: str) -> CrmDeal | None:
        row = self._db.execute("SELECT * FROM crm_deals WHERE id = ?", (deal_id,)).fetchone()
        return None if row is None else self._deal(row)

    def _deal(self, row: Row) -> CrmDeal:
        from decimal import Decimal

        participants = tuple(r[0] for r in self._db.execute(
            "SELECT contact_id FROM crm_deal_participants WHERE deal_id = ? ORDER BY contact_id",
            (row["id"],)))
        return CrmDeal(id=row["id"], title=row["title"],
                       value=None if row["value"] is None else Decimal(row["value"]),
                       currency=row["currency"], primary_contact_id=row["primary_contact_id"],
                       participant_ids=participants)

    def delete_crm_record(self, kind: str, record_id: str) -> bool:
        """Remove a CRM record; a contact's links and a deal's documents go with it."""
        table = {"contact": "crm_contacts", "company": "crm_companies", "deal": "crm_deals"}[kind]
        with self.transaction() as db:
            if kind == "company":
                db.execute("UPDATE crm_contacts SET company_id = NULL WHERE company_id = ?",
                           (record_id,))
            cursor = db.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))  # noqa: S608
            return cursor.rowcount > 0

    # -- connections ------------------------------------------------------------
    def save_connection(self, conn: Connection) -> None:
        """Record the connection and make it the active one (at most one is active)."""
        with self.transaction() as db:
            db.execute("UPDATE connections SET active = 0 WHERE active = 1")
            db.execute(
                "INSERT INTO connections (tenant_id, tenant_name, short_code, base_currency, "
                "timezone, country_code, xero_url, client_id, auth_kind, scopes, connected_by, "
                "connected_at, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (tenant_id) DO UPDATE SET tenant_name = excluded.tenant_name, "
                "short_code = excluded.short_code, base_currency = excluded.base_currency, "
                "timezone = excluded.timezone, country_code = excluded.country_code, "
                "xero_url = excluded.xero_url, client_id = excluded.client_id, "
                "auth_kind = excluded.auth_kind, scopes = excluded.scopes, "
                "connected_by = excluded.connected_by, connected_at = excluded.connected_at, "
                "active = 1",
                (
                    conn.tenant_id,
                    conn.tenant_name,
                    conn.short_code,
                    conn.base_currency,
                    conn.timezone,
                    conn.country_code,
                    conn.xero_url,
                    conn.client_id,
                    conn.auth_kind,
                    conn.scopes,
                    conn.connected_by,
                    _iso(conn.connected_at),
                ),
            )

    def active_connection(self) -> Connection | None:
        row = self._db.execute("SELECT * FROM connections WHERE active = 1").fetchone()
        return None if row is None else _connection(row)

    def deactivate_connection(self, tenant_id: str) -> None:
        """Forget that the tenant is connected; its links and settings stay."""
        with self.transaction() as db:
            db.execute("UPDATE connections SET active = 0 WHERE tenant_id = ?", (tenant_id,))

    def record_rate_limits(self, tenant_id: str, limits_json: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE connections SET rate_limits = ? WHERE tenant_id = ?",
                (limits_json, tenant_id),
            )

    # -- creates under way ---------------------------------------------------------------
    def put_create_intent(self, intent: CreateIntent) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM create_intents WHERE tenant_id = ? AND fingerprint = ?",
                       (intent.tenant_id, intent.fingerprint))
            db.execute(
                "INSERT INTO create_intents (tenant_id, fingerprint, idempotency_key, kind, "
                "crm_contact_id, xero_contact_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (intent.tenant_id, intent.fingerprint, intent.idempotency_key, intent.kind,
                 intent.crm_contact_id, intent.xero_contact_id, intent.created_by,
                 _iso(intent.created_at)))

    def get_create_intent(self, tenant_id: str, fingerprint: str) -> CreateIntent | None:
        row = self._db.execute(
            "SELECT tenant_id, fingerprint, idempotency_key, kind, crm_contact_id, "
            "xero_contact_id, created_by, created_at FROM create_intents "
            "WHERE tenant_id = ? AND fingerprint = ?", (tenant_id, fingerprint)).fetchone()
        if row is None:
            return None
        return CreateIntent(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                            datetime.fromisoformat(row[7]))

    def delete_create_intent(self, tenant_id: str, fingerprint: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM create_intents WHERE tenant_id = ? AND fingerprint = ?",
                       (tenant_id, fingerprint))

    # -- links --------------------------------------------------------------------
    def put_link(self, link: Link, *, replace: bool) -> Link | None:
        """Link a CRM contact; returns the link it replaced. Without replace, an
        existing link to another Xero contact is left alone and returned unchanged."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT * FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
                (link.tenant_id, link.crm_contact_id),
            ).fetchone()
            previous = None if row is None else _link(row)
            if previous and previous.xero_contact_id != link.xero_contact_id and not replace:
                return previous
            db.execute(
                "INSERT INTO links (tenant_id, crm_contact_id, xero_contact_id, xero_name, "
                "xero_email, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, crm_contact_id) DO UPDATE SET "
                "xero_contact_id = excluded.xero_contact_id, xero_name = excluded.xero_name, "
                "xero_email = excluded.xero_email, linked_by = excluded.linked_by, "
                "linked_at = excluded.linked_at",
                (
                    link.tenant_id,
                    link.crm_contact_id,
                    link.xero_contact_id,
                    link.xero_name,
                    link.xero_email,
                    link.linked_by,
                    _iso(link.linked_at),
                ),
            )
            return previous

    def get_link(self, tenant_id: str, crm_contact_id: str) -> Link | None:
        row = self._db.execute(
            "SELECT * FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
            (tenant_id, crm_contact_id),
        ).fetchone()
        return None if row is None else _link(row)

    def delete_link(self, tenant_id: str, crm_contact_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
                (tenant_id, crm_contact_id),
            )
            return cursor.rowcount > 0

    def list_links(self, tenant_id: str) -> list[Link]:
        return [
            _link(r)
            for r in self._db.execute(
                "SELECT * FROM links WHERE tenant_id = ? ORDER BY crm_contact_id", (tenant_id,)
            )
        ]

    def list_link_views(self, tenant_id: str) -> list[LinkView]:
        rows = self._db.execute(
            "SELECT l.*, c.first_name, c.last_name, c.email FROM links l "
            "JOIN crm_contacts c ON c.id = l.crm_contact_id WHERE l.tenant_id = ? "
            "ORDER BY l.crm_contact_id", (tenant_id,))
        return [LinkView(_link(r), " ".join(p for p in (r["first_name"], r["last_name"]) if p),
                         r["email"]) for r in rows]

    def unlinked_crm_contacts(self, tenant_id: str) -> list[CrmContact]:
        return [_contact(r) for r in self._db.execute(
            "SELECT * FROM crm_contacts c WHERE NOT EXISTS (SELECT 1 FROM links l WHERE "
            "l.tenant_id = ? AND l.crm_contact_id = c.id) ORDER BY c.id", (tenant_id,))]

    def count_links(self, tenant_id: str) -> int:
        return self._count("SELECT count(*) FROM links WHERE tenant_id = ?", tenant_id)

    def add_links_if_unlinked(self, links: list[Link]) -> int:
        """Add links in one transaction, leaving any CRM contact that is already linked
        alone (another run may have linked it meanwhile). Returns links added."""
        with self.transaction() as db:
            added = 0
            for link in links:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO links (tenant_id, crm_contact_id, xero_contact_id, "
                    "xero_name, xero_email, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (link.tenant_id, link.crm_contact_id, link.xero_contact_id, link.xero_name,
                     link.xero_email, link.linked_by, _iso(link.linked_at)))
                added += cursor.rowcount
            return added

    # -- the local copy of Xero contacts ------------------------------------------------
    def upsert_xero_contacts(self, tenant_id: str, contacts: list[XeroContact]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO xero_contacts (tenant_id, contact_id, name, first_name, last_name, "
                "email, persons, status, updated_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, contact_id) DO UPDATE SET name = excluded.name, "
                "first_name = excluded.first_name, last_name = excluded.last_name, "
                "email = excluded.email, persons = excluded.persons, status = excluded.status, "
                "updated_utc = excluded.updated_utc",
                [(tenant_id, c.contact_id, c.name, c.first_name, c.last_name, c.email,
                  json.dumps([list(p) for p in c.persons]), c.status,
                  None if c.updated_utc is None else c.updated_utc.isoformat())
                 for c in contacts])

    def xero_contacts(self, tenant_id: str) -> list[XeroContact]:
        return [_xero_contact(r) for r in self._db.execute(
            "SELECT * FROM xero_contacts WHERE tenant_id = ? ORDER BY name", (tenant_id,))]

    def xero_contact_ids_with_prefix(self, tenant_id: str, prefix: str, limit: int = 10
                                     ) -> list[tuple[str, str]]:
        """(ContactID, name) of known Xero contacts (the local copy and the links) whose
        id starts with ``prefix`` (hex digits and dashes only, checked by the caller)."""
        rows = self._db.execute(
            "SELECT contact_id, name FROM xero_contacts WHERE tenant_id = ? AND contact_id "
            "LIKE ? UNION SELECT xero_contact_id, xero_name FROM links WHERE tenant_id = ? "
            "AND xero_contact_id LIKE ? ORDER BY 1 LIMIT ?",
            (tenant_id, f"{prefix}%", tenant_id, f"{prefix}%", limit * 2)).fetchall()
        seen: dict[str, str] = {}
        for contact_id, name in rows:
            if not seen.get(contact_id):
                seen[contact_id] = name
        return list(seen.items())[:limit]

    def documents_with_id_prefix(self, tenant_id: str, prefix: str, limit: int = 10
                                 ) -> list[CachedDocument]:
        return [_document(r) for r in self._db.execute(
            "SELECT * FROM xero_documents WHERE tenant_id = ? AND document_id LIKE ? "
            "ORDER BY document_id LIMIT ?", (tenant_id, f"{prefix}%", limit))]

    def documents_by_number(self, tenant_id: str, number: str) -> list[CachedDocument]:
        return [_document(r) for r in self._db.execute(
            "SELECT * FROM xero_documents WHERE tenant_id = ? AND lower(number) = ?",
            (tenant_id, number.lower()))]

    def get_xero_contact(self, tenant_id: str, contact_id: str) -> XeroContact | None:
        row = self._db.execute(
            "SELECT * FROM xero_contacts WHERE tenant_id = ? AND contact_id = ?",
            (tenant_id, contact_id)).fetchone()
        return None if row is None else _xero_contact(row)

    def get_sync_state(self, tenant_id: str, resource: str) -> tuple[str | None, str] | None:
        """(modified_since, synced_at) of a resource's local copy, or None if never synced."""
        row = self._db.execute(
            "SELECT modified_since, synced_at FROM sync_state WHERE tenant_id = ? AND "
            "resource = ?", (tenant_id, resource)).fetchone()
        return None if row is None else (row[0], row[1])

    def set_sync_state(self, tenant_id: str, resource: str, modified_since: str | None,
                       synced_at: str) -> None:
        with self.transaction() as db:
            _put_sync_state(db, tenant_id, resource, modified_since, synced_at)

    def finish_sync(self, tenant_id: str, in_progress: str, resource: str,
                    modified_since: str | None, synced_at: str) -> None:
        """End a full read: forget where to resume, record the watermark, atomically."""
        with self.transaction() as db:
            db.execute("DELETE FROM sync_state WHERE tenant_id = ? AND resource = ?",
                       (tenant_id, in_progress))
            _put_sync_state(db, tenant_id, resource, modified_since, synced_at)

    # -- the cache of Xero documents ------------------------------------------------------
    def replace_contact_documents(self, tenant_id: str, contact_ids: list[str],
                                  kinds: tuple[str, ...], documents: list[CachedDocument],
                                  *, refreshed_at: datetime | None) -> None:
        """The contacts' documents of these kinds are now exactly ``documents``."""
        with self.transaction() as db:
            marks = ",".join("?" * len(kinds))
            for start in range(0, len(contact_ids), 500):
                chunk = contact_ids[start:start + 500]
                db.execute(
                    f"DELETE FROM xero_documents WHERE tenant_id = ? AND kind IN ({marks}) "  # noqa: S608
                    f"AND xero_contact_id IN ({','.join('?' * len(chunk))})",
                    (tenant_id, *kinds, *chunk))
            _put_documents(db, tenant_id, documents)
            if refreshed_at is not None:
                db.executemany(
                    "INSERT INTO contact_refreshes (tenant_id, xero_contact_id, refreshed_at) "
                    "VALUES (?, ?, ?) ON CONFLICT (tenant_id, xero_contact_id) DO UPDATE SET "
                    "refreshed_at = excluded.refreshed_at",
                    [(tenant_id, c, _iso(refreshed_at)) for c in contact_ids])

    def replace_all_documents(self, tenant_id: str, kind: str,
                              documents: list[CachedDocument]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM xero_documents WHERE tenant_id = ? AND kind = ?",
                       (tenant_id, kind))
            _put_documents(db, tenant_id, documents)

    def apply_document_changes(self, tenant_id: str, upserts: list[CachedDocument],
                               deletes: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM xero_documents WHERE tenant_id = ? AND document_id = ?",
                           [(tenant_id, d) for d in deletes])
            _put_documents(db, tenant_id, upserts)

    def mark_contacts_current(self, tenant_id: str, since: datetime, at: datetime) -> int:
        """Contacts refreshed at or after ``since`` are now current as of ``at``."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE contact_refreshes SET refreshed_at = ? WHERE tenant_id = ? AND "
                "refreshed_at >= ?", (_iso(at), tenant_id, _iso(since))).rowcount

    def contact_refresh_times(self, tenant_id: str) -> dict[str, datetime]:
        return {r[0]: datetime.fromisoformat(r[1]) for r in self._db.execute(
            "SELECT xero_contact_id, refreshed_at FROM contact_refreshes WHERE tenant_id = ?",
            (tenant_id,))}

    def documents_for_contacts(self, tenant_id: str, contact_ids: list[str]
                               ) -> list[CachedDocument]:
        found = self._documents_where(tenant_id, "xero_contact_id", contact_ids)
        return sorted(found, key=lambda d: (d.kind, d.issue_date or datetime.min.date(),
                                            d.number))

    def documents_by_ids(self, tenant_id: str, ids: list[str]) -> list[CachedDocument]:
        return self._documents_where(tenant_id, "document_id", ids)

    def _documents_where(self, tenant_id: str, column: str, values: list[str]
                         ) -> list[CachedDocument]:
        """Documents whose ``column`` (a fixed name, never input) is one of ``values``,
        in chunks that stay under SQLite's parameter limit."""
        found: list[CachedDocument] = []
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            found += [_document(r) for r in self._db.execute(
                f"SELECT * FROM xero_documents WHERE tenant_id = ? AND {column} IN "  # noqa: S608
                f"({','.join('?' * len(chunk))})", (tenant_id, *chunk))]
        return found

    # -- deal documents -------------------------------------------------------------------
    def attach_deal_documents(self, tenant_id: str, deal_id: str,
                              documents: list[tuple[str, str]], user: str,
                              at: datetime) -> int:
        with self.transaction() as db:
            added = 0
            for document_id, kind in documents:
                added += db.execute(
                    "INSERT OR IGNORE INTO deal_documents (tenant_id, deal_id, document_id, "
                    "kind, attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (tenant_id, deal_id, document_id, kind, user, _iso(at))).rowcount
            return added

    def detach_deal_documents(self, tenant_id: str, deal_id: str, document_ids: list[str]
                              ) -> int:
        with self.transaction() as db:
            return sum(db.execute(
                "DELETE FROM deal_documents WHERE tenant_id = ? AND deal_id = ? AND "
                "document_id = ?", (tenant_id, deal_id, d)).rowcount for d in document_ids)

    def deal_documents(self, tenant_id: str, deal_id: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT document_id, kind FROM deal_documents WHERE tenant_id = ? AND deal_id = ? "
            "ORDER BY attached_at, document_id", (tenant_id, deal_id))]

    # -- a team's shared tokens (team mode) ----------------------------------------------
    def load_token(self, tenant_id: str) -> str | None:
        row = self._db.execute("SELECT token FROM xero_tokens WHERE tenant_id = ?",
                               (tenant_id,)).fetchone()
        return None if row is None else str(row[0])

    def save_token(self, tenant_id: str, token: str, at: datetime) -> None:
        """Update the row (what a refresh does, and all a team's viewers may do); insert it
        only when it is missing (connect, an admin's job). An upsert would need INSERT
        privilege even when it updates."""
        updated = self._db.execute(
            "UPDATE xero_tokens SET token = ?, updated_at = ? WHERE tenant_id = ?",
            (token, _iso(at), tenant_id)).rowcount
        if not updated:
            self._db.execute(
                "INSERT INTO xero_tokens (tenant_id, token, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant_id) DO UPDATE SET token = excluded.token, "
                "updated_at = excluded.updated_at", (tenant_id, token, _iso(at)))

    def delete_token(self, tenant_id: str) -> None:
        self._db.execute("DELETE FROM xero_tokens WHERE tenant_id = ?", (tenant_id,))

    # -- copying a whole store (team migrate) ------------------------------------------
    COPY_ORDER = ("settings", "crm_companies", "crm_contacts", "crm_deals",
                  "crm_deal_participants", "connections", "links", "access", "deal_documents",
                  "xero_documents", "contact_refreshes", "sync_state", "xero_contacts")

    def export_table(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if table not in self.COPY_ORDER:
            raise ValueError(table)
        cursor = self._db.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed name
        columns = [c[0] for c in cursor.description]
        return columns, [tuple(r) for r in cursor.fetchall()]

    def import_rows(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> int:
        """Insert rows that are not there yet (by any unique key); returns rows added."""
        if table not in self.COPY_ORDER or not rows:
            return 0
        marks = ", ".join("?" * len(columns))
        added = 0
        with self.transaction() as db:
            for row in rows:
                added += db.execute(
                    f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({marks})", row).rowcount
        return added

    # -- access -------------------------------------------------------------------
    def grant_access(self, entry: AccessEntry) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO access (tenant_id, user_name, role, granted_by, granted_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, user_name) DO UPDATE SET "
                "role = excluded.role, granted_by = excluded.granted_by, "
                "granted_at = excluded.granted_at",
                (entry.tenant_id, entry.user, entry.role, entry.granted_by, _iso(entry.granted_at)),
            )

    def revoke_access(self, tenant_id: str, user: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM access WHERE tenant_id = ? AND user_name = ?", (tenant_id, user)
            )
            return cursor.rowcount > 0

    def role_of(self, tenant_id: str, user: str) -> str | None:
        row = self._db.execute(
            "SELECT role FROM access WHERE tenant_id = ? AND user_name = ?", (tenant_id, user)
        ).fetchone()
        return None if row is None else str(row[0])

    def count_admins(self, tenant_id: str) -> int:
        return int(self._db.execute(
            "SELECT count(*) FROM access WHERE tenant_id = ? AND role = 'admin'", (tenant_id,)
        ).fetchone()[0])

    def has_any_access_entries(self) -> bool:
        return self._db.execute("SELECT 1 FROM access LIMIT 1").fetchone() is not None

    def is_admin_anywhere(self, user: str) -> bool:
        return self._db.execute(
            "SELECT 1 FROM access WHERE user_name = ? AND role = 'admin' LIMIT 1", (user,)
        ).fetchone() is not None

    def revoke_access_keeping_an_admin(self, tenant_id: str, users: list[str]) -> list[str]:
        """Remove users' access in one transaction, or nothing at all if that would leave
        the organisation without an admin."""
        with self.transaction() as db:
            removed = []
            for user in users:
                cursor = db.execute("DELETE FROM access WHERE tenant_id = ? AND user_name = ?",
                                    (tenant_id, user))
                if cursor.rowcount:
                    removed.append(user)
            admins = db.execute("SELECT count(*) FROM access WHERE tenant_id = ? AND "
                                "role = 'admin'", (tenant_id,)).fetchone()[0]
            if admins == 0:
                raise LastAdminError("that would leave the organisation without an admin; "
                                     "grant another admin first")
            return removed

    def counts_for_tenant(self, tenant_id: str) -> dict[str, int]:
        """What a removed connection leaves behind, to say so."""
        return {
            "links": self._count("SELECT count(*) FROM links WHERE tenant_id = ?", tenant_id),
            "deal_documents": self._count(
                "SELECT count(*) FROM deal_documents WHERE tenant_id = ?", tenant_id),
            "access": self._count("SELECT count(*) FROM access WHERE tenant_id = ?", tenant_id),
        }

    def _count(self, sql: str, *args: str) -> int:
        return int(self._db.execute(sql, args).fetchone()[0])

    def list_access(self, tenant_id: str) -> list[AccessEntry]:
        return [
            AccessEntry(
                tenant_id=r["tenant_id"],
                user=r["user_name"],
                role=r["role"],
                granted_by=r["granted_by"],
                granted_at=datetime.fromisoformat(r["granted_at"]),
            )
            for r in self._db.execute(
                "SELECT * FROM access WHERE tenant_id = ? ORDER BY role, user_name", (tenant_id,)
            )
        ]


def _contact(row: Row) -> CrmContact:
    return CrmContact(
        id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        phone=row["phone"],
        company_id=row["company_id"],
    )


def _connection(row: Row) -> Connection:
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


def _link(row: Row) -> Link:
    return Link(
        tenant_id=row["tenant_id"],
        crm_contact_id=row["crm_contact_id"],
        xero_contact_id=row["xero_contact_id"],
        xero_name=row["xero_name"],
        xero_email=row["xero_email"],
        linked_by=row["linked_by"],
        linked_at=datetime.fromisoformat(row["linked_at"]),
    )


def _put_documents(db: Any, tenant_id: str,
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
          None if d.updated_utc is None else d.updated_utc.isoformat(), _iso(d.fetched_at))
         for d in documents])


def _document(row: Row) -> CachedDocument:
    from datetime import date
    from decimal import Decimal

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


def _put_sync_state(db: Any, tenant_id: str, resource: str,
                    modified_since: str | None, synced_at: str) -> None:
    db.execute(
        "INSERT INTO sync_state (tenant_id, resource, modified_since, synced_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, resource) DO UPDATE SET "
        "modified_since = excluded.modified_since, synced_at = excluded.synced_at",
        (tenant_id, resource, modified_since, synced_at))


def _xero_contact(row: Row) -> XeroContact:
    return XeroContact(
        contact_id=row["contact_id"],
        name=row["name"],
        status=row["status"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        persons=tuple(tuple(p) for p in json.loads(row["persons"])),  # type: ignore[misc]
        updated_utc=None if row["updated_utc"] is None else datetime.fromisoformat(
            row["updated_utc"]),
    )

"""The local copies of Xero: contacts, sync watermarks, open documents, and the
documents chosen for deals."""

from __future__ import annotations

import json
from datetime import datetime

from xerolink.store.base import (
    SqlBase,
    chunks_in,
    document_row,
    iso,
    put_documents,
    put_sync_state,
    xero_contact_row,
)
from xerolink.store.models import (
    CachedDocument,
    XeroContact,
)


class CacheTables(SqlBase):
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
        return [xero_contact_row(r) for r in self._db.execute(
            "SELECT * FROM xero_contacts WHERE tenant_id = ? ORDER BY name", (tenant_id,))]

    def count_xero_contacts(self, tenant_id: str) -> int:
        """How many contacts the local copy holds: the organisation's size once
        ``link --auto`` has read them all."""
        row = self._db.execute("SELECT count(*) FROM xero_contacts WHERE tenant_id = ?",
                               (tenant_id,)).fetchone()
        return int(row[0]) if row else 0

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
        return [document_row(r) for r in self._db.execute(
            "SELECT * FROM xero_documents WHERE tenant_id = ? AND document_id LIKE ? "
            "ORDER BY document_id LIMIT ?", (tenant_id, f"{prefix}%", limit))]

    def documents_by_number(self, tenant_id: str, number: str) -> list[CachedDocument]:
        return [document_row(r) for r in self._db.execute(
            "SELECT * FROM xero_documents WHERE tenant_id = ? AND lower(number) = ?",
            (tenant_id, number.lower()))]

    def get_sync_state(self, tenant_id: str, resource: str) -> tuple[str | None, str] | None:
        """(modified_since, synced_at) of a resource's local copy, or None if never synced."""
        row = self._db.execute(
            "SELECT modified_since, synced_at FROM sync_state WHERE tenant_id = ? AND "
            "resource = ?", (tenant_id, resource)).fetchone()
        return None if row is None else (row[0], row[1])

    def set_sync_state(self, tenant_id: str, resource: str, modified_since: str | None,
                       synced_at: str) -> None:
        with self.transaction() as db:
            put_sync_state(db, tenant_id, resource, modified_since, synced_at)

    def finish_sync(self, tenant_id: str, in_progress: str, resource: str,
                    modified_since: str | None, synced_at: str) -> None:
        """End a full read: forget where to resume, record the watermark, atomically."""
        with self.transaction() as db:
            db.execute("DELETE FROM sync_state WHERE tenant_id = ? AND resource = ?",
                       (tenant_id, in_progress))
            put_sync_state(db, tenant_id, resource, modified_since, synced_at)

    # -- the cache of Xero documents ------------------------------------------------------
    def replace_contact_documents(self, tenant_id: str, contact_ids: list[str],
                                  kinds: tuple[str, ...], documents: list[CachedDocument],
                                  *, refreshed_at: datetime | None) -> None:
        """The contacts' documents of these kinds are now exactly ``documents``."""
        with self.transaction() as db:
            marks = ",".join("?" * len(kinds))
            for ids, chunk in chunks_in(contact_ids):
                db.execute(
                    f"DELETE FROM xero_documents WHERE tenant_id = ? AND kind IN ({marks}) "  # noqa: S608
                    f"AND xero_contact_id IN ({ids})", (tenant_id, *kinds, *chunk))
            put_documents(db, tenant_id, documents)
            if refreshed_at is not None:
                db.executemany(
                    "INSERT INTO contact_refreshes (tenant_id, xero_contact_id, refreshed_at) "
                    "VALUES (?, ?, ?) ON CONFLICT (tenant_id, xero_contact_id) DO UPDATE SET "
                    "refreshed_at = excluded.refreshed_at",
                    [(tenant_id, c, iso(refreshed_at)) for c in contact_ids])

    def replace_all_documents(self, tenant_id: str, kind: str,
                              documents: list[CachedDocument]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM xero_documents WHERE tenant_id = ? AND kind = ?",
                       (tenant_id, kind))
            put_documents(db, tenant_id, documents)

    def apply_document_changes(self, tenant_id: str, upserts: list[CachedDocument],
                               deletes: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM xero_documents WHERE tenant_id = ? AND document_id = ?",
                           [(tenant_id, d) for d in deletes])
            put_documents(db, tenant_id, upserts)

    def mark_contacts_current(self, tenant_id: str, since: datetime, at: datetime) -> int:
        """Contacts refreshed at or after ``since`` are now current as of ``at``."""
        with self.transaction() as db:
            return int(db.execute(
                "UPDATE contact_refreshes SET refreshed_at = ? WHERE tenant_id = ? AND "
                "refreshed_at >= ?", (iso(at), tenant_id, iso(since))).rowcount)

    def contact_refresh_times(self, tenant_id: str, contact_ids: list[str] | None = None
                              ) -> dict[str, datetime]:
        """When each contact's documents were last read; ``contact_ids`` limits it to
        those (a summary needs one contact's, not the organisation's)."""
        if contact_ids is not None:
            found: dict[str, datetime] = {}
            for marks, chunk in chunks_in(contact_ids):
                sql = ("SELECT xero_contact_id, refreshed_at FROM contact_refreshes "  # noqa: S608
                       f"WHERE tenant_id = ? AND xero_contact_id IN ({marks})")
                found.update({r[0]: datetime.fromisoformat(r[1])
                              for r in self._db.execute(sql, (tenant_id, *chunk))})
            return found
        return self._all_refresh_times(tenant_id)

    def _all_refresh_times(self, tenant_id: str) -> dict[str, datetime]:
        return {r[0]: datetime.fromisoformat(r[1]) for r in self._db.execute(
            "SELECT xero_contact_id, refreshed_at FROM contact_refreshes WHERE tenant_id = ?",
            (tenant_id,))}

    def documents_for_contacts(self, tenant_id: str, contact_ids: list[str]
                               ) -> list[CachedDocument]:
        found = self._documents_where(tenant_id, "xero_contact_id", contact_ids)
        return sorted(found, key=lambda d: (d.kind, d.issue_date or datetime.min.date(),
                                            d.number))

    def count_documents_for_contacts(self, tenant_id: str, contact_ids: list[str]) -> int:
        """How many documents ``documents_for_contacts`` would give, without reading them
        (a refresh reports the number; building each was a third of a service pass)."""
        count = 0
        for marks, chunk in chunks_in(contact_ids):
            count += self._db.execute(
                "SELECT COUNT(*) FROM xero_documents WHERE tenant_id = ? AND "  # noqa: S608
                f"xero_contact_id IN ({marks})", (tenant_id, *chunk)).fetchone()[0]
        return int(count)

    def documents_by_ids(self, tenant_id: str, ids: list[str]) -> list[CachedDocument]:
        return self._documents_where(tenant_id, "document_id", ids)

    def _documents_where(self, tenant_id: str, column: str, values: list[str]
                         ) -> list[CachedDocument]:
        """Documents whose ``column`` (a fixed name, never input) is one of ``values``,
        in chunks that stay under SQLite's parameter limit."""
        found: list[CachedDocument] = []
        for marks, chunk in chunks_in(values):
            found += [document_row(r) for r in self._db.execute(
                f"SELECT * FROM xero_documents WHERE tenant_id = ? AND {column} IN "  # noqa: S608
                f"({marks})", (tenant_id, *chunk))]
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
                    (tenant_id, deal_id, document_id, kind, user, iso(at))).rowcount
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


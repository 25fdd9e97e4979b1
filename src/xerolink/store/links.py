"""Links between CRM contacts and Xero contacts."""

from __future__ import annotations

from typing import Any

from xerolink.store.base import (
    SqlBase,
    contact_row,
    iso,
    link_row,
)
from xerolink.store.models import (
    CrmContact,
    Link,
    LinkView,
)


class LinkTables(SqlBase):
    # -- links --------------------------------------------------------------------
    def put_link(self, link: Link, *, replace: bool) -> Link | None:
        """Link a CRM contact; returns the link it replaced. Without replace, an
        existing link to another Xero contact is left alone and returned unchanged."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT * FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
                (link.tenant_id, link.crm_contact_id),
            ).fetchone()
            previous = None if row is None else link_row(row)
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
                    iso(link.linked_at),
                ),
            )
            return previous

    def get_link(self, tenant_id: str, crm_contact_id: str) -> Link | None:
        row = self._db.execute(
            "SELECT * FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
            (tenant_id, crm_contact_id),
        ).fetchone()
        return None if row is None else link_row(row)

    def delete_link(self, tenant_id: str, crm_contact_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM links WHERE tenant_id = ? AND crm_contact_id = ?",
                (tenant_id, crm_contact_id),
            )
            return bool(cursor.rowcount > 0)

    def list_links(self, tenant_id: str) -> list[Link]:
        return [
            link_row(r)
            for r in self._db.execute(
                "SELECT * FROM links WHERE tenant_id = ? ORDER BY crm_contact_id", (tenant_id,)
            )
        ]

    def list_link_views(self, tenant_id: str) -> list[LinkView]:
        rows = self._db.execute(
            "SELECT l.*, c.first_name, c.last_name, c.email FROM links l "
            "JOIN crm_contacts c ON c.id = l.crm_contact_id WHERE l.tenant_id = ? "
            "ORDER BY l.crm_contact_id", (tenant_id,))
        return [LinkView(link_row(r), " ".join(p for p in (r["first_name"], r["last_name"]) if p),
                         r["email"]) for r in rows]

    def linked_xero_contacts(self, tenant_id: str) -> dict[str, tuple[str, str]]:
        """CRM contact id -> (Xero ContactID, Xero name), for listings."""
        return {r[0]: (r[1], r[2]) for r in self._db.execute(
            "SELECT crm_contact_id, xero_contact_id, xero_name FROM links WHERE tenant_id = ?",
            (tenant_id,))}

    def crm_contact_listing(self, tenant_id: str | None) -> list[tuple[Any, ...]]:
        """Every CRM contact with its link in this organisation, as plain tuples (id,
        first name, last name, email, phone, company id, Xero ContactID, Xero name,
        source, gone): one query for listings of any size."""
        return [tuple(r) for r in self._db.execute(
            "SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.company_id, "
            "l.xero_contact_id, l.xero_name, c.source, c.gone_at IS NOT NULL "
            "FROM crm_contacts c LEFT JOIN links l ON "
            "l.crm_contact_id = c.id AND l.tenant_id = ?", (tenant_id or "",))]

    def unlinked_crm_contacts(self, tenant_id: str) -> list[CrmContact]:
        return [contact_row(r) for r in self._db.execute(
            "SELECT * FROM crm_contacts c WHERE c.gone_at IS NULL AND NOT EXISTS (SELECT 1 "
            "FROM links l WHERE l.tenant_id = ? AND l.crm_contact_id = c.id) ORDER BY c.id",
            (tenant_id,))]

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
                     link.xero_email, link.linked_by, iso(link.linked_at)))
                added += cursor.rowcount
            return added


"""CRM records: contacts, companies, deals and their participants."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from xerolink.store.base import (
    Row,
    SqlBase,
    contact_row,
    iso,
)
from xerolink.store.models import (
    CrmCompany,
    CrmContact,
    CrmDeal,
)
from xerolink.vocabulary import RecordKind

TABLES: dict[str, str] = {RecordKind.CONTACT: "crm_contacts", RecordKind.COMPANY: "crm_companies",
          RecordKind.DEAL: "crm_deals"}  # each kind's table


CHUNK = 1000  # records a statement: one call into the database, the memory of a chunk


def _chunks(records: Iterable[Any]) -> Iterator[list[Any]]:
    """A stream of records (an import's, read as it goes) in lists of ``CHUNK``."""
    stream = iter(records)
    while chunk := list(itertools.islice(stream, CHUNK)):
        yield chunk


class CrmTables(SqlBase):
    # -- CRM records ------------------------------------------------------------
    def upsert_crm_records(
        self,
        *,
        contacts: Iterable[CrmContact] = (),
        companies: Iterable[CrmCompany] = (),
        deals: Iterable[CrmDeal] = (),
        at: datetime,
    ) -> int:
        """Insert or update records by id, all in one transaction. Returns rows written.
        A record written is live again (not gone), and takes its source from the record
        (None: a file's)."""
        with self.transaction() as db:
            return self._upsert(db, contacts, companies, deals, iso(at))

    def _upsert(self, db: Any, contacts: Iterable[CrmContact], companies: Iterable[CrmCompany],
                deals: Iterable[CrmDeal], stamp: str) -> int:
        written = 0
        for chunk in _chunks(companies):
            db.executemany(
                "INSERT INTO crm_companies (id, name, updated_at, source, gone_at) "
                "VALUES (?, ?, ?, ?, NULL) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "updated_at = excluded.updated_at, source = excluded.source, "
                "gone_at = NULL",
                [(company.id, company.name, stamp, company.source) for company in chunk],
            )
            written += len(chunk)
        for chunk in _chunks(contacts):
            db.executemany(
                "INSERT INTO crm_contacts "
                "(id, first_name, last_name, email, phone, company_id, updated_at, source, "
                "gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE "
                "SET first_name = excluded.first_name, last_name = excluded.last_name, "
                "email = excluded.email, phone = excluded.phone, "
                "company_id = excluded.company_id, updated_at = excluded.updated_at, "
                "source = excluded.source, gone_at = NULL",
                [(c.id, c.first_name, c.last_name, c.email, c.phone, c.company_id, stamp,
                  c.source) for c in chunk],
            )
            written += len(chunk)
        for deal in deals:
            db.execute(
                "INSERT INTO crm_deals "
                "(id, title, value, currency, primary_contact_id, updated_at, source, "
                "gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE "
                "SET title = excluded.title, value = excluded.value, "
                "currency = excluded.currency, "
                "primary_contact_id = excluded.primary_contact_id, "
                "updated_at = excluded.updated_at, source = excluded.source, "
                "gone_at = NULL",
                (
                    deal.id,
                    deal.title,
                    None if deal.value is None else str(deal.value),
                    deal.currency,
                    deal.primary_contact_id,
                    stamp,
                    deal.source,
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
        return None if row is None else contact_row(row)

    def list_crm_contacts(self) -> list[CrmContact]:
        return [contact_row(r) for r in self._db.execute("SELECT * FROM crm_contacts ORDER BY id")]

    def count_crm_contacts(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM crm_contacts").fetchone()[0])

    def list_crm_companies(self) -> list[CrmCompany]:
        return [_company(r) for r in self._db.execute(
            "SELECT id, name, source, gone_at FROM crm_companies ORDER BY id")]

    def get_crm_company(self, company_id: str) -> CrmCompany | None:
        row = self._db.execute("SELECT id, name, source, gone_at FROM crm_companies "
                               "WHERE id = ?", (company_id,)).fetchone()
        return None if row is None else _company(row)

    def company_members(self, company_id: str) -> list[CrmContact]:
        return [contact_row(r) for r in self._db.execute(
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
                       participant_ids=participants, source=row["source"],
                       gone=row["gone_at"] is not None)

    def delete_crm_record(self, kind: str, record_id: str) -> bool:
        """Remove a CRM record; a contact's links and a deal's documents go with it."""
        table = TABLES[kind]
        with self.transaction() as db:
            if kind == RecordKind.COMPANY:
                db.execute("UPDATE crm_contacts SET company_id = NULL WHERE company_id = ?",
                           (record_id,))
            cursor = db.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))  # noqa: S608
            return bool(cursor.rowcount > 0)



def _company(row: Row) -> CrmCompany:
    return CrmCompany(row["id"], row["name"], source=row["source"],
                      gone=row["gone_at"] is not None)

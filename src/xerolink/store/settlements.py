"""The local copies of what was paid and what credit is left: the organisation's
payments (``xero_payments``) and its credit notes, overpayments and prepayments with
credit remaining (``xero_credits``), kept current by ``services/settlements.py``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from xerolink.store.base import Row, SqlBase, chunks_in, iso
from xerolink.store.models import CachedCredit, CachedPayment


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def payment_row(row: Row) -> CachedPayment:
    return CachedPayment(
        payment_id=row["payment_id"], document_id=row["document_id"], kind=row["kind"],
        number=row["number"], xero_contact_id=row["xero_contact_id"],
        paid_on=date.fromisoformat(row["paid_on"]), amount=Decimal(row["amount"]),
        currency=row["currency"], currency_rate=Decimal(row["currency_rate"]),
        status=row["status"], updated_utc=_when(row["updated_utc"]),
        fetched_at=datetime.fromisoformat(row["fetched_at"]))


def credit_row(row: Row) -> CachedCredit:
    return CachedCredit(
        credit_id=row["credit_id"], source=row["source"], side=row["side"],
        xero_contact_id=row["xero_contact_id"], number=row["number"], status=row["status"],
        issued_on=None if row["issued_on"] is None else date.fromisoformat(row["issued_on"]),
        currency=row["currency"], currency_rate=Decimal(row["currency_rate"]),
        total=Decimal(row["total"]), remaining=Decimal(row["remaining"]),
        updated_utc=_when(row["updated_utc"]),
        fetched_at=datetime.fromisoformat(row["fetched_at"]))


class SettlementTables(SqlBase):
    # -- payments -------------------------------------------------------------------------
    def apply_payment_changes(self, tenant_id: str, upserts: list[CachedPayment],
                              deletes: list[str], *, replace_from: date | None = None) -> None:
        """Payments read from Xero: ``upserts`` kept, ``deletes`` (by id) dropped; with
        ``replace_from``, every cached payment dated from then on is dropped first (a
        full read of that span)."""
        with self.transaction() as db:
            if replace_from is not None:
                db.execute("DELETE FROM xero_payments WHERE tenant_id = ? AND paid_on >= ?",
                           (tenant_id, replace_from.isoformat()))
            db.executemany("DELETE FROM xero_payments WHERE tenant_id = ? AND payment_id = ?",
                           [(tenant_id, p) for p in deletes])
            db.executemany(
                "INSERT INTO xero_payments (tenant_id, payment_id, document_id, kind, number, "
                "xero_contact_id, paid_on, amount, currency, currency_rate, status, "
                "updated_utc, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, payment_id) DO UPDATE SET "
                "document_id = excluded.document_id, kind = excluded.kind, "
                "number = excluded.number, xero_contact_id = excluded.xero_contact_id, "
                "paid_on = excluded.paid_on, amount = excluded.amount, "
                "currency = excluded.currency, currency_rate = excluded.currency_rate, "
                "status = excluded.status, updated_utc = excluded.updated_utc, "
                "fetched_at = excluded.fetched_at",
                [(tenant_id, p.payment_id, p.document_id, p.kind, p.number, p.xero_contact_id,
                  p.paid_on.isoformat(), str(p.amount), p.currency, str(p.currency_rate),
                  p.status, None if p.updated_utc is None else p.updated_utc.isoformat(),
                  iso(p.fetched_at)) for p in upserts])

    def payments_for_contacts(self, tenant_id: str, contact_ids: list[str], since: date
                              ) -> list[CachedPayment]:
        return self._payments_where(tenant_id, "xero_contact_id", contact_ids, since)

    def payments_for_documents(self, tenant_id: str, document_ids: list[str], since: date
                               ) -> list[CachedPayment]:
        return self._payments_where(tenant_id, "document_id", document_ids, since)

    def _payments_where(self, tenant_id: str, column: str, values: list[str], since: date
                        ) -> list[CachedPayment]:
        """Payments dated ``since`` or later whose ``column`` (a fixed name, never
        input) is one of ``values``."""
        found: list[CachedPayment] = []
        for marks, chunk in chunks_in(values):
            found += [payment_row(r) for r in self._db.execute(
                f"SELECT * FROM xero_payments WHERE tenant_id = ? AND paid_on >= ? AND "  # noqa: S608
                f"{column} IN ({marks})", (tenant_id, since.isoformat(), *chunk))]
        return sorted(found, key=lambda p: (p.paid_on, p.number, p.payment_id))

    # -- credit ---------------------------------------------------------------------------
    def apply_credit_changes(self, tenant_id: str, source: str, upserts: list[CachedCredit],
                             deletes: list[str], *, replace: bool = False) -> None:
        """Credit of one source read from Xero; ``replace``: the read was whole, so
        what the cache held of that source before is dropped first."""
        with self.transaction() as db:
            if replace:
                db.execute("DELETE FROM xero_credits WHERE tenant_id = ? AND source = ?",
                           (tenant_id, source))
            db.executemany("DELETE FROM xero_credits WHERE tenant_id = ? AND credit_id = ?",
                           [(tenant_id, c) for c in deletes])
            db.executemany(
                "INSERT INTO xero_credits (tenant_id, credit_id, source, side, "
                "xero_contact_id, number, status, issued_on, currency, currency_rate, total, "
                "remaining, updated_utc, fetched_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, credit_id) DO UPDATE SET source = excluded.source, "
                "side = excluded.side, xero_contact_id = excluded.xero_contact_id, "
                "number = excluded.number, status = excluded.status, "
                "issued_on = excluded.issued_on, currency = excluded.currency, "
                "currency_rate = excluded.currency_rate, total = excluded.total, "
                "remaining = excluded.remaining, updated_utc = excluded.updated_utc, "
                "fetched_at = excluded.fetched_at",
                [(tenant_id, c.credit_id, c.source, c.side, c.xero_contact_id, c.number,
                  c.status, None if c.issued_on is None else c.issued_on.isoformat(),
                  c.currency, str(c.currency_rate), str(c.total), str(c.remaining),
                  None if c.updated_utc is None else c.updated_utc.isoformat(),
                  iso(c.fetched_at)) for c in upserts])

    def credits_for_contacts(self, tenant_id: str, contact_ids: list[str]
                             ) -> list[CachedCredit]:
        found: list[CachedCredit] = []
        for marks, chunk in chunks_in(contact_ids):
            found += [credit_row(r) for r in self._db.execute(
                "SELECT * FROM xero_credits WHERE tenant_id = ? AND xero_contact_id IN "  # noqa: S608
                f"({marks})", (tenant_id, *chunk))]
        return sorted(found, key=lambda c: (c.issued_on or date.min, c.number, c.credit_id))

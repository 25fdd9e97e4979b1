"""``details --paid``: the invoices and bills a record's contacts were paid (or paid)
from a day on, each with its payments' dates and amounts, from the cached Payments
list (services/settlements.py keeps it current in one call)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from xerolink.services import settlements, summary
from xerolink.services.context import Deps
from xerolink.services.crm import Ref
from xerolink.services.outcomes import PaidDocuments
from xerolink.store.models import CachedPayment
from xerolink.vocabulary import RecordKind
from xerolink.xero import deeplinks
from xerolink.xero.endpoints import Endpoints


def paid(deps: Deps, ref: Ref, *, since: date | None, kinds: set[str],
         refresh: bool) -> PaidDocuments:
    """``since``: the first payment day listed (None: 90 days before today, in the
    organisation's timezone)."""
    scope = summary.resolve(deps, ref)
    today = summary.organisation_today(deps.now(), deps.connection.timezone)
    first = since or settlements.window_start(today)
    stale, problem = settlements.ensure_since(deps, today, first, refresh_now=refresh)
    if scope.ref.kind == RecordKind.DEAL:
        found = deps.store.payments_for_documents(
            deps.tenant, [d for d, _ in scope.deal_documents], first)
    else:
        found = deps.store.payments_for_contacts(deps.tenant, scope.contact_ids, first)
    rows = _rows(deps, [p for p in found if p.kind in kinds])
    return PaidDocuments(rows, since=first, per_contact=ref.kind == RecordKind.CONTACT,
                         stale=stale, problem=problem)


def _rows(deps: Deps, payments: list[CachedPayment]) -> list[dict[str, Any]]:
    """One row per document, its payments oldest first; rows by last payment."""
    names = summary.contact_names(deps)
    endpoints = Endpoints.at(deps.connection.xero_url)
    short = deps.connection.short_code or ""
    by_document: dict[str, list[CachedPayment]] = {}
    for payment in payments:
        by_document.setdefault(payment.document_id, []).append(payment)
    rows = []
    for document_id, made in by_document.items():
        made.sort(key=lambda p: (p.paid_on, p.payment_id))
        first = made[0]
        rows.append({
            "document_id": document_id, "type": first.kind, "number": first.number,
            "xero_contact_id": first.xero_contact_id,
            "contact": names.get(first.xero_contact_id),
            "currency": first.currency, "paid": sum((p.amount for p in made), Decimal("0.00")),
            "last_paid_on": made[-1].paid_on,
            "payments": [{"payment_id": p.payment_id, "date": p.paid_on, "amount": p.amount}
                         for p in made],
            "link": deeplinks.document(endpoints, short, first.kind, document_id)})
    rows.sort(key=lambda r: (r["last_paid_on"], r["type"], r["number"]))
    return rows

"""Emailing a sales invoice through Xero: the address Xero will use (the contact's
EmailAddress), the email itself (``POST /Invoices/{id}/Email`` with an
Idempotency-Key), and when Xero says an invoice was sent (its History). Each
behaviour and its source: docs/xero-fidelity.md, "Sending invoices"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xerolink.xero.gateway import XeroGateway
from xerolink.xero.jsonutil import ms_datetime, text

# What Xero's history calls an email or a "mark as sent" (the spec's HistoryRecords
# examples and the sandbox's records; undocumented, so both are read as "sent").
SENT_CHANGES = ("emailed", "sent")


@dataclass(frozen=True)
class Recipient:
    """Whom Xero emails an invoice to: the contact's EmailAddress, and the contact
    persons marked IncludeInEmails (copied)."""

    name: str
    email: str
    cc: tuple[str, ...]


def recipient(gateway: XeroGateway, contact_id: str) -> Recipient:
    """The Xero contact's addresses, read fresh (one GET)."""
    raw = gateway.get_contact(contact_id)
    persons = raw.get("ContactPersons")
    cc = tuple(text(p.get("EmailAddress")) for p in persons or []
               if isinstance(p, dict) and p.get("IncludeInEmails") is True
               and text(p.get("EmailAddress"))) if isinstance(persons, list) else ()
    return Recipient(text(raw.get("Name")), text(raw.get("EmailAddress")), cc)


def email_invoice(gateway: XeroGateway, invoice_id: str, idempotency_key: str) -> None:
    """Ask Xero to email the invoice (one call; 204, no body). The key makes a retried
    request, or a rerun after an interruption, the same email, not a second one."""
    from xero_python.accounting import RequestEmpty

    api, tenant = gateway.accounting_api(), gateway._tenant()
    gateway.call("POST Invoices/{id}/Email", lambda: api.email_invoice(
        tenant, invoice_id, RequestEmpty(), idempotency_key=idempotency_key, **gateway.raw),
        idempotent=True, raw_answer=True)


def sent_when(gateway: XeroGateway, invoice_id: str) -> datetime | None:
    """When the invoice's history last says it was emailed or marked sent (one GET),
    or None when it does not say."""
    api, tenant = gateway.accounting_api(), gateway._tenant()
    data = gateway.call("GET Invoices/{id}/History", lambda: api.get_invoice_history(
        tenant, invoice_id, **gateway.raw), idempotent=True)
    records = data.get("HistoryRecords") if isinstance(data, dict) else None
    moments = [_moment(r) for r in records or [] if isinstance(r, dict)
               and text(r.get("Changes")).lower() in SENT_CHANGES]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def _moment(record: dict[str, Any]) -> datetime | None:
    try:
        return ms_datetime(record.get("DateUTC"))
    except ValueError:  # MalformedAnswer: a date out of range says nothing
        return None

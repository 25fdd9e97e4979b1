"""Approving a document in Xero: read it fresh, change its status, note why in its
history. Kept apart from ``gateway.py`` so that each write is one call through
``Transport.call`` with a typed answer (docs/xero-fidelity.md, "Approving")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xerolink.errors import NotFoundError
from xerolink.store.models import CachedDocument
from xerolink.vocabulary import DocumentKind
from xerolink.xero import models
from xerolink.xero.gateway import XeroGateway
from xerolink.xero.jsonutil import text

# Xero's History note: Details is required; its maximum length is undocumented, and
# the stricter reading of it (2,500 characters) is kept.
MAX_NOTE = 2500


@dataclass(frozen=True)
class FreshDocument:
    """A document as Xero has it now, with the contact's name Xero gives beside it."""

    document: CachedDocument
    contact_name: str
    sent_to_contact: bool = False  # Xero's SentToContact: emailed (or marked sent)


def read_fresh(gateway: XeroGateway, document_id: str, kind: str | None,
               fetched_at: datetime, base_currency: str | None) -> FreshDocument:
    """One GET when the kind is known (invoices and bills by ``IDs``, a quote by its
    id); an unknown kind tries invoices first, then quotes (two calls at most)."""
    if kind != DocumentKind.QUOTE:
        items, _ = gateway.invoices_page(1, ids=[document_id])
        if items:
            raw = items[0]
            return FreshDocument(models.invoice(raw, fetched_at, base_currency=base_currency),
                                 _contact_name(raw), raw.get("SentToContact") is True)
        if kind is not None:
            raise NotFoundError(f"Xero has no invoice or bill {document_id}")
    raw = gateway.get_quote(document_id)
    return FreshDocument(models.quote(raw, fetched_at, base_currency=base_currency),
                         _contact_name(raw))


def set_status(gateway: XeroGateway, doc: CachedDocument, status: str,
               fetched_at: datetime) -> CachedDocument:
    """POST the new status (one call, with an Idempotency-Key so a retried request is
    not a second change); the document as Xero answers it."""
    api, tenant = gateway.accounting_api(), gateway._tenant()
    key = str(uuid.uuid4())
    if doc.kind == DocumentKind.QUOTE:
        body = {"Quotes": [_quote_update(doc, status)]}
        data = gateway.call("POST Quotes/{id}", lambda: api.update_quote(
            tenant, doc.document_id, body, idempotency_key=key, **gateway.raw),
            idempotent=True)
        return models.quote(_first(data, "Quotes", doc), fetched_at)
    body = {"Invoices": [{"InvoiceID": doc.document_id, "Status": status}]}
    data = gateway.call("POST Invoices/{id}", lambda: api.update_invoice(
        tenant, doc.document_id, body, idempotency_key=key, **gateway.raw), idempotent=True)
    return models.invoice(_first(data, "Invoices", doc), fetched_at)


def add_note(gateway: XeroGateway, doc: CachedDocument, note: str) -> None:
    """PUT one History record on the document (one call)."""
    api, tenant = gateway.accounting_api(), gateway._tenant()
    body = {"HistoryRecords": [{"Details": note[:MAX_NOTE]}]}
    key = str(uuid.uuid4())
    if doc.kind == DocumentKind.QUOTE:
        gateway.call("PUT Quotes/{id}/History", lambda: api.create_quote_history(
            tenant, doc.document_id, body, idempotency_key=key, **gateway.raw),
            idempotent=True)
        return
    gateway.call("PUT Invoices/{id}/History", lambda: api.create_invoice_history(
        tenant, doc.document_id, body, idempotency_key=key, **gateway.raw), idempotent=True)


def _quote_update(doc: CachedDocument, status: str) -> dict[str, Any]:
    """Xero's quote update: Contact and Date are required on a quote it is sent
    (docs/xero-fidelity.md: whether an update needs them is undocumented; sent)."""
    fields: dict[str, Any] = {"QuoteID": doc.document_id, "Status": status,
                              "Contact": {"ContactID": doc.xero_contact_id}}
    if doc.issue_date is not None:
        fields["Date"] = doc.issue_date.isoformat()
    return fields


def _first(data: Any, key: str, doc: CachedDocument) -> dict[str, Any]:
    try:
        return dict(data[key][0])
    except (KeyError, IndexError, TypeError):
        raise NotFoundError(f"Xero did not return {doc.kind} {doc.number or doc.document_id}"
                            " after approving it; run `xerolink refresh` to see it") from None


def _contact_name(raw: dict[str, Any]) -> str:
    contact = raw.get("Contact")
    return text(contact.get("Name")) if isinstance(contact, dict) else ""

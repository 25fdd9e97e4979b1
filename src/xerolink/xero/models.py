"""Xero's JSON, as parsed by the gateway (amounts already Decimal), into xerolink's
records. The only place that knows Xero's field names for these resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xerolink.store.records import CachedDocument, XeroContact
from xerolink.xero.jsonutil import ms_datetime, text


def contact(data: dict[str, Any]) -> XeroContact:
    persons = tuple(
        (text(p.get("FirstName")), text(p.get("LastName")), text(p.get("EmailAddress")).lower())
        for p in data.get("ContactPersons") or [] if isinstance(p, dict)
    )
    return XeroContact(
        contact_id=text(data.get("ContactID")).lower(),
        name=text(data.get("Name")),
        status=text(data.get("ContactStatus")) or "ACTIVE",
        first_name=text(data.get("FirstName")),
        last_name=text(data.get("LastName")),
        email=text(data.get("EmailAddress")).lower(),
        persons=persons,
        updated_utc=ms_datetime(data.get("UpdatedDateUTC")),
    )


OPEN_QUOTE_STATUSES = ("DRAFT", "SENT")
OPEN_INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")


def invoice(data: dict[str, Any], fetched_at: datetime) -> CachedDocument:
    """An invoice (ACCREC) or bill (ACCPAY) as a cached document."""
    from xerolink.xero.jsonutil import amount, money, ms_date

    return CachedDocument(
        document_id=text(data.get("InvoiceID")).lower(),
        kind="bill" if text(data.get("Type")).upper() == "ACCPAY" else "invoice",
        xero_contact_id=text((data.get("Contact") or {}).get("ContactID")).lower(),
        number=text(data.get("InvoiceNumber")),
        reference=text(data.get("Reference")),
        status=text(data.get("Status")).upper(),
        issue_date=ms_date(data.get("Date")),
        due_date=ms_date(data.get("DueDate")),
        currency=text(data.get("CurrencyCode")).upper(),
        currency_rate=amount(data.get("CurrencyRate")) or amount(1),
        total=money(data.get("Total")),
        amount_due=money(data.get("AmountDue")),
        updated_utc=ms_datetime(data.get("UpdatedDateUTC")),
        fetched_at=fetched_at,
    )


def quote(data: dict[str, Any], fetched_at: datetime) -> CachedDocument:
    from xerolink.xero.jsonutil import amount, money, ms_date

    return CachedDocument(
        document_id=text(data.get("QuoteID")).lower(),
        kind="quote",
        xero_contact_id=text((data.get("Contact") or {}).get("ContactID")).lower(),
        number=text(data.get("QuoteNumber")),
        reference=text(data.get("Reference")),
        status=text(data.get("Status")).upper(),
        issue_date=ms_date(data.get("Date")),
        due_date=ms_date(data.get("ExpiryDate")),
        currency=text(data.get("CurrencyCode")).upper(),
        currency_rate=amount(data.get("CurrencyRate")) or amount(1),
        total=money(data.get("Total")),
        amount_due=money(0),
        updated_utc=ms_datetime(data.get("UpdatedDateUTC")),
        fetched_at=fetched_at,
    )

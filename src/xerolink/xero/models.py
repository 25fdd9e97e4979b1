"""Xero's JSON, as parsed by the gateway (amounts already Decimal), into xerolink's
records: what the gateway's typed reads return. What is written is built in
drafts.py; Xero's field names live in xero/ only (tests/foundation/test_vocabulary.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from xerolink.errors import XeroUnreachableError
from xerolink.store.models import CachedCredit, CachedDocument, CachedPayment, XeroContact
from xerolink.vocabulary import ContactStatus
from xerolink.xero.jsonutil import MalformedAnswer, amount, money, ms_date, ms_datetime, rate, text


@contextmanager
def _read(what: str) -> Iterator[None]:
    """A value in an answer that is not a bounded amount, rate or date is the server's
    fault (exit 7, as for HTML or truncated JSON), named with its document."""
    try:
        yield
    except MalformedAnswer as exc:
        raise XeroUnreachableError(f"Xero's answer for {what} could not be read ({exc}); "
                                   "try again") from None


def _field(what: str, data: dict[str, Any], name: str, parse: Callable[[Any], Any]) -> Any:
    with _read(f"{what}, its {name}"):
        return parse(data.get(name))


def _label(kind: str, number: str, ident: str) -> str:
    return f"{kind} {(number or ident)[:40]!r}"


def _rate(what: str, data: dict[str, Any], base_currency: str | None) -> Decimal:
    """The document's currency rate. A missing one is 1 on a base-currency document
    (Xero may leave it out there); on a document in another currency its base amount
    would be unknown, and Xero always sends one (docs/xero-fidelity.md): malformed."""
    found: Decimal | None = _field(what, data, "CurrencyRate", rate)
    if found is not None:
        return found
    currency = text(data.get("CurrencyCode")).upper()
    if base_currency and currency and currency != base_currency.upper():
        raise XeroUnreachableError(
            f"Xero's answer for {what} could not be read (a {currency[:3]!r} document "
            f"with no CurrencyRate, so its {base_currency} amount is unknown); try again")
    return amount(1)


def _contact_id(data: dict[str, Any]) -> str:
    found = data.get("Contact")
    return text(found.get("ContactID")).lower() if isinstance(found, dict) else ""


def contact(data: dict[str, Any]) -> XeroContact:
    persons = tuple(
        (text(p.get("FirstName")), text(p.get("LastName")), text(p.get("EmailAddress")).lower())
        for p in data.get("ContactPersons") or [] if isinstance(p, dict)
    )
    return XeroContact(
        contact_id=text(data.get("ContactID")).lower(),
        name=text(data.get("Name")),
        status=text(data.get("ContactStatus")) or ContactStatus.ACTIVE.value,
        first_name=text(data.get("FirstName")),
        last_name=text(data.get("LastName")),
        email=text(data.get("EmailAddress")).lower(),
        persons=persons,
        updated_utc=_field(_label("contact", text(data.get("Name")),
                                  text(data.get("ContactID"))),
                           data, "UpdatedDateUTC", ms_datetime),
    )




def invoice(data: dict[str, Any], fetched_at: datetime, *,
            base_currency: str | None = None) -> CachedDocument:
    """An invoice (ACCREC) or bill (ACCPAY) as a cached document; ``base_currency``,
    where known, is the organisation's (a missing rate is then refused off it)."""
    kind = "bill" if text(data.get("Type")).upper() == "ACCPAY" else "invoice"
    what = _label(kind, text(data.get("InvoiceNumber")), text(data.get("InvoiceID")))
    return CachedDocument(
        document_id=text(data.get("InvoiceID")).lower(),
        kind=kind,
        xero_contact_id=_contact_id(data),
        number=text(data.get("InvoiceNumber")),
        reference=text(data.get("Reference")),
        status=text(data.get("Status")).upper(),
        issue_date=_field(what, data, "Date", ms_date),
        due_date=_field(what, data, "DueDate", ms_date),
        currency=text(data.get("CurrencyCode")).upper(),
        currency_rate=_rate(what, data, base_currency),
        total=_field(what, data, "Total", money),
        amount_due=_field(what, data, "AmountDue", money),
        updated_utc=_field(what, data, "UpdatedDateUTC", ms_datetime),
        fetched_at=fetched_at,
    )


def quote(data: dict[str, Any], fetched_at: datetime, *,
          base_currency: str | None = None) -> CachedDocument:
    what = _label("quote", text(data.get("QuoteNumber")), text(data.get("QuoteID")))
    return CachedDocument(
        document_id=text(data.get("QuoteID")).lower(),
        kind="quote",
        xero_contact_id=_contact_id(data),
        number=text(data.get("QuoteNumber")),
        reference=text(data.get("Reference")),
        status=text(data.get("Status")).upper(),
        issue_date=_field(what, data, "Date", ms_date),
        due_date=_field(what, data, "ExpiryDate", ms_date),
        currency=text(data.get("CurrencyCode")).upper(),
        currency_rate=_rate(what, data, base_currency),
        total=_field(what, data, "Total", money),
        amount_due=money(0),
        updated_utc=_field(what, data, "UpdatedDateUTC", ms_datetime),
        fetched_at=fetched_at,
    )


# What each credit list calls its id and number, and the Types that are a customer's
# credit (against sales invoices); the others are a supplier's (against bills).
CREDIT_SOURCES: dict[str, tuple[str, str]] = {
    "credit_note": ("CreditNoteID", "CreditNoteNumber"),
    "overpayment": ("OverpaymentID", "Reference"),
    "prepayment": ("PrepaymentID", "Reference"),
}
CUSTOMER_CREDIT_TYPES = frozenset({"ACCRECCREDIT", "RECEIVE-OVERPAYMENT", "RECEIVE-PREPAYMENT",
                                   "AROVERPAYMENT", "ARPREPAYMENT"})  # the enums, AR side


def payment(data: dict[str, Any], fetched_at: datetime, *,
            base_currency: str | None = None) -> CachedPayment | None:
    """A payment on an invoice or bill; None for one that settles no invoice (a
    refund of a credit note, overpayment or prepayment carries no ``Invoice``)."""
    found = data.get("Invoice")
    if not isinstance(found, dict) or not _guid(found.get("InvoiceID")):
        return None
    kind = "bill" if text(found.get("Type")).upper() == "ACCPAY" else "invoice"
    number = text(found.get("InvoiceNumber"))
    what = f"the payment {text(data.get('PaymentID'))[:40]!r} on {_label(kind, number, '')}"
    currency = text(found.get("CurrencyCode")).upper() or (base_currency or "").upper()
    paid_on = _field(what, data, "Date", ms_date)
    if paid_on is None:
        raise XeroUnreachableError(f"Xero's answer for {what} could not be read (it has no "
                                   "Date); try again")
    return CachedPayment(
        payment_id=text(data.get("PaymentID")).lower(),
        document_id=str(_guid(found.get("InvoiceID"))),
        kind=kind, number=number, xero_contact_id=_contact_id(found), paid_on=paid_on,
        amount=_field(what, data, "Amount", money), currency=currency,
        currency_rate=_rate(what, {**data, "CurrencyCode": currency}, base_currency),
        status=text(data.get("Status")).upper(),
        updated_utc=_field(what, data, "UpdatedDateUTC", ms_datetime),
        fetched_at=fetched_at)


def credit(source: str, data: dict[str, Any], fetched_at: datetime, *,
           base_currency: str | None = None) -> CachedCredit:
    """A credit note, overpayment or prepayment (``source``) as cached credit."""
    id_key, number_key = CREDIT_SOURCES[source]
    number = text(data.get(number_key))
    what = _label(source.replace("_", " "), number, text(data.get(id_key)))
    kind = text(data.get("Type")).upper()
    return CachedCredit(
        credit_id=text(data.get(id_key)).lower(), source=source,
        side="invoice" if kind in CUSTOMER_CREDIT_TYPES else "bill",
        xero_contact_id=_contact_id(data), number=number,
        status=text(data.get("Status")).upper(),
        issued_on=_field(what, data, "Date", ms_date),
        currency=text(data.get("CurrencyCode")).upper(),
        currency_rate=_rate(what, data, base_currency),
        total=_field(what, data, "Total", money),
        remaining=_field(what, data, "RemainingCredit", money),
        updated_utc=_field(what, data, "UpdatedDateUTC", ms_datetime),
        fetched_at=fetched_at)


def allocated_invoices(credit_note: dict[str, Any]) -> list[str]:
    """The InvoiceIDs a credit note's Allocations name (what is not an id is skipped)."""
    found = []
    for allocation in credit_note.get("Allocations") or []:
        invoice = allocation.get("Invoice") if isinstance(allocation, dict) else None
        invoice_id = _guid(invoice.get("InvoiceID")) if isinstance(invoice, dict) else None
        if invoice_id is not None:
            found.append(invoice_id)
    return found


def _guid(value: object) -> str | None:
    text = str(value or "").strip().lower()
    return text if len(text) == 36 and set(text) <= set("0123456789abcdef-") else None

"""What xerolink sends Xero, typed: a document draft (a quote, a draft invoice or a
draft bill) with its lines, and a contact to create. Each knows its Xero payload, so
Xero's field names for writes live here and in the gateway only; services build
drafts from what people type and check them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Day  # Draft has a field named date
from decimal import Decimal
from typing import Any

from xerolink.vocabulary import DocumentKind, Status


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None = None
    tax_type: str | None = None

    def as_xero(self) -> dict[str, Any]:
        line: dict[str, Any] = {"Description": self.description, "Quantity": self.quantity,
                                "UnitAmount": self.unit_amount}
        if self.account_code:
            line["AccountCode"] = self.account_code
        if self.tax_type:
            line["TaxType"] = self.tax_type
        return line


@dataclass
class Draft:
    kind: str  # a DocumentKind
    lines: list[Line]
    date: Day | None = None
    due_date: Day | None = None
    expiry_date: Day | None = None
    title: str | None = None
    reference: str | None = None
    currency: str | None = None
    summary: str | None = None  # a quote's summary (its file's "summary")


def payload(draft: Draft, contact_id: str) -> dict[str, Any]:
    """The draft as Xero's PUT Quotes or PUT Invoices takes it, always in DRAFT."""
    fields: dict[str, Any] = {"Contact": {"ContactID": contact_id},
                              "Date": draft.date.isoformat() if draft.date else None,
                              "LineItems": [line.as_xero() for line in draft.lines],
                              "Status": Status.DRAFT.value}
    if draft.kind != DocumentKind.QUOTE:
        fields["Type"] = "ACCPAY" if draft.kind == DocumentKind.BILL else "ACCREC"
        fields["LineAmountTypes"] = "Exclusive"
        if draft.due_date:
            fields["DueDate"] = draft.due_date.isoformat()
    else:
        fields["LineAmountTypes"] = "EXCLUSIVE"
        if draft.expiry_date:
            fields["ExpiryDate"] = draft.expiry_date.isoformat()
        if draft.title:
            fields["Title"] = draft.title
    if draft.reference:
        fields["Reference"] = draft.reference
    if draft.currency:
        fields["CurrencyCode"] = draft.currency
    if draft.summary is not None:
        fields["Summary"] = draft.summary
    return fields


def made_by(draft: Draft, fields: dict[str, Any], raw: dict[str, Any],
            subtotal: Decimal) -> bool:
    """Whether a document Xero holds is the one this payload made: type, dates,
    reference, status, currency and the lines' subtotal all agree."""
    wanted = {"Date": fields.get("Date"), "DueDate": fields.get("DueDate"),
              "ExpiryDate": fields.get("ExpiryDate"), "Type": fields.get("Type"),
              "Reference": fields.get("Reference") or "", "Status": Status.DRAFT.value}
    seen = {"Date": _day(raw.get("DateString")), "DueDate": _day(raw.get("DueDateString")),
            "ExpiryDate": _day(raw.get("ExpiryDateString")), "Type": raw.get("Type"),
            "Reference": raw.get("Reference") or "", "Status": raw.get("Status")}
    if any(wanted[k] is not None and wanted[k] != seen[k] for k in wanted):
        return False
    if draft.currency and raw.get("CurrencyCode") != draft.currency:
        return False
    return Decimal(str(raw.get("SubTotal", "0"))) == subtotal


def _day(text: Any) -> str | None:
    return str(text)[:10] if text else None


@dataclass(frozen=True)
class NewContact:
    """A Xero contact to create from a CRM contact."""

    name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    tenant_name: str = ""  # the organisation it would be created in (a preview's)

    def as_xero(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"Name": self.name}
        if self.first_name:
            fields["FirstName"] = self.first_name
        if self.last_name:
            fields["LastName"] = self.last_name
        if self.email:
            fields["EmailAddress"] = self.email
        if self.phone:
            fields["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": self.phone}]
        return fields

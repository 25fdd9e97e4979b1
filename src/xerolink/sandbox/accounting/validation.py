"""The sandbox's validation of what a client writes, with Xero's messages: every
element is checked before anything changes (Xero's summarizeErrors)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from xerolink.formats import EMAIL
from xerolink.sandbox.accounting.common import BadRequest, NotFound
from xerolink.sandbox.xerojson import parse_date

PUT_CREATES = ("PUT creates new records only; this one exists already: use POST to update "
                "it")
CONTACT_FIELDS = {"ContactID", "ContactNumber", "ContactStatus", "Name", "FirstName", "LastName",
                  "EmailAddress", "IsSupplier", "IsCustomer", "UpdatedDateUTC", "DefaultCurrency"}
DOCUMENT_FIELDS = {"InvoiceID", "QuoteID", "Type", "Status", "InvoiceNumber", "QuoteNumber",
                   "Reference", "Date", "DueDate", "ExpiryDate", "AmountDue", "AmountPaid",
                   "Total", "SubTotal", "CurrencyCode", "UpdatedDateUTC"}
INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
QUOTE_STATUSES = ("DRAFT", "SENT", "DECLINED", "ACCEPTED", "INVOICED", "DELETED")
INVOICE_TRANSITIONS = {"DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"},
                       "SUBMITTED": {"AUTHORISED", "DRAFT", "DELETED"},
                       "AUTHORISED": {"VOIDED"}, "PAID": set(), "VOIDED": set(), "DELETED": set()}
QUOTE_TRANSITIONS = {"DRAFT": {"SENT", "DELETED"}, "SENT": {"ACCEPTED", "DECLINED", "DRAFT",
                                                            "DELETED"},
                     "ACCEPTED": {"INVOICED", "SENT"}, "DECLINED": {"SENT", "DELETED"},
                     "INVOICED": set(), "DELETED": set()}



Validator = Callable[[dict[str, Any]], tuple[list[str], dict[str, Any]]]


def stage(method: str, elements: list[dict[str, Any]], item: str | None, id_key: str,
           existing_by_id: dict[str, dict[str, Any]], transitions: dict[str, set[str]],
           validate_new: Validator) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """Validate every element before anything changes: Xero's summarizeErrors, where one
    bad element fails the whole request. Returns (existing or None, fields) pairs. PUT
    only creates; POST creates or updates."""
    staged: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
    failed = False
    for element in elements:
        document_id = (item or element.get(id_key) or "").lower()
        existing = existing_by_id.get(document_id) if document_id else None
        if document_id and existing is None:
            raise NotFound
        if existing is not None and method == "PUT":
            raise BadRequest([PUT_CREATES], {id_key: document_id})
        if existing is not None:
            errors, fields = validate_document_update(element, existing, transitions)
        else:
            errors, fields = validate_new(element)
        failed = failed or bool(errors)
        staged.append((existing, fields if not errors else
                       {**element, "ValidationErrors": [{"Message": m} for m in errors]}))
    if failed:
        raise BadRequest(["validation failed"], elements=[e for _, e in staged])
    return staged


def decimal_of(value: Any, label: str, errors: list[str]) -> Decimal | None:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(f"{label} must be a number")
        return None
    if not number.is_finite():
        errors.append(f"{label} must be a finite number")
        return None
    if abs(number) >= Decimal("1e12"):
        errors.append(f"{label} is too large")
        return None
    return number


def dates_of(element: dict[str, Any], keys: tuple[str, ...], errors: list[str]
           ) -> tuple[date | None, ...]:
    out = []
    for key in keys:
        try:
            out.append(parse_date(element.get(key)))
        except ValueError:
            errors.append(f"{key} is not a valid date")
            out.append(None)
    return tuple(out)


def validate_contact(element: dict[str, Any], existing: dict[str, Any] | None
                      ) -> tuple[list[str], dict[str, Any]]:
    errors: list[str] = []
    fields: dict[str, Any] = {}
    if existing is None or "Name" in element:
        name = str(element.get("Name") or "").strip()
        if not name:
            errors.append("The contact name must be specified")
        elif len(name) > 255:
            errors.append("The contact name must be 255 characters or fewer")
        fields["Name"] = name
    for key in ("FirstName", "LastName"):
        if key in element:
            value = str(element.get(key) or "").strip()
            if len(value) > 255:
                errors.append(f"{key} must be 255 characters or fewer")
            fields[key] = value
    if "EmailAddress" in element:
        email = str(element.get("EmailAddress") or "").strip()
        if email and (len(email) > 255 or not EMAIL.match(email)):
            errors.append("The Email Address must be valid.")
        fields["EmailAddress"] = email
    if "ContactPersons" in element:
        persons = element["ContactPersons"]
        if not isinstance(persons, list) or not all(isinstance(p, dict) for p in persons):
            errors.append("ContactPersons must be a list")
        else:
            cleaned = []
            for person in persons:
                email = str(person.get("EmailAddress") or "").strip()
                if email and not EMAIL.match(email):
                    errors.append("The Email Address must be valid.")
                cleaned.append({"FirstName": str(person.get("FirstName") or ""),
                                "LastName": str(person.get("LastName") or ""),
                                "EmailAddress": email,
                                "IncludeInEmails": bool(person.get("IncludeInEmails"))})
            fields["ContactPersons"] = cleaned
    if "ContactStatus" in element:
        status = str(element["ContactStatus"]).upper()
        if status not in ("ACTIVE", "ARCHIVED"):
            errors.append("ContactStatus must be ACTIVE or ARCHIVED")
        fields["ContactStatus"] = status
    for key in ("IsCustomer", "IsSupplier"):
        if key in element:
            fields[key] = bool(element[key])
    if "Phones" in element and isinstance(element["Phones"], list):
        fields["Phones"] = [p for p in element["Phones"] if isinstance(p, dict)]
    if element.get("DefaultCurrency"):
        fields["DefaultCurrency"] = str(element["DefaultCurrency"]).upper()
    return errors, fields


def validate_document_update(element: dict[str, Any], existing: dict[str, Any],
                              transitions: dict[str, set[str]]
                              ) -> tuple[list[str], dict[str, Any]]:
    """Updates the sandbox supports: a status change along Xero's allowed transitions,
    and Reference."""
    errors: list[str] = []
    fields: dict[str, Any] = {}
    if "Status" in element:
        status = str(element["Status"]).upper()
        if status != existing["Status"] and status not in transitions.get(existing["Status"],
                                                                          set()):
            errors.append(f"A document with status {existing['Status']} cannot be changed "
                          f"to {status[:20]}")
        elif status != existing["Status"]:
            errors += _transition_errors(existing, status)
        fields["Status"] = status
    if "Reference" in element:
        fields["Reference"] = str(element["Reference"] or "")[:255]
    if "SentToContact" in element and "InvoiceID" in existing:
        # Xero: "This can be set only on invoices that have been approved".
        if fields.get("Status", existing["Status"]) not in ("AUTHORISED", "PAID"):
            errors.append("SentToContact can be set only on invoices that have been "
                          "approved")
        fields["SentToContact"] = element["SentToContact"] is True
    if not fields:
        errors.append("Nothing to update: the sandbox updates Status, Reference and "
                      "SentToContact")
    return errors, fields


def _transition_errors(existing: dict[str, Any], status: str) -> list[str]:
    """What an allowed status change still needs: an invoice or bill is approved only
    as complete as one created approved (a due date, lines, each with an account), and
    one with a payment or credit applied is not voided (docs/xero-fidelity.md)."""
    if "InvoiceID" not in existing:
        return []
    errors = []
    if status in ("SUBMITTED", "AUTHORISED"):
        if existing.get("DueDate") is None:
            errors.append("Due Date must be specified for an approved invoice")
        lines = existing.get("LineItems") or []
        if not lines:
            errors.append("At least one line item is required for an approved invoice")
        if any(not line.get("AccountCode") for line in lines):
            errors.append("Account code must be specified for each line")
    if status in ("VOIDED", "DELETED") and (existing["AmountPaid"] > 0
                                           or existing["AmountCredited"] > 0):
        errors.append("This document cannot be voided: it has payments or credit "
                      "allocated to it; remove them first")
    return errors

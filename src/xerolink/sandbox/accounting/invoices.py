"""Invoices and bills: reading (by ids, numbers, contacts, statuses, summaryOnly) and writing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from xerolink.sandbox.accounting.common import (
    BadRequest,
    NotFound,
    elements_of,
    line_json,
    unit_places,
)
from xerolink.sandbox.accounting.contacts import Contacts
from xerolink.sandbox.accounting.validation import (
    DOCUMENT_FIELDS,
    INVOICE_STATUSES,
    INVOICE_TRANSITIONS,
    dates_of,
    decimal_of,
    stage,
)
from xerolink.sandbox.seed import Tenant, line_amounts
from xerolink.sandbox.state import Response
from xerolink.sandbox.where import WhereError
from xerolink.sandbox.xerojson import date_string, ms_date


class Invoices(Contacts):
    def _document_resolver(self, tenant: Tenant) -> Callable[[Any, list[str]], Any]:
        def resolve(record: dict[str, Any], path: list[str]) -> Any:
            if path[0] == "Contact":
                contact = tenant.contacts.get(record["ContactID"], {})
                if len(path) == 2 and path[1] in ("ContactID", "Name", "ContactNumber"):
                    value = contact.get(path[1])
                    return value.lower() if path[1] == "ContactID" and value else value
                raise WhereError(f"unknown field {'.'.join(path)}")
            if len(path) != 1 or path[0] not in DOCUMENT_FIELDS:
                raise WhereError(f"unknown field {'.'.join(path)}")
            value = record.get(path[0])
            return value.lower() if isinstance(value, str) and path[0].endswith("ID") else value

        return resolve

    def invoice_json(self, tenant: Tenant, inv: dict[str, Any], *, lines: bool,
                     places: int = 4) -> dict[str, Any]:
        contact = tenant.contacts.get(inv["ContactID"], {})
        out: dict[str, Any] = {
            "Type": inv["Type"],
            "InvoiceID": inv["InvoiceID"],
            "InvoiceNumber": inv["InvoiceNumber"],
            "Reference": inv.get("Reference", ""),
            "Contact": {"ContactID": inv["ContactID"], "Name": contact.get("Name", ""),
                        "HasValidationErrors": False},
            "Date": ms_date(inv["Date"]),
            "DateString": date_string(inv["Date"]),
            "Status": inv["Status"],
            "LineAmountTypes": inv["LineAmountTypes"],
            "SubTotal": inv["SubTotal"],
            "TotalTax": inv["TotalTax"],
            "Total": inv["Total"],
            "TotalDiscount": Decimal("0"),
            "AmountDue": inv["AmountDue"],
            "AmountPaid": inv["AmountPaid"],
            "AmountCredited": inv["AmountCredited"],
            "CurrencyCode": inv["CurrencyCode"],
            "SentToContact": inv.get("SentToContact", False),
            "IsDiscounted": False,
            "HasAttachments": False,
            "HasErrors": False,
            "UpdatedDateUTC": ms_date(inv["UpdatedDateUTC"]),
        }
        if self.forms().currency_rate or inv["CurrencyCode"] != tenant.base_currency:
            out["CurrencyRate"] = inv["CurrencyRate"]
        if inv.get("DueDate"):
            out["DueDate"] = ms_date(inv["DueDate"])
            out["DueDateString"] = date_string(inv["DueDate"])
        if inv.get("FullyPaidOnDate"):
            out["FullyPaidOnDate"] = ms_date(inv["FullyPaidOnDate"])
        if lines:
            out["LineItems"] = [line_json(line, places) for line in inv["LineItems"]]
            out["Payments"] = self.invoice_payments(tenant, inv["InvoiceID"])
            out["CreditNotes"] = self.invoice_credit_notes(tenant, inv["InvoiceID"])
            out["Prepayments"] = self.invoice_credits(tenant, inv["InvoiceID"], "prepayments")
            out["Overpayments"] = self.invoice_credits(tenant, inv["InvoiceID"], "overpayments")
        return out

    def invoice_payments(self, tenant: Tenant, invoice_id: str) -> list[dict[str, Any]]:
        return []  # where payments are kept (settlements), their references

    def invoice_credit_notes(self, tenant: Tenant, invoice_id: str) -> list[dict[str, Any]]:
        return []  # likewise, the credit notes allocated to the invoice

    def invoice_credits(self, tenant: Tenant, invoice_id: str, kind: str
                        ) -> list[dict[str, Any]]:
        return []  # and its overpayments and prepayments

    def get_invoices(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                     item: str | None) -> Response:
        if item is not None:
            inv = tenant.invoices.get(item.lower()) or next(
                (i for i in tenant.invoices.values() if i["InvoiceNumber"] == item), None)
            if inv is None:
                raise NotFound
            return self.envelope("Invoices", [self.invoice_json(tenant, inv, lines=True,
                                                                places=unit_places(q))])
        page, size = self._page(q, 100)
        summary = q.get("summaryonly", "").lower() == "true"
        ids = self._guids(q.get("ids"), "IDs")
        contact_ids = self._guids(q.get("contactids"), "ContactIDs")
        numbers = [n.strip() for n in q.get("invoicenumbers", "").split(",") if n.strip()]
        statuses = [s.strip().upper() for s in q.get("statuses", "").split(",") if s.strip()]
        unknown = [s for s in statuses if s not in INVOICE_STATUSES]
        if unknown:
            raise BadRequest([f"Statuses contains an invalid status: {unknown[0][:30]}"])
        since = self._modified_since(headers)
        if ids is not None:
            items = [tenant.invoices[i] for i in ids if i in tenant.invoices]
        elif contact_ids is not None:
            items = [tenant.invoices[i] for c in dict.fromkeys(contact_ids)
                     for i in tenant.invoices_by_contact.get(c, [])]
        else:
            items = list(tenant.invoices.values())
        if contact_ids is not None and ids is not None:
            wanted = set(contact_ids)
            items = [i for i in items if i["ContactID"] in wanted]
        if numbers:
            wanted_numbers = set(numbers)
            items = [i for i in items if i["InvoiceNumber"] in wanted_numbers]
        if statuses:
            wanted_statuses = set(statuses)
            items = [i for i in items if i["Status"] in wanted_statuses]
        if since is not None:
            items = [i for i in items if i["UpdatedDateUTC"] >= since]
        term = (q.get("searchterm") or "").strip().lower()
        if term:
            items = [i for i in items if term in i["InvoiceNumber"].lower()
                     or term in (i.get("Reference") or "").lower()]
        resolve = self._document_resolver(tenant)
        items = list(self._where(items, q.get("where"), resolve))
        items = self._order(items, q.get("order"), resolve)
        chosen, meta = self._paginate(items, page, size)
        lines = page is not None and not summary
        return self.envelope("Invoices",
                             [self.invoice_json(tenant, i, lines=lines, places=unit_places(q))
                              for i in chosen], meta)

    def write_invoices(self, tenant: Tenant, method: str, body: bytes, item: str | None,
                       places: int) -> Response:
        numbers_seen: set[str] = set()
        staged = stage(method, elements_of(body, "Invoices"), item, "InvoiceID",
                        tenant.invoices, INVOICE_TRANSITIONS,
                        lambda e: self._validate_invoice(tenant, e, numbers_seen, places))

        def create(fields: dict[str, Any]) -> dict[str, Any]:
            invoice = {**fields, "InvoiceID": str(uuid.uuid4())}
            if invoice["Type"] == "ACCREC" and not invoice["InvoiceNumber"]:
                invoice["InvoiceNumber"] = f"INV-{tenant.next_invoice_number:05d}"
                tenant.next_invoice_number += 1
            for line in invoice["LineItems"]:
                line["LineItemID"] = str(uuid.uuid4())
            tenant.invoices[invoice["InvoiceID"]] = invoice
            tenant.invoices_by_contact[invoice["ContactID"]].append(invoice["InvoiceID"])
            return invoice

        def update(existing: dict[str, Any], fields: dict[str, Any]) -> None:
            existing.update(fields)
            if existing["Status"] in ("VOIDED", "DELETED"):
                existing["AmountDue"] = Decimal("0")

        results = [self.invoice_json(tenant, invoice, lines=True, places=places)
                   for invoice in self.commit(staged, create, update, tenant=tenant)]
        return self.envelope("Invoices", results)

    def _validate_invoice(self, tenant: Tenant, element: dict[str, Any],
                          numbers_seen: set[str], places: int
                          ) -> tuple[list[str], dict[str, Any]]:
        errors: list[str] = []
        kind = element.get("Type")
        if kind not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be specified as ACCREC or ACCPAY")
        status = (element.get("Status") or "DRAFT").upper()
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Invoice status {status} is not valid when creating an invoice")
        contact_id = self._contact_for(tenant, element, errors)
        issued, due = dates_of(element, ("Date", "DueDate"), errors)
        issued = issued or self.today(tenant)
        if status != "DRAFT" and due is None:
            errors.append("Due Date must be specified for an approved invoice")
        if due is not None and due < issued:
            errors.append("Due Date must not be before the invoice Date")
        amount_types = element.get("LineAmountTypes") or "Exclusive"
        if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
            amount_types = "Exclusive"
        sales = kind != "ACCPAY"
        lines = self._lines(tenant, element.get("LineItems"), errors, sales=sales,
                            require_account=status != "DRAFT", places=places)
        if status != "DRAFT" and not lines:
            errors.append("At least one line item is required for an approved invoice")
        currency, rate = self._currency(tenant, element, contact_id, errors)
        number = str(element.get("InvoiceNumber") or "").strip()
        if number and kind == "ACCREC":
            taken = number in numbers_seen or any(
                i["InvoiceNumber"] == number and i["Type"] == "ACCREC"
                for i in tenant.invoices.values())
            if taken:
                errors.append("Invoice # must be unique.")
            numbers_seen.add(number)
        reference = str(element.get("Reference") or "")
        if len(reference) > 255:
            errors.append("Reference must be 255 characters or fewer")
        if errors:
            return errors, {}
        sub_total, total_tax, total = line_amounts(lines, tenant.tax_rates, amount_types)
        if total < 0 and status != "DRAFT":  # a draft may be negative; approving it not
            return ["Invoice total must not be negative"], {}
        return [], {
            "Type": kind, "InvoiceNumber": number,
            "Reference": reference, "ContactID": contact_id, "Date": issued, "DueDate": due,
            "Status": status, "LineAmountTypes": amount_types, "LineItems": lines,
            "SubTotal": sub_total, "TotalTax": total_tax, "Total": total, "AmountDue": total,
            "AmountPaid": Decimal("0"), "AmountCredited": Decimal("0"),
            "CurrencyCode": currency, "CurrencyRate": rate, "SentToContact": False,
            "FullyPaidOnDate": None,
        }

    def _contact_for(self, tenant: Tenant, element: dict[str, Any], errors: list[str]
                     ) -> str | None:
        ref = element.get("Contact")
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            errors.append("A Contact must be specified for this type of transaction")
            return None
        contact_id = str(ref.get("ContactID") or "").lower()
        if contact_id:
            contact = tenant.contacts.get(contact_id)
            if contact is None:
                errors.append(f"The contact with ContactID {contact_id[:36]} could not be found")
                return None
        else:
            found = tenant.names.get(str(ref["Name"]).strip().lower())
            if found is None:
                errors.append(f"The contact {str(ref['Name'])[:80]} could not be found")
                return None
            contact = tenant.contacts[found]
        if contact["ContactStatus"] != "ACTIVE":
            errors.append("This contact has been archived and cannot be used on new transactions")
        return str(contact["ContactID"])

    def _lines(self, tenant: Tenant, raw: Any, errors: list[str], *, sales: bool,
               require_account: bool, places: int) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            errors.append("LineItems must be a list")
            return []
        default_tax = next(t for t in tenant.tax_rates.values() if t.rate > 0
                           and (t.tax_type.startswith("OUTPUT") == sales))
        lines = []
        for number, line in enumerate(raw, start=1):
            if not isinstance(line, dict):
                errors.append(f"Line {number} is not an object")
                continue
            description = str(line.get("Description") or "").strip()
            if not description:
                errors.append("Description cannot be empty")
            if len(description) > 4000:
                errors.append("Description must be 4000 characters or fewer")
            quantity = decimal_of(line.get("Quantity", 1), f"Line {number} Quantity", errors)
            unit = decimal_of(line.get("UnitAmount", 0), f"Line {number} UnitAmount", errors)
            account = line.get("AccountCode")
            if account is not None and str(account) not in tenant.accounts:
                errors.append(f"Account code '{str(account)[:20]}' is not a valid code for "
                              "this document.")
            if account is None and require_account:
                errors.append("Account code must be specified for each line")
            tax_type = line.get("TaxType") or default_tax.tax_type
            if tax_type not in tenant.tax_rates:
                errors.append(f"The TaxType code '{str(tax_type)[:30]}' does not exist or "
                              "cannot be used for this type of transaction.")
                tax_type = default_tax.tax_type
            if quantity is not None and unit is not None:
                if quantity.as_tuple().exponent < -4 or unit.as_tuple().exponent < -4:  # type: ignore[operator]
                    errors.append(f"Line {number}: at most 4 decimal places are allowed")
                # Without unitdp=4 Xero keeps the unit amount to two places, and the
                # line amount follows from what it kept.
                unit = unit.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
                lines.append({"Description": description, "Quantity": quantity,
                              "UnitAmount": unit, "AccountCode": None if account is None
                              else str(account), "TaxType": tax_type})
        return lines

    def _currency(self, tenant: Tenant, element: dict[str, Any], contact_id: str | None,
                  errors: list[str]) -> tuple[str, Decimal]:
        contact = tenant.contacts.get(contact_id or "", {})
        code = str(element.get("CurrencyCode") or contact.get("DefaultCurrency")
                   or tenant.base_currency).upper()
        if code not in tenant.rates:
            errors.append(f"The currency {code[:10]} is not enabled for this organisation")
            return tenant.base_currency, Decimal("1")
        if code == tenant.base_currency:
            return code, Decimal("1")
        rate = element.get("CurrencyRate")
        if rate is None:
            return code, tenant.rates[code]
        value = decimal_of(rate, "CurrencyRate", errors)
        if value is not None and value <= 0:
            errors.append("CurrencyRate must be greater than zero")
        return code, value or tenant.rates[code]

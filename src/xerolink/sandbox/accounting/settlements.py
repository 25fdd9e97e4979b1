"""Money received and credit: ``Payments`` (read, and made against an authorised invoice
or bill), credit notes' ``Allocations``, and the ``Overpayments`` and ``Prepayments``
lists, each with the figures Xero keeps on the documents they settle
(docs/xero-fidelity.md, "Paid and credit")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from xerolink.money import cents
from xerolink.sandbox.accounting.common import BadRequest, NotFound, elements_of
from xerolink.sandbox.accounting.creditnotes import CreditNotes
from xerolink.sandbox.accounting.validation import dates_of, decimal_of
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import Response
from xerolink.sandbox.where import WhereError
from xerolink.sandbox.xerojson import date_string, ms_date

# What ``where`` and ``order`` may name on these lists (besides Contact.ContactID and,
# for payments, Invoice.InvoiceID).
LIST_FIELDS = {"Status", "Type", "PaymentType", "Date", "Amount", "Total", "Reference",
               "RemainingCredit", "CurrencyCode", "UpdatedDateUTC", "IsReconciled",
               "PaymentID", "OverpaymentID", "PrepaymentID", "CreditNoteID",
               "CreditNoteNumber"}
EXCEEDS = "Payment amount exceeds the amount outstanding on this document"  # the spec's own
CREDIT_FOR = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY",
              "RECEIVE-OVERPAYMENT": "ACCREC", "SPEND-OVERPAYMENT": "ACCPAY",
              "RECEIVE-PREPAYMENT": "ACCREC", "SPEND-PREPAYMENT": "ACCPAY"}
# resource -> (the tenant's records, id key, element name in an Allocation)
CREDITS = {"creditnotes": ("credit_notes", "CreditNoteID", "CreditNote"),
           "overpayments": ("overpayments", "OverpaymentID", "Overpayment"),
           "prepayments": ("prepayments", "PrepaymentID", "Prepayment")}


class Settlements(CreditNotes):
    # -- reading lists ------------------------------------------------------------------
    def _list_resolver(self, tenant: Tenant) -> Callable[[Any, list[str]], Any]:
        def resolve(record: dict[str, Any], path: list[str]) -> Any:
            if path == ["Contact", "ContactID"]:
                return self._contact_of(tenant, record)
            if path == ["Invoice", "InvoiceID"] and "PaymentID" in record:
                return record["InvoiceID"]
            if len(path) != 1 or path[0] not in LIST_FIELDS:
                raise WhereError(f"unknown field {'.'.join(path)}")
            value = record.get(path[0])
            return value.lower() if isinstance(value, str) and path[0].endswith("ID") else value

        return resolve

    @staticmethod
    def _contact_of(tenant: Tenant, record: dict[str, Any]) -> str:
        if "ContactID" in record:
            return str(record["ContactID"])
        return str(tenant.invoices[record["InvoiceID"]]["ContactID"])

    def _listing(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                 records: dict[str, dict[str, Any]], item: str | None, key: str,
                 render: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        """One record by id, or the list: ``If-Modified-Since``, ``where``, ``order``,
        and ``page`` (100 a page unless ``pageSize``, with ``pagination``)."""
        if item is not None:
            record = records.get(item.lower())
            if record is None:
                raise NotFound
            return self.envelope(key, [render(record)])
        page, size = self._page(q, 100)
        since = self._modified_since(headers)
        items = [r for r in records.values() if since is None or r["UpdatedDateUTC"] >= since]
        resolve = self._list_resolver(tenant)
        items = self._order(list(self._where(items, q.get("where"), resolve)),
                            q.get("order"), resolve)
        chosen, meta = self._paginate(items, page, size)
        return self.envelope(key, [render(r) for r in chosen], meta)

    # -- payments -----------------------------------------------------------------------
    def payment_json(self, tenant: Tenant, payment: dict[str, Any]) -> dict[str, Any]:
        invoice = tenant.invoices[payment["InvoiceID"]]
        contact = tenant.contacts.get(invoice["ContactID"], {})
        account = tenant.bank_accounts[payment["AccountCode"]]
        return {
            "PaymentID": payment["PaymentID"],
            "Date": ms_date(payment["Date"]),
            "BankAmount": cents(payment["Amount"] / payment["CurrencyRate"]),
            "Amount": payment["Amount"],
            "Reference": payment["Reference"],
            "CurrencyRate": payment["CurrencyRate"],
            "PaymentType": payment["PaymentType"],
            "Status": payment["Status"],
            "UpdatedDateUTC": ms_date(payment["UpdatedDateUTC"]),
            "HasAccount": True,
            "IsReconciled": payment["IsReconciled"],
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "Invoice": {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"],
                        "InvoiceNumber": invoice["InvoiceNumber"],
                        "CurrencyCode": invoice["CurrencyCode"],
                        "Contact": {"ContactID": invoice["ContactID"],
                                    "Name": contact.get("Name", "")}},
            "HasValidationErrors": False,
        }

    def invoice_payments(self, tenant: Tenant, invoice_id: str) -> list[dict[str, Any]]:
        """An invoice's ``Payments``, as the invoice itself carries them."""
        return [{"PaymentID": p["PaymentID"], "Date": ms_date(p["Date"]),
                 "Amount": p["Amount"], "Reference": p["Reference"],
                 "CurrencyRate": p["CurrencyRate"], "HasAccount": True,
                 "HasValidationErrors": False}
                for p in (tenant.payments[i] for i in tenant.payments_by_invoice.get(
                    invoice_id, []))]

    def invoice_credit_notes(self, tenant: Tenant, invoice_id: str) -> list[dict[str, Any]]:
        """The credit notes allocated to an invoice, with what each applied to it."""
        return self.invoice_credits(tenant, invoice_id, "creditnotes")

    def invoice_credits(self, tenant: Tenant, invoice_id: str, kind: str
                        ) -> list[dict[str, Any]]:
        """Credit of one kind allocated to an invoice, as the invoice carries it."""
        records, id_key, _ = CREDITS[kind]
        out = []
        for credit in getattr(tenant, records).values():
            allocations = [a["Amount"] for a in credit["Allocations"]
                           if a["InvoiceID"] == invoice_id]
            if not allocations:
                continue
            applied = sum(allocations, Decimal("0"))
            if applied:
                shown = {id_key: credit[id_key], "Total": credit["Total"],
                         "AppliedAmount": applied, "Date": ms_date(credit["Date"])}
                if kind == "creditnotes":
                    shown["CreditNoteNumber"] = credit["CreditNoteNumber"]
                out.append(shown)
        return out

    def get_payments(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                     item: str | None) -> Response:
        return self._listing(tenant, q, headers, tenant.payments, item, "Payments",
                             lambda p: self.payment_json(tenant, p))

    def create_payments(self, tenant: Tenant, body: bytes) -> Response:
        """``PUT``/``POST /Payments``: every element is checked before any is made."""
        staged, failed = [], False
        for element in elements_of(body, "Payments"):
            errors, fields = self._validate_payment(tenant, element)
            failed = failed or bool(errors)
            staged.append((errors, fields, element))
        if failed:
            raise BadRequest(["validation failed"], elements=[
                {**element, "ValidationErrors": [{"Message": m} for m in errors]}
                for errors, _, element in staged])
        made = [self.apply_payment(tenant, **fields) for _, fields, _ in staged]
        return self.envelope("Payments", [self.payment_json(tenant, p) for p in made])

    def delete_payment(self, tenant: Tenant, item: str, body: bytes) -> Response:
        """``POST /Payments/{id}`` with ``{"Status": "DELETED"}`` (Xero's
        PaymentDelete): the payment stays listed as DELETED, leaves its invoice's
        ``Payments``, and the invoice owes it again (a PAID one is AUTHORISED again)."""
        payment = tenant.payments.get(item.lower())
        if payment is None:
            raise NotFound
        [element] = elements_of(body, "Payments")[:1]
        if str(element.get("Status") or "").upper() != "DELETED":
            raise BadRequest(["A payment can only be deleted (Status DELETED)"],
                             {"PaymentID": payment["PaymentID"]})
        if payment["Status"] == "DELETED":
            raise BadRequest(["This payment has already been deleted"])
        invoice, now = tenant.invoices[payment["InvoiceID"]], self.now()
        payment.update(Status="DELETED", UpdatedDateUTC=now)
        tenant.payments_by_invoice[invoice["InvoiceID"]].remove(payment["PaymentID"])
        invoice["AmountPaid"] -= payment["Amount"]
        invoice["AmountDue"] += payment["Amount"]
        if invoice["Status"] == "PAID":
            invoice.update(Status="AUTHORISED", FullyPaidOnDate=None)
        invoice["UpdatedDateUTC"] = now
        self.add_history(tenant, invoice, "Payment Deleted",
                         f"Payment of {payment['Amount']} deleted.")
        self.written(tenant, invoice, "UPDATE")
        return self.envelope("Payments", [self.payment_json(tenant, payment)])

    def _validate_payment(self, tenant: Tenant, element: dict[str, Any]
                          ) -> tuple[list[str], dict[str, Any]]:
        errors: list[str] = []
        invoice = self._invoice_ref(tenant, element.get("Invoice"), errors)
        code = self._bank_account(tenant, element.get("Account"), errors)
        amount = decimal_of(element.get("Amount"), "Amount", errors) \
            if element.get("Amount") is not None else None
        if amount is None and not errors:
            errors.append("Amount must be specified")
        (when,) = dates_of(element, ("Date",), errors)
        if amount is not None and amount <= 0:
            errors.append("Payment amount must be greater than zero")
        if invoice is not None:
            if invoice["Status"] != "AUTHORISED":
                errors.append("Payments can only be made against AUTHORISED documents; "
                              f"this one is {invoice['Status']}")
            elif amount is not None and amount > invoice["AmountDue"]:
                errors.append(EXCEEDS)
        if errors or invoice is None or amount is None or code is None:
            return errors, {}
        rate = invoice["CurrencyRate"]
        if element.get("CurrencyRate") is not None:
            rate = decimal_of(element["CurrencyRate"], "CurrencyRate", errors) or rate
        return errors, {"invoice": invoice, "amount": cents(amount),
                        "when": when or self.today(tenant), "code": code, "rate": rate,
                        "reference": str(element.get("Reference") or "")[:255]}

    @staticmethod
    def _invoice_ref(tenant: Tenant, ref: Any, errors: list[str]) -> dict[str, Any] | None:
        if not isinstance(ref, dict) or not (ref.get("InvoiceID") or ref.get("InvoiceNumber")):
            errors.append("An Invoice must be specified (InvoiceID or InvoiceNumber)")
            return None
        wanted = str(ref.get("InvoiceID") or "").lower()
        number = str(ref.get("InvoiceNumber") or "")
        invoice = tenant.invoices.get(wanted) if wanted else next(
            (i for i in tenant.invoices.values() if i["InvoiceNumber"] == number), None)
        if invoice is None:
            errors.append(f"The invoice {(wanted or number)[:40]} could not be found")
        return invoice

    @staticmethod
    def _bank_account(tenant: Tenant, ref: Any, errors: list[str]) -> str | None:
        if not isinstance(ref, dict) or not (ref.get("Code") or ref.get("AccountID")):
            errors.append("An Account must be specified (Code or AccountID)")
            return None
        for code, account in tenant.bank_accounts.items():
            if ref.get("Code") == code or str(ref.get("AccountID") or "").lower() == \
                    account["AccountID"]:
                return code
        errors.append("The account must be a bank account, or one with payments enabled")
        return None

    def apply_payment(self, tenant: Tenant, invoice: dict[str, Any], amount: Decimal,
                      when: date, code: str = "090", rate: Decimal | None = None,
                      reference: str = "") -> dict[str, Any]:
        """Record a payment and settle the invoice by it: AmountPaid rises, AmountDue
        falls, and at zero the invoice is PAID with FullyPaidOnDate the payment's date."""
        now = self.now()
        payment = {"PaymentID": str(uuid.uuid4()), "InvoiceID": invoice["InvoiceID"],
                   "Date": when, "Amount": amount,
                   "CurrencyRate": rate or invoice["CurrencyRate"], "Reference": reference,
                   "AccountCode": code, "Status": "AUTHORISED", "IsReconciled": False,
                   "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC"
                   else "ACCPAYPAYMENT", "UpdatedDateUTC": now}
        tenant.payments[payment["PaymentID"]] = payment
        tenant.payments_by_invoice.setdefault(invoice["InvoiceID"], []).append(
            payment["PaymentID"])
        invoice["AmountPaid"] += amount
        invoice["AmountDue"] -= amount
        if invoice["AmountDue"] == 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = when
        invoice["UpdatedDateUTC"] = now
        self.add_history(tenant, invoice, "Payment Received",
                         f"Payment received on {when.isoformat()} for {amount}.")
        self.written(tenant, invoice, "UPDATE")
        return payment

    # -- credit: credit notes, overpayments, prepayments ----------------------------------
    def credit_json(self, tenant: Tenant, record: dict[str, Any], id_key: str
                    ) -> dict[str, Any]:
        contact = tenant.contacts.get(record["ContactID"], {})
        return {
            id_key: record[id_key],
            "Type": record["Type"],
            "Contact": {"ContactID": record["ContactID"], "Name": contact.get("Name", "")},
            "Date": ms_date(record["Date"]),
            "DateString": date_string(record["Date"]),
            "Status": record["Status"],
            "LineAmountTypes": "NoTax",
            "SubTotal": record["Total"],
            "TotalTax": Decimal("0.00"),
            "Total": record["Total"],
            "UpdatedDateUTC": ms_date(record["UpdatedDateUTC"]),
            "CurrencyCode": record["CurrencyCode"],
            "CurrencyRate": record["CurrencyRate"],
            "RemainingCredit": record["RemainingCredit"],
            "Allocations": [{"AllocationID": a["AllocationID"], "Amount": a["Amount"],
                             "Date": ms_date(a["Date"]),
                             "Invoice": {"InvoiceID": a["InvoiceID"],
                                         "InvoiceNumber": a["InvoiceNumber"]}}
                            for a in record["Allocations"]],
            "Payments": [],
            "HasAttachments": False,
            "Reference": record.get("Reference", ""),
        }

    def get_overpayments(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                         item: str | None) -> Response:
        return self._listing(tenant, q, headers, tenant.overpayments, item, "Overpayments",
                             lambda r: self.credit_json(tenant, r, "OverpaymentID"))

    def get_prepayments(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                        item: str | None) -> Response:
        return self._listing(tenant, q, headers, tenant.prepayments, item, "Prepayments",
                             lambda r: self.credit_json(tenant, r, "PrepaymentID"))

    def get_credit_note_list(self, tenant: Tenant, q: dict[str, str],
                             headers: dict[str, str], item: str | None) -> Response:
        return self._listing(tenant, q, headers, tenant.credit_notes, item, "CreditNotes",
                             lambda r: self.credit_note_json(tenant, r))

    def allocate(self, tenant: Tenant, kind: str, note_id: str, body: bytes) -> Response:
        """``PUT /CreditNotes/{id}/Allocations`` (and Overpayments, Prepayments): apply
        remaining credit to invoices of its kind, contact and currency. All of it
        counts in the invoice's AmountCredited, as Xero's field says ("credit notes,
        over-payments and pre-payments applied")."""
        note = getattr(tenant, CREDITS[kind][0]).get(note_id.lower())
        if note is None:
            raise NotFound
        staged, failed, left = [], False, note["RemainingCredit"]
        for element in elements_of(body, "Allocations"):
            errors: list[str] = []
            invoice = self._invoice_ref(tenant, element.get("Invoice"), errors)
            amount = decimal_of(element.get("Amount", "x"), "Amount", errors)
            (when,) = dates_of(element, ("Date",), errors)
            if invoice is not None and amount is not None:
                errors += self._allocation_errors(note, invoice, amount, left)
                left -= amount
            failed = failed or bool(errors)
            staged.append((errors, invoice, amount, when, element))
        if failed:
            raise BadRequest(["validation failed"], elements=[
                {**e, "ValidationErrors": [{"Message": m} for m in errs]}
                for errs, _, _, _, e in staged])
        made = [self._allocate(tenant, kind, note, inv, amt, when or self.today(tenant))
                for _, inv, amt, when, _ in staged if inv is not None and amt is not None]
        return self.envelope("Allocations", made)

    @staticmethod
    def _allocation_errors(note: dict[str, Any], invoice: dict[str, Any], amount: Decimal,
                           left: Decimal) -> list[str]:
        errors = []
        if note["Status"] != "AUTHORISED":
            errors.append(f"A {note['Status']} credit cannot be allocated")
        # Xero's own wording where it is known (xeroizer #320), else plain words.
        if invoice["Status"] == "PAID":
            errors.append("The invoice you are trying to allocate to has already been paid off")
        elif invoice["Status"] != "AUTHORISED":
            errors.append("Credit can only be allocated to AUTHORISED documents")
        if CREDIT_FOR[note["Type"]] != invoice["Type"]:
            errors.append("Credit Note cannot be allocated to an incorrect invoice type")
        if note["ContactID"] != invoice["ContactID"]:
            errors.append("The credit and the invoice must be for the same contact")
        if note["CurrencyCode"] != invoice["CurrencyCode"]:
            errors.append("The credit and the invoice must be in the same currency")
        if amount <= 0:
            errors.append("Amount must be greater than zero")
        if amount > left:
            errors.append("The amount allocated exceeds the remaining credit")
        if amount > invoice["AmountDue"]:
            errors.append("Credit Note cannot be allocated as amount is greater than amount "
                          "outstanding")
        return errors

    def _allocate(self, tenant: Tenant, kind: str, note: dict[str, Any],
                  invoice: dict[str, Any], amount: Decimal, when: date) -> dict[str, Any]:
        now, (_, id_key, element) = self.now(), CREDITS[kind]
        allocation = {"AllocationID": str(uuid.uuid4()), "Amount": amount, "Date": when,
                      "InvoiceID": invoice["InvoiceID"],
                      "InvoiceNumber": invoice["InvoiceNumber"]}
        note["Allocations"].append(allocation)
        note["RemainingCredit"] -= amount
        if note["RemainingCredit"] == 0:
            note["Status"] = "PAID"
        note["UpdatedDateUTC"] = now
        invoice["AmountCredited"] += amount
        invoice["AmountDue"] -= amount
        if invoice["AmountDue"] == 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = when
        invoice["UpdatedDateUTC"] = now
        label = note.get("CreditNoteNumber") or element.lower()
        self.add_history(tenant, invoice, "Credit Applied", f"{label} applied for {amount}.")
        self.written(tenant, invoice, "UPDATE")
        if self.on_write is not None and kind == "creditnotes":  # no events for the others
            self.on_write(tenant.tenant_id, "CREDITNOTE", note["CreditNoteID"], "UPDATE")
        return {"AllocationID": allocation["AllocationID"], "Amount": amount,
                "Date": ms_date(when),
                "Invoice": {"InvoiceID": invoice["InvoiceID"],
                            "InvoiceNumber": invoice["InvoiceNumber"]},
                element: {id_key: note[id_key]}}

    # -- history (the hook; Sending keeps the records) -------------------------------------
    def add_history(self, tenant: Tenant, document: dict[str, Any], changes: str,
                    details: str) -> None:
        """Overridden where history is kept."""

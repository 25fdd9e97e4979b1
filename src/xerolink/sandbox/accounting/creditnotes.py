"""Credit notes, as far as the sandbox keeps them: made by the control route
``POST /_sandbox/credit`` (one credit note allocated to one invoice or bill), read
with ``GET /CreditNotes/{id}`` (and the list, with ``If-Modified-Since``), and told to
the webhook hook as Xero's CREDITNOTE events."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xerolink.sandbox.accounting.common import NotFound
from xerolink.sandbox.accounting.quotes import Quotes
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import Response
from xerolink.sandbox.xerojson import date_string, ms_date

CREDIT_TYPES = {"ACCREC": "ACCRECCREDIT", "ACCPAY": "ACCPAYCREDIT"}


class CreditNotes(Quotes):
    def credit_note_json(self, tenant: Tenant, note: dict[str, Any]) -> dict[str, Any]:
        contact = tenant.contacts.get(note["ContactID"], {})
        return {
            "CreditNoteID": note["CreditNoteID"],
            "CreditNoteNumber": note["CreditNoteNumber"],
            "Type": note["Type"],
            "Contact": {"ContactID": note["ContactID"], "Name": contact.get("Name", "")},
            "Date": ms_date(note["Date"]),
            "DateString": date_string(note["Date"]),
            "Status": note["Status"],
            "LineAmountTypes": "Exclusive",
            "SubTotal": note["Total"],
            "TotalTax": Decimal("0.00"),
            "Total": note["Total"],
            "RemainingCredit": note["RemainingCredit"],
            "CurrencyCode": note["CurrencyCode"],
            "CurrencyRate": note.get("CurrencyRate", Decimal("1")),
            "Reference": note.get("Reference", ""),
            "Allocations": [{"Amount": a["Amount"], "Date": ms_date(a["Date"]),
                             "Invoice": {"InvoiceID": a["InvoiceID"],
                                         "InvoiceNumber": a["InvoiceNumber"]}}
                            for a in note["Allocations"]],
            "UpdatedDateUTC": ms_date(note["UpdatedDateUTC"]),
        }

    def get_credit_notes(self, tenant: Tenant, headers: dict[str, str], item: str | None
                         ) -> Response:
        notes = tenant.credit_notes
        if item is not None:
            note = notes.get(item.lower())
            if note is None:
                raise NotFound
            return self.envelope("CreditNotes", [self.credit_note_json(tenant, note)])
        since = self._modified_since(headers)
        chosen = [n for n in notes.values() if since is None or n["UpdatedDateUTC"] >= since]
        return self.envelope("CreditNotes", [self.credit_note_json(tenant, n) for n in chosen])

    def credit_invoice(self, tenant: Tenant, invoice: dict[str, Any], amount: Decimal
                       ) -> dict[str, Any]:
        """A credit note for ``amount``, allocated in full to ``invoice`` (so it is
        PAID, as Xero marks a fully allocated credit note): the invoice's AmountCredited
        rises and its AmountDue falls (PAID at zero). Only a CREDITNOTE event is told:
        whether Xero also sends one for the invoice is undocumented."""
        now, today = self.now(), self.today(tenant)
        note = {"CreditNoteID": str(uuid.uuid4()),
                "CreditNoteNumber": f"CN-{len(tenant.credit_notes) + 1:05d}",
                "Type": CREDIT_TYPES[invoice["Type"]], "ContactID": invoice["ContactID"],
                "Date": today, "Status": "PAID", "Total": amount,
                "RemainingCredit": Decimal("0.00"), "CurrencyCode": invoice["CurrencyCode"],
                "CurrencyRate": invoice["CurrencyRate"],
                "Allocations": [{"Amount": amount, "Date": today,
                                 "InvoiceID": invoice["InvoiceID"],
                                 "InvoiceNumber": invoice["InvoiceNumber"]}],
                "UpdatedDateUTC": now}
        tenant.credit_notes[note["CreditNoteID"]] = note
        invoice["AmountCredited"] += amount
        invoice["AmountDue"] -= amount
        if invoice["AmountDue"] == 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = today
        invoice["UpdatedDateUTC"] = now
        if self.on_write is not None:
            self.on_write(tenant.tenant_id, "CREDITNOTE", note["CreditNoteID"], "CREATE")
        return note

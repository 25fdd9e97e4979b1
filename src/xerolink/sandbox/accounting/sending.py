"""Documents out of the door: ``POST /Invoices/{id}/Email`` (into the sandbox's outbox),
``GET /Invoices/{id}/OnlineInvoice``, the ``History`` of invoices, quotes and credit
notes, and PDFs (``Accept: application/pdf``). Each rule and its source is in
docs/xero-fidelity.md, "Sending documents"."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from xerolink.sandbox.accounting.common import BadRequest, NotFound, Staged, elements_of
from xerolink.sandbox.accounting.pdf import PDF_HEADERS, PdfDocument, PdfLine, render
from xerolink.sandbox.accounting.settlements import Settlements
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import Response
from xerolink.sandbox.xerojson import ms_date

# Xero: "The invoice must be of Type ACCREC and a valid Status for sending (SUBMITTED,
# AUTHORISED or PAID)".
EMAIL_STATUSES = ("SUBMITTED", "AUTHORISED", "PAID")
# Xero: no online invoice for a DRAFT; SUBMITTED (not yet approved) and DELETED are
# refused too, the stricter reading.
ONLINE_STATUSES = ("AUTHORISED", "PAID", "VOIDED")
SYSTEM_USER = "System Generated"  # who API-made history shows (the spec's examples)
MAX_NOTE = 2500
# What a status change is called in a document's history.
CHANGE_NAMES = {"SUBMITTED": "Submitted", "AUTHORISED": "Approved", "VOIDED": "Voided",
                "DELETED": "Deleted", "DRAFT": "Edited", "SENT": "Sent",
                "ACCEPTED": "Accepted", "DECLINED": "Declined", "INVOICED": "Invoiced",
                "PAID": "Paid"}


class Sending(Settlements):
    # -- email --------------------------------------------------------------------------
    def email_invoice(self, tenant: Tenant, item: str, headers: dict[str, str], body: bytes
                      ) -> Response:
        invoice = tenant.invoices.get(item.lower())
        if invoice is None:
            raise NotFound
        _empty_request(body)
        contact = tenant.contacts.get(invoice["ContactID"], {})
        to = str(contact.get("EmailAddress") or "")
        copies = [p["EmailAddress"] for p in contact.get("ContactPersons") or []
                  if p.get("IncludeInEmails") and p.get("EmailAddress")]
        problems = []
        if invoice["Type"] != "ACCREC":
            problems.append("Only sales invoices (Type ACCREC) can be emailed; this is a "
                            "bill (ACCPAY)")
        elif invoice["Status"] not in EMAIL_STATUSES:
            problems.append(f"An invoice with status {invoice['Status']} cannot be emailed; "
                            "it must be SUBMITTED, AUTHORISED or PAID")
        if not to and not copies and not problems:
            problems.append("The contact has no email address to send the invoice to")
        if problems:
            raise BadRequest(problems, {"InvoiceID": invoice["InvoiceID"]})
        now = self.now()
        tenant.outbox.append({
            "tenant": tenant.tenant_id, "invoice_id": invoice["InvoiceID"],
            "invoice_number": invoice["InvoiceNumber"], "to": to or copies[0],
            "cc": copies if to else copies[1:], "contact_id": invoice["ContactID"],
            "sent_at": now.isoformat(), "idempotency_key": headers.get("idempotency-key"),
            "subject": f"Invoice {invoice['InvoiceNumber']} from {tenant.name}"})
        self.history_of(tenant, invoice, keep=True)  # as seeded: before it was sent
        invoice["SentToContact"] = True
        invoice["UpdatedDateUTC"] = now
        to_all = ", ".join(filter(None, [to, *copies]))
        self.add_history(tenant, invoice, "Emailed", f"This invoice was emailed to {to_all}.")
        self.written(tenant, invoice, "UPDATE")
        return 204, b"", {}

    # -- online invoice --------------------------------------------------------------------
    def online_invoice(self, tenant: Tenant, item: str) -> Response:
        invoice = tenant.invoices.get(item.lower())
        if invoice is None:
            raise NotFound
        if invoice["Type"] != "ACCREC":
            raise BadRequest(["Online invoices are only available for sales invoices "
                              "(Type ACCREC)"], {"InvoiceID": invoice["InvoiceID"]})
        if invoice["Status"] not in ONLINE_STATUSES:
            raise BadRequest([f"An online invoice is not available for an invoice with "
                              f"status {invoice['Status']}"],
                             {"InvoiceID": invoice["InvoiceID"]})
        return self.envelope("OnlineInvoices", [{"OnlineInvoiceUrl": online_url(
            tenant.tenant_id, invoice["InvoiceID"])}])

    # -- history ----------------------------------------------------------------------------
    def history_of(self, tenant: Tenant, document: dict[str, Any], *, keep: bool = False
                   ) -> list[dict[str, Any]]:
        """A document's history, oldest first; a seeded document's starts with its
        creation, dated at the start of its Date. ``keep``: the list is the books' own,
        to add to; otherwise a seeded document's is made for the answer and not kept, so
        that reading never changes the books."""
        key = _document_id(document)
        if key in tenant.history:
            return tenant.history[key]
        issued = document["Date"]
        start = datetime(issued.year, issued.month, issued.day, tzinfo=UTC)
        records = [{"Changes": "Created", "User": SYSTEM_USER, "DateUTC": start,
                    "Details": f"{_kind(document)} {_number(document)} created."}]
        if document.get("SentToContact"):  # seeded as sent: say when, as Xero would
            records.append({
                "Changes": "Sent", "User": SYSTEM_USER,
                "DateUTC": min(start + timedelta(hours=12), document["UpdatedDateUTC"]),
                "Details": "Marked as sent."})
        if keep:
            tenant.history[key] = records
        return records

    def add_history(self, tenant: Tenant, document: dict[str, Any], changes: str,
                    details: str) -> None:
        self.history_of(tenant, document, keep=True).append(
            {"Changes": changes, "User": SYSTEM_USER, "DateUTC": self.now(),
             "Details": details})

    def get_history(self, tenant: Tenant, document: dict[str, Any]) -> Response:
        """Newest first, as Xero's examples list them."""
        return self.envelope("HistoryRecords", [_history_json(r) for r in
                                                reversed(self.history_of(tenant, document))])

    def put_history(self, tenant: Tenant, document: dict[str, Any], body: bytes) -> Response:
        elements = elements_of(body, "HistoryRecords")
        failed, staged = False, []
        for element in elements:
            details = str(element.get("Details") or "").strip()
            errors = [] if details else ["Details cannot be empty"]
            if len(details) > MAX_NOTE:
                errors.append(f"Details must be {MAX_NOTE} characters or fewer")
            failed = failed or bool(errors)
            staged.append((errors, details, element))
        if failed:
            raise BadRequest(["validation failed"], elements=[
                {**e, "ValidationErrors": [{"Message": m} for m in errs]}
                for errs, _, e in staged])
        now, records = self.now(), self.history_of(tenant, document, keep=True)
        made = []
        for _, details, _ in staged:
            record = {"Changes": "Note", "User": SYSTEM_USER, "DateUTC": now,
                      "Details": details}
            records.append(record)
            made.append({"DateUTCString": now.strftime("%Y-%m-%dT%H:%M:%S"),
                         "DateUTC": ms_date(now), "Details": details})
        return self.envelope("HistoryRecords", made)

    def document_for_history(self, tenant: Tenant, kind: str, item: str) -> dict[str, Any]:
        books = {"invoices": tenant.invoices, "quotes": tenant.quotes,
                 "creditnotes": tenant.credit_notes}[kind]
        document = books.get(item.lower())
        if document is None:
            raise NotFound
        return document

    def commit(self, staged: Staged, create: Any, update: Any = None, *,
               tenant: Tenant | None = None) -> list[dict[str, Any]]:
        """Every create and status change of an invoice, bill or quote goes into its
        history, as Xero's own audit trail records them."""
        before = [None if existing is None else existing.get("Status") for existing, _ in staged]
        written = super().commit(staged, create, update, tenant=tenant)
        if tenant is not None:
            for prior, record in zip(before, written, strict=True):
                if "InvoiceID" in record or "QuoteID" in record:
                    self._history_of_write(tenant, record, prior)
        return written

    def _history_of_write(self, tenant: Tenant, record: dict[str, Any], prior: str | None
                          ) -> None:
        if prior is None:
            tenant.history[_document_id(record)] = [{
                "Changes": "Created", "User": SYSTEM_USER, "DateUTC": self.now(),
                "Details": f"{_kind(record)} {_number(record)} created through the Xero "
                           "API."}]
        elif record["Status"] != prior:
            self.add_history(tenant, record, CHANGE_NAMES.get(record["Status"], "Edited"),
                             f"Status changed from {prior} to {record['Status']}.")
        else:
            self.add_history(tenant, record, "Edited", f"{_kind(record)} edited.")

    # -- PDFs ---------------------------------------------------------------------------------
    def document_pdf(self, tenant: Tenant, kind: str, item: str) -> Response:
        if kind == "invoices":
            found = tenant.invoices.get(item.lower()) or next(
                (i for i in tenant.invoices.values() if i["InvoiceNumber"] == item), None)
        elif kind == "quotes":
            found = tenant.quotes.get(item.lower())
        else:
            found = tenant.credit_notes.get(item.lower())
        if found is None:
            raise NotFound
        return 200, render(self._pdf_document(tenant, found)), dict(PDF_HEADERS)

    def _pdf_document(self, tenant: Tenant, doc: dict[str, Any]) -> PdfDocument:
        contact = tenant.contacts.get(doc["ContactID"], {}).get("Name", "")
        lines = tuple(PdfLine(line["Description"], line["Quantity"], line["UnitAmount"],
                              line["LineAmount"]) for line in doc.get("LineItems") or [])
        common = {"organisation": tenant.name, "contact": contact, "issued": doc["Date"],
                  "currency": doc["CurrencyCode"], "updated": doc["UpdatedDateUTC"],
                  "reference": doc.get("Reference") or ""}
        if "QuoteID" in doc:
            expiry = (("Expiry", doc["ExpiryDate"]),) if doc.get("ExpiryDate") else ()
            return PdfDocument("QUOTE", doc["QuoteNumber"], lines=lines, dates=expiry,
                               sub_total=doc["SubTotal"], total_tax=doc["TotalTax"],
                               total=doc["Total"], **common)
        if "CreditNoteID" in doc:
            return PdfDocument("CREDIT NOTE", doc["CreditNoteNumber"], lines=lines,
                               sub_total=doc["Total"], total_tax=doc["Total"] * 0,
                               total=doc["Total"],
                               balance=("Remaining credit", doc["RemainingCredit"]), **common)
        title = "TAX INVOICE" if doc["Type"] == "ACCREC" else "BILL"
        due = (("Due Date", doc["DueDate"]),) if doc.get("DueDate") else ()
        return PdfDocument(title, doc["InvoiceNumber"], lines=lines, dates=due,
                           sub_total=doc["SubTotal"], total_tax=doc["TotalTax"],
                           total=doc["Total"], balance=("Amount Due", doc["AmountDue"]),
                           **common)


def online_url(tenant_id: str, invoice_id: str) -> str:
    """The customer's link, shaped as Xero's (``https://in.xero.com/`` and 40 letters):
    the same invoice always has the same link."""
    digest = hashlib.sha256(f"{tenant_id}:{invoice_id}".encode()).digest()
    token = base64.b64encode(digest, altchars=b"Aa").decode()[:40]
    return f"https://in.xero.com/{token}"


def accepts_pdf(headers: dict[str, str]) -> bool:
    return "application/pdf" in headers.get("accept", "").lower()


def _empty_request(body: bytes) -> None:
    """The spec requires a body, ``{}`` (RequestEmpty); the stricter reading refuses
    none at all, and anything but a JSON object."""
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise BadRequest(["The request body must be a JSON object ({})"])


def _history_json(record: dict[str, Any]) -> dict[str, Any]:
    moment = record["DateUTC"]
    return {"Changes": record["Changes"], "DateUTCString": moment.strftime(
        "%Y-%m-%dT%H:%M:%S"), "DateUTC": ms_date(moment), "User": record["User"],
        "Details": record["Details"]}


def _document_id(document: dict[str, Any]) -> str:
    for key in ("InvoiceID", "QuoteID", "CreditNoteID"):
        if key in document:
            return str(document[key])
    raise KeyError("not a document")


def _kind(document: dict[str, Any]) -> str:
    if "QuoteID" in document:
        return "Quote"
    if "CreditNoteID" in document:
        return "Credit note"
    return "Invoice" if document.get("Type") == "ACCREC" else "Bill"


def _number(document: dict[str, Any]) -> str:
    return str(document.get("InvoiceNumber") or document.get("QuoteNumber")
               or document.get("CreditNoteNumber") or "")

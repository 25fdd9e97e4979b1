"""Documents out of the door, as Xero gives them: a document's PDF (its own URL with
``Accept: application/pdf``), a sales invoice's online link (``OnlineInvoice``), and
the credit notes a PDF may be asked of (xerolink caches none). Each behaviour and its
source: docs/xero-fidelity.md, "PDFs and online invoices"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from xerolink.errors import UsageError, XeroUnreachableError
from xerolink.validation import UNSAFE
from xerolink.vocabulary import DocumentKind
from xerolink.xero.jsonutil import text
from xerolink.xero.transport import Transport

PDF_MAGIC = b"%PDF-"  # every PDF starts so (ISO 32000-1, 7.5.2)
CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class CreditNote:
    """A credit note, as far as naming its PDF needs."""

    credit_note_id: str
    number: str
    status: str


class Outgoing(Transport):
    """The gateway's calls for documents leaving Xero."""

    def document_pdf(self, kind: str, document_id: str) -> bytes:
        """The PDF of a quote, an invoice or a bill (both are Xero Invoices), or a
        credit note: one call. An answer that is not a PDF is refused, not saved."""
        api, tenant = self.accounting_api(), self._tenant()
        resource, read = {
            DocumentKind.QUOTE: ("Quotes", api.get_quote_as_pdf),
            DocumentKind.INVOICE: ("Invoices", api.get_invoice_as_pdf),
            DocumentKind.BILL: ("Invoices", api.get_invoice_as_pdf),
            CREDIT_NOTE: ("CreditNotes", api.get_credit_note_as_pdf),
        }[kind]
        label = f"GET {resource}/{{id}} as PDF"
        data = self.call(label, lambda: read(tenant, document_id, **self.raw),
                         idempotent=True, raw_answer=True)
        if not data.startswith(PDF_MAGIC):
            raise XeroUnreachableError(f"Xero's answer to {label} was not a PDF "
                                       f"({len(data)} bytes); nothing was written")
        return bytes(data)

    def online_invoice_url(self, invoice_id: str) -> str:
        """The customer's online invoice link of a sales invoice (not a draft: Xero
        refuses with a 400 ValidationException, raised as XeroRefusedError)."""
        api, tenant = self.accounting_api(), self._tenant()
        label = "GET Invoices/{id}/OnlineInvoice"
        data = self.call(label, lambda: api.get_online_invoice(tenant, invoice_id,
                                                                **self.raw), idempotent=True)
        try:
            url = text(data["OnlineInvoices"][0]["OnlineInvoiceUrl"])
        except (KeyError, IndexError, TypeError):
            raise XeroUnreachableError(f"Xero's answer to {label} had no link") from None
        if not _is_https_link(url):
            raise XeroUnreachableError(f"Xero's answer to {label} was not an https link")
        return url

    def credit_note_by_number(self, number: str) -> CreditNote | None:
        """The credit note with this CreditNoteNumber (one call), or None."""
        if '"' in number or "\\" in number:
            raise UsageError("a credit note number has no quotes or backslashes")
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET CreditNotes", lambda: api.get_credit_notes(
            tenant, where=f'CreditNoteNumber=="{number}"', **self.raw), idempotent=True)
        found = data.get("CreditNotes") if isinstance(data, dict) else None
        return credit_note(found[0]) if isinstance(found, list) and found else None


def credit_note(data: Any) -> CreditNote:
    """A credit note from Xero's JSON (``get_credit_note``'s answer, or a listing's)."""
    try:
        return CreditNote(text(data["CreditNoteID"]).lower(),
                          text(data.get("CreditNoteNumber")), text(data.get("Status")))
    except (KeyError, TypeError, AttributeError):
        raise XeroUnreachableError("Xero's credit note had no CreditNoteID") from None


def _is_https_link(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and not UNSAFE.search(url) \
        and not any(c.isspace() for c in url)

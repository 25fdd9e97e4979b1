"""xerolink's words, each defined once: the CRM's record kinds, Xero's document kinds
and the statuses that make a document open, the five figures of a summary, and the
four of what was paid and what credit is left.

The CLI, completion, services, the store and the Xero gateway all take these from
here (tests/foundation/test_vocabulary.py fails on a second definition). Stdlib only,
so every layer, the CLI included, may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


# -- the CRM's records ----------------------------------------------------------------
class RecordKind(StrEnum):
    """A CRM record's kind, as references write it (``contact:42``)."""

    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"

    @property
    def plural(self) -> str:
        """The kind's plural: `crm list`'s argument, `crm import --kind`, JSON keys."""
        return PLURALS[self]


PLURALS: dict[str, str] = {RecordKind.CONTACT: "contacts", RecordKind.COMPANY: "companies",
                           RecordKind.DEAL: "deals"}
RECORD_KINDS: tuple[str, ...] = tuple(RecordKind)
RECORD_PLURALS: tuple[str, ...] = tuple(PLURALS[k] for k in RecordKind)
SINGULARS: dict[str, str] = {plural: kind for kind, plural in PLURALS.items()}


# -- Xero's documents -----------------------------------------------------------------
class DocumentKind(StrEnum):
    """A Xero document as xerolink caches it: a quote, a sales invoice (ACCREC) or a
    bill (ACCPAY)."""

    QUOTE = "quote"
    INVOICE = "invoice"
    BILL = "bill"


DOCUMENT_KINDS: tuple[str, ...] = tuple(DocumentKind)
INVOICE_KINDS: tuple[str, ...] = (DocumentKind.INVOICE, DocumentKind.BILL)  # Xero's Invoices


class Status(StrEnum):
    """The statuses of Xero quotes and invoices that xerolink reads or writes."""

    DRAFT = "DRAFT"
    SENT = "SENT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"
    DECLINED = "DECLINED"
    DELETED = "DELETED"
    VOIDED = "VOIDED"
    PAID = "PAID"


class ContactStatus(StrEnum):
    """A Xero contact's ContactStatus: only active contacts are suggested or linked."""

    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


OPEN_QUOTE_STATUSES: tuple[str, ...] = (Status.DRAFT, Status.SENT)
OPEN_INVOICE_STATUSES: tuple[str, ...] = (Status.DRAFT, Status.SUBMITTED, Status.AUTHORISED)
OPEN_STATUSES: tuple[str, ...] = tuple(dict.fromkeys(OPEN_QUOTE_STATUSES
                                                     + OPEN_INVOICE_STATUSES))
OWING_STATUS = Status.AUTHORISED  # an invoice or bill counts as owed only once approved
# What `send` emails: an approved sales invoice (Xero also emails SUBMITTED ones, which
# are awaiting approval in Xero: stricter, not sent; docs/xero-fidelity.md)
EMAILED_STATUSES: tuple[str, ...] = (Status.AUTHORISED, Status.PAID)
# A deal's quoted and invoiced amounts leave out what was withdrawn (docs/guide/documents.md)
WITHDRAWN_STATUSES: tuple[str, ...] = (Status.DECLINED, Status.DELETED, Status.VOIDED)
# A payment counts while AUTHORISED (Xero's other is DELETED); credit counts while it has
# RemainingCredit above 0 in either of these (docs/guide/documents.md, "Paid and credit").
PAYMENT_STATUS = Status.AUTHORISED
CREDIT_STATUSES: tuple[str, ...] = (Status.AUTHORISED, Status.PAID)
PAID_WINDOW_DAYS = 90  # the summary's "paid" figures: payments dated this many days back


# -- the five figures -------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One summary figure: its JSON key, its label, which documents it counts and the
    amount it adds (docs/guide/documents.md's table says the same; a test holds them equal)."""

    key: str
    label: str
    documents: str
    amount: str


FIGURES: tuple[Figure, ...] = (
    Figure("open_quotes", "Open quotes", "quotes in DRAFT or SENT", "Total"),
    Figure("overdue_invoices", "Overdue invoices", "outstanding invoices whose DueDate is "
           "before today in the organisation's timezone", "AmountDue"),
    Figure("outstanding_invoices", "Outstanding invoices",
           "sales invoices (ACCREC), AUTHORISED, AmountDue above 0", "AmountDue"),
    Figure("overdue_bills", "Overdue bills", "outstanding bills whose DueDate is before "
           "today in the organisation's timezone", "AmountDue"),
    Figure("outstanding_bills", "Outstanding bills",
           "bills (ACCPAY), AUTHORISED, AmountDue above 0", "AmountDue"),
)
# -- what was paid, and credit: four figures beside the five, split as they are split
# (sales beside purchases), since money received and money paid out never add up.
SETTLEMENT_FIGURES: tuple[Figure, ...] = (
    Figure("paid_invoices", "Invoices paid (90 days)", "sales invoices (ACCREC) with an "
           "AUTHORISED payment dated from 90 days before today to today, in the "
           "organisation's timezone", "the payments' Amount"),
    Figure("paid_bills", "Bills paid (90 days)", "bills (ACCPAY) with an AUTHORISED payment "
           "dated from 90 days before today to today, in the organisation's timezone",
           "the payments' Amount"),
    Figure("customer_credit", "Customer credit", "sales credit notes, received overpayments "
           "and prepayments, AUTHORISED or PAID, RemainingCredit above 0", "RemainingCredit"),
    Figure("supplier_credit", "Supplier credit", "purchase credit notes, spent overpayments "
           "and prepayments, AUTHORISED or PAID, RemainingCredit above 0", "RemainingCredit"),
)
FIGURE_KEYS: tuple[str, ...] = tuple(f.key for f in FIGURES)
SETTLEMENT_KEYS: tuple[str, ...] = tuple(f.key for f in SETTLEMENT_FIGURES)
FIGURE_LABELS: dict[str, str] = {f.key: f.label for f in (*FIGURES, *SETTLEMENT_FIGURES)}

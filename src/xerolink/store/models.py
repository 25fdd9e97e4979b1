"""Plain records the store reads and writes; no SQL, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from xerolink.vocabulary import ContactStatus


@dataclass(frozen=True)
class CrmContact:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    company_id: str | None = None
    source: str | None = None  # "salesmate" for a pulled record; None for a file's
    gone: bool = False  # the source has deleted it since (kept, marked, never pushed to)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class CrmCompany:
    id: str
    name: str
    source: str | None = None
    gone: bool = False


@dataclass(frozen=True)
class CrmDeal:
    id: str
    title: str
    value: Decimal | None = None
    currency: str | None = None
    primary_contact_id: str | None = None
    participant_ids: tuple[str, ...] = field(default_factory=tuple)
    source: str | None = None
    gone: bool = False


@dataclass(frozen=True)
class Connection:
    tenant_id: str
    tenant_name: str
    auth_kind: str  # "pkce" or "custom"
    connected_by: str
    connected_at: datetime
    short_code: str | None = None
    base_currency: str | None = None
    timezone: str | None = None
    country_code: str | None = None
    xero_url: str | None = None
    client_id: str | None = None
    scopes: str | None = None
    rate_limits: str | None = None


@dataclass(frozen=True)
class Link:
    tenant_id: str
    crm_contact_id: str
    xero_contact_id: str
    linked_by: str
    linked_at: datetime
    xero_name: str = ""
    xero_email: str = ""


@dataclass(frozen=True)
class AccessEntry:
    tenant_id: str
    user: str
    role: str  # "admin" or "viewer"
    granted_by: str
    granted_at: datetime
    may_send: bool = False  # granted the right to send (admins have it regardless)


@dataclass(frozen=True)
class XeroContact:
    """What xerolink keeps of a Xero contact to suggest and auto-link."""

    contact_id: str
    name: str
    status: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    persons: tuple[tuple[str, str, str], ...] = ()  # (first, last, email) of ContactPersons
    updated_utc: datetime | None = None

    @property
    def active(self) -> bool:
        """Archived contacts are neither suggested nor linked."""
        return self.status == ContactStatus.ACTIVE

    @property
    def emails(self) -> list[str]:
        found = [self.email.lower()] if self.email else []
        return found + [p[2].lower() for p in self.persons if p[2]]


@dataclass(frozen=True)
class LinkView:
    """A link with the CRM contact it belongs to, for listing."""

    link: Link
    crm_name: str
    crm_email: str


@dataclass(frozen=True)
class CachedDocument:
    """A quote, invoice or bill as last read from Xero. For quotes, ``due_date`` holds
    the expiry date."""

    document_id: str
    kind: str  # "quote", "invoice" (ACCREC) or "bill" (ACCPAY)
    xero_contact_id: str
    number: str
    reference: str
    status: str
    issue_date: date | None
    due_date: date | None
    currency: str
    currency_rate: Decimal
    total: Decimal
    amount_due: Decimal
    updated_utc: datetime | None
    fetched_at: datetime


@dataclass(frozen=True)
class CreateIntent:
    """A create that was sent (or about to be) and not yet answered."""

    tenant_id: str
    fingerprint: str  # sha-256 of the request: the same command gives the same one
    idempotency_key: str
    kind: str
    crm_contact_id: str
    xero_contact_id: str
    created_by: str
    created_at: datetime
    document_id: str | None = None  # once Xero made it: a rerun resumes, never remakes
    noted_at: datetime | None = None  # when its "Created by" history note was tried
    done_at: datetime | None = None  # every step done: kept for the idempotency window


@dataclass(frozen=True)
class SendIntent:
    """One email of an invoice asked of Xero: written before the call, with its key."""

    tenant_id: str
    idempotency_key: str
    document_id: str
    number: str
    to_address: str
    requested_by: str
    requested_at: datetime
    sent_at: datetime | None = None  # Xero answered 204
    noted_at: datetime | None = None  # its history note was tried


@dataclass(frozen=True)
class CachedPayment:
    """A payment on an invoice or bill as last read from Xero (``Payments``); the
    amount is in the document's currency, ``currency_rate`` the payment's own."""

    payment_id: str
    document_id: str
    kind: str  # "invoice" (ACCREC) or "bill" (ACCPAY): what the payment settles
    number: str  # the document's
    xero_contact_id: str
    paid_on: date
    amount: Decimal
    currency: str
    currency_rate: Decimal
    status: str
    updated_utc: datetime | None
    fetched_at: datetime


@dataclass(frozen=True)
class CachedCredit:
    """A credit note, overpayment or prepayment with credit left, as last read from
    Xero. ``side`` is the kind it is credit against: "invoice" (a customer's credit)
    or "bill" (a supplier's)."""

    credit_id: str
    source: str  # "credit_note", "overpayment" or "prepayment"
    side: str
    xero_contact_id: str
    number: str
    status: str
    issued_on: date | None
    currency: str
    currency_rate: Decimal
    total: Decimal
    remaining: Decimal
    updated_utc: datetime | None
    fetched_at: datetime

"""The fast tier's stand-ins: a Xero organisation in memory behind the real gateway,
and the services' ``Deps`` on the real store's schema in memory.

``FakeXero`` is a real ``XeroGateway``: its typed reads and writes, its paging, its
parsing of Xero's JSON (``xero/models.py``), the transport's call accounting and
its error mapping (404, 400, a URL too long) all run as they do against Xero. Only
the HTTP below the SDK is replaced: each SDK call is answered from typed records
(``XeroContact``, ``CachedDocument``) written out as Xero's JSON, with Xero's
semantics as the sandbox plays them (``src/xerolink/sandbox/accounting``): archived
contacts only when asked for or asked by id, ``If-Modified-Since`` as "updated at or
after", Quotes 100 a page without a page count, an Idempotency-Key answered with the
first answer, status changes by Xero's transitions; Payments and the three credit lists
with ``where`` in Xero's filter language (the sandbox's parser) and 100 a page unless
``pageSize`` (up to 1,000); an invoice emailed once per Idempotency-Key, SentToContact
true after. So every call a service makes is counted in ``log.calls`` under the real
gateway's label ("GET Invoices"), and a call the fake does not serve fails
(AttributeError) rather than passing.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from xero_python.exceptions import ApiException

from xerolink.money import cents
from xerolink.sandbox.accounting.validation import INVOICE_TRANSITIONS, QUOTE_TRANSITIONS
from xerolink.sandbox.where import WhereError, compile_where
from xerolink.sandbox.xerojson import date_string, dumps, ms_date
from xerolink.services.context import Deps
from xerolink.store import SqliteStore
from xerolink.store.models import (
    AccessEntry,
    CachedCredit,
    CachedDocument,
    CachedPayment,
    Connection,
    CrmCompany,
    CrmContact,
    CrmDeal,
    Link,
    XeroContact,
)
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import XeroGateway

TENANT = "0c5c4c3e-1d1e-4b6f-9a52-000000000001"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday: the fast tests' "now"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CONTACTS_DEFAULT_PAGE = 100
QUOTES_PER_PAGE = 100
SETTLEMENTS_DEFAULT_PAGE = 100  # Payments and the credit lists: pageSize up to 1,000
# A credit's side and source -> Xero's Type (the sandbox's CREDIT_FOR, read backwards)
CREDIT_TYPES = {("credit_note", "invoice"): "ACCRECCREDIT",
                ("credit_note", "bill"): "ACCPAYCREDIT",
                ("overpayment", "invoice"): "RECEIVE-OVERPAYMENT",
                ("overpayment", "bill"): "SPEND-OVERPAYMENT",
                ("prepayment", "invoice"): "RECEIVE-PREPAYMENT",
                ("prepayment", "bill"): "SPEND-PREPAYMENT"}
# The credit lists: SDK method -> (source, the answer's key, its id key)
CREDIT_LISTS = {"get_credit_notes": ("credit_note", "CreditNotes", "CreditNoteID"),
                "get_overpayments": ("overpayment", "Overpayments", "OverpaymentID"),
                "get_prepayments": ("prepayment", "Prepayments", "PrepaymentID")}
EMAIL_STATUSES = ("SUBMITTED", "AUTHORISED", "PAID")  # as the sandbox's sending.py


class Clock:
    """The fast tests' clock: fixed until a test moves it."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


class _Tokens:
    def access_token(self, rejected: str | None = None) -> str:
        return "fake-access-token"


@dataclass
class _Answer:
    """What the SDK hands the transport with ``_preload_content=False``."""

    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    reason: str = "OK"

    def release_conn(self) -> None:
        pass

    def getheaders(self) -> dict[str, str]:
        return self.headers


def _refused(status: int, message: str = "") -> ApiException:
    body = dumps({"Type": "ValidationException", "Message": message,
                  "Elements": [{"ValidationErrors": [{"Message": message}]}]}) \
        if status == 400 else b""
    return ApiException(http_resp=_Answer(body, status=status, reason=str(status)))


def _ids(values: Any) -> list[str] | None:
    if values is None:
        return None
    found = [str(v).strip().lower() for v in values]
    if any(not GUID.match(v) for v in found):
        raise _refused(400, "IDs contains an invalid identifier")
    return found


class FakeXero(XeroGateway):
    """An organisation's contacts, invoices, bills and quotes, payments and credit, in
    memory. Add records with ``add_contact``/``add_document``, ``pay`` (a payment on a
    document), ``add_credit_note``/``add_overpayment``/``add_prepayment`` and
    ``allocate``; change them with ``update`` (which moves their UpdatedDateUTC to the
    clock's now); read the calls in ``log.calls`` and the emails sent in ``outbox``."""

    def __init__(self, clock: Clock | None = None, *, base_currency: str = "NZD",
                 tenant_id: str = TENANT) -> None:
        super().__init__(Endpoints.at(None), _Tokens(), tenant_id=tenant_id,
                         sleep=lambda _s: None)
        self.clock = clock or Clock()
        self.base_currency = base_currency
        self.rates: dict[str, Decimal] = {base_currency: Decimal("1")}
        self.contacts_by_id: dict[str, XeroContact] = {}
        self.documents: dict[str, CachedDocument] = {}
        self.subtotals: dict[str, Decimal] = {}
        self.history: dict[str, list[str]] = {}
        self.payments_by_id: dict[str, CachedPayment] = {}
        self.credits_by_id: dict[str, CachedCredit] = {}
        self.allocations: dict[str, list[tuple[str, Decimal, date]]] = {}  # credit -> ...
        self.sent_to_contact: dict[str, datetime] = {}  # invoice -> when sent or marked
        self.outbox: list[dict[str, Any]] = []  # the emails Xero sent, one a POST .../Email
        self.answered: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> first answer
        self.failing: dict[str, list[Exception]] = {}  # SDK method -> raised in turn
        self.unscoped: set[str] = set()  # SDK methods the token lacks the scope of
        self.asked: list[tuple[str, dict[str, Any]]] = []  # SDK method, its filters
        # SDK methods whose next call does its work and then never answers: the caller
        # is interrupted (Ctrl-C, a killed process) while Xero has the request done.
        self.interrupt: set[str] = set()
        self.invoice_number, self.quote_number = 1, 1
        self._books = threading.Lock()
        self._api = _Api(self)

    # -- the books ---------------------------------------------------------------------
    def add_contact(self, name: str, *, email: str = "", first_name: str = "",
                    last_name: str = "", archived: bool = False,
                    persons: tuple[tuple[str, str, str], ...] = (),
                    contact_id: str | None = None) -> XeroContact:
        contact = XeroContact(contact_id or str(uuid.uuid4()), name,
                              "ARCHIVED" if archived else "ACTIVE", first_name, last_name,
                              email.lower(), persons, self._stamp())
        self.contacts_by_id[contact.contact_id] = contact
        return contact

    def add_document(self, kind: str, contact: XeroContact | str, *, total: str | Decimal,
                     status: str | None = None, due: date | None = None,
                     issued: date | None = None, currency: str | None = None,
                     rate: str | Decimal | None = None, amount_due: str | Decimal | None = None,
                     number: str | None = None, reference: str = "",
                     document_id: str | None = None) -> CachedDocument:
        """A quote, invoice or bill as Xero holds it (AUTHORISED or SENT unless said)."""
        contact_id = contact if isinstance(contact, str) else contact.contact_id
        amount = Decimal(total)
        currency = currency or self.base_currency
        opened = "SENT" if kind == "quote" else "AUTHORISED"
        document = CachedDocument(
            document_id or str(uuid.uuid4()), kind, contact_id,
            number or self._number(kind), reference,
            status or opened, issued or self.clock().date(), due, currency,
            Decimal(rate) if rate is not None else self.rates.get(currency, Decimal("1")),
            amount, Decimal("0") if kind == "quote" else
            Decimal(amount_due) if amount_due is not None else amount,
            self._stamp(), self.clock())
        self.documents[document.document_id] = document
        self.subtotals[document.document_id] = amount
        return document

    def update(self, document: CachedDocument | str, **changes: Any) -> CachedDocument:
        """A change made in Xero: the record's UpdatedDateUTC becomes now."""
        key = document if isinstance(document, str) else document.document_id
        changed = replace(self.documents[key], **changes, updated_utc=self._stamp())
        self.documents[key] = changed
        return changed

    def update_contact(self, contact: XeroContact, **changes: Any) -> XeroContact:
        changed = replace(self.contacts_by_id[contact.contact_id], **changes,
                          updated_utc=self._stamp())
        self.contacts_by_id[contact.contact_id] = changed
        return changed

    # -- payments and credit -------------------------------------------------------------
    def pay(self, document: CachedDocument | str, amount: str | Decimal, *,
            on: date | None = None, rate: str | Decimal | None = None,
            payment_id: str | None = None) -> CachedPayment:
        """A payment on an AUTHORISED invoice or bill, as PUT Payments makes one: the
        document owes less (AmountDue), and at nothing it is PAID."""
        found = self.documents[document if isinstance(document, str) else
                               document.document_id]
        paid = Decimal(amount)
        if found.kind == "quote" or found.status != "AUTHORISED" or \
                not 0 < paid <= found.amount_due:
            raise ValueError(f"Xero refuses a payment of {paid} on {found.status} "
                             f"{found.kind} {found.number} owing {found.amount_due}")
        payment = CachedPayment(
            payment_id or str(uuid.uuid4()), found.document_id, found.kind, found.number,
            found.xero_contact_id, on or self.clock().date(), paid, found.currency,
            Decimal(rate) if rate is not None else found.currency_rate, "AUTHORISED",
            self._stamp(), self.clock())
        self.payments_by_id[payment.payment_id] = payment
        owing = found.amount_due - paid
        self.update(found, amount_due=owing,
                    status="PAID" if owing == 0 else found.status)
        return payment

    def delete_payment(self, payment: CachedPayment | str) -> CachedPayment:
        """Xero's PaymentDelete: listed as DELETED, and the document owes it again."""
        found = self.payments_by_id[payment if isinstance(payment, str) else payment.payment_id]
        deleted = replace(found, status="DELETED", updated_utc=self._stamp())
        self.payments_by_id[found.payment_id] = deleted
        document = self.documents[found.document_id]
        self.update(document, amount_due=document.amount_due + found.amount,
                    status="AUTHORISED" if document.status == "PAID" else document.status)
        return deleted

    def add_credit(self, source: str, contact: XeroContact | str, *, total: str | Decimal,
                   remaining: str | Decimal | None = None, side: str = "invoice",
                   status: str = "AUTHORISED", issued: date | None = None,
                   currency: str | None = None, rate: str | Decimal | None = None,
                   number: str = "", credit_id: str | None = None) -> CachedCredit:
        """A credit note, overpayment or prepayment (``source``) of a customer
        (``side`` "invoice") or a supplier ("bill"), all its credit left unless said."""
        assert (source, side) in CREDIT_TYPES, (source, side)
        currency = currency or self.base_currency
        if source == "credit_note" and not number:
            number = f"CN-{sum(c.source == source for c in self.credits_by_id.values()) + 1:05d}"
        credit = CachedCredit(
            credit_id or str(uuid.uuid4()), source, side,
            contact if isinstance(contact, str) else contact.contact_id, number, status,
            issued or self.clock().date(), currency,
            Decimal(rate) if rate is not None else self.rates.get(currency, Decimal("1")),
            Decimal(total), Decimal(total if remaining is None else remaining),
            self._stamp(), self.clock())
        self.credits_by_id[credit.credit_id] = credit
        return credit

    def add_credit_note(self, contact: XeroContact | str, **fields: Any) -> CachedCredit:
        return self.add_credit("credit_note", contact, **fields)

    def add_overpayment(self, contact: XeroContact | str, **fields: Any) -> CachedCredit:
        return self.add_credit("overpayment", contact, **fields)

    def add_prepayment(self, contact: XeroContact | str, **fields: Any) -> CachedCredit:
        return self.add_credit("prepayment", contact, **fields)

    def allocate(self, credit: CachedCredit | str, document: CachedDocument | str,
                 amount: str | Decimal) -> CachedCredit:
        """Credit applied to an invoice or bill, as PUT .../Allocations does: the
        credit has less left (PAID at none), the document owes less (PAID at none)."""
        found = self.credits_by_id[credit if isinstance(credit, str) else credit.credit_id]
        target = self.documents[document if isinstance(document, str) else
                                document.document_id]
        applied = Decimal(amount)
        if found.status != "AUTHORISED" or target.status != "AUTHORISED" or \
                not 0 < applied <= min(found.remaining, target.amount_due) or \
                found.xero_contact_id != target.xero_contact_id or \
                found.currency != target.currency or found.side != target.kind:
            label = found.number or found.source
            raise ValueError(f"Xero refuses to allocate {applied} of {label} to "
                             f"{target.kind} {target.number}")
        left = found.remaining - applied
        self.allocations.setdefault(found.credit_id, []).append(
            (target.document_id, applied, self.clock().date()))
        changed = replace(found, remaining=left, status="PAID" if left == 0 else found.status,
                          updated_utc=self._stamp())
        self.credits_by_id[found.credit_id] = changed
        owing = target.amount_due - applied
        self.update(target, amount_due=owing,
                    status="PAID" if owing == 0 else target.status)
        return changed

    def update_credit(self, credit: CachedCredit | str, **changes: Any) -> CachedCredit:
        """A change made in Xero (voided, say): its UpdatedDateUTC becomes now."""
        key = credit if isinstance(credit, str) else credit.credit_id
        changed = replace(self.credits_by_id[key], **changes, updated_utc=self._stamp())
        self.credits_by_id[key] = changed
        return changed

    def mark_sent(self, document: CachedDocument | str) -> None:
        """Marked sent in Xero (SentToContact), now, as a user does in Xero's screens."""
        key = document if isinstance(document, str) else document.document_id
        self.sent_to_contact[key] = self._stamp()
        self.update(key)

    def _stamp(self) -> datetime:
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # Xero's ms

    def _number(self, kind: str) -> str:
        if kind == "quote":
            self.quote_number += 1
            return f"QU-{self.quote_number - 1:04d}"
        if kind == "bill":
            return ""
        self.invoice_number += 1
        return f"INV-{self.invoice_number - 1:05d}"

    # -- the SDK, as the transport calls it ----------------------------------------------
    def accounting_api(self) -> Any:
        return self._api

    def identity_api(self) -> Any:
        raise AttributeError("FakeXero serves the accounting API only")

    @property
    def calls(self) -> dict[str, int]:
        """Xero calls by the gateway's label, those made so far."""
        return dict(self.log.calls)

    def reset_calls(self) -> None:
        self.log.calls.clear()
        self.asked.clear()

    def lack_scope(self, *methods: str) -> None:
        """The connection was made without the scope these SDK methods need: each call
        answers 401 AuthorizationUnsuccessful, as Xero does, every time."""
        self.unscoped.update(methods)

    def fail(self, method: str, status: int, *, times: int = 1, message: str = "") -> None:
        """The SDK method's next ``times`` calls answer HTTP ``status``."""
        self.failing[method] = [_refused(status, message) for _ in range(times)]


class _Api:
    """xero-python's AccountingApi, as far as the gateway calls it, answering from the
    books with Xero's JSON (as bytes: the transport parses it, as it does Xero's)."""

    def __init__(self, xero: FakeXero) -> None:
        self.xero = xero
        self.api_client = _Client(self)

    @contextmanager
    def _books(self, method: str, **filters: Any) -> Iterator[None]:
        with self.xero._books:
            self.xero.asked.append((method, {k: v for k, v in filters.items()
                                             if v is not None}))
            if method in self.xero.unscoped:  # Xero's 401 for a scope not granted
                raise ApiException(http_resp=_Answer(dumps({
                    "Title": "Unauthorized", "Status": 401,
                    "Detail": "AuthorizationUnsuccessful"}), status=401, reason="401"))
            failures = self.xero.failing.get(method)
            if failures:
                raise failures.pop(0)
            yield
            if method in self.xero.interrupt:
                self.xero.interrupt.discard(method)
                raise KeyboardInterrupt

    def _answer(self, key: str, items: list[dict[str, Any]],
                pagination: dict[str, int] | None = None) -> _Answer:
        body: dict[str, Any] = {key: items}
        if pagination is not None:
            body["pagination"] = pagination
        return _Answer(dumps(body))

    # -- contacts --------------------------------------------------------------------------
    def get_contacts(self, tenant: str, *, page: int | None = None,
                     page_size: int = CONTACTS_DEFAULT_PAGE, include_archived: bool = False,
                     i_ds: list[str] | None = None, search_term: str | None = None,
                     if_modified_since: datetime | None = None, **_raw: Any) -> _Answer:
        with self._books("get_contacts", page=page, ids=i_ds, search_term=search_term,
                         if_modified_since=if_modified_since):
            ids = _ids(i_ds)
            books = self.xero.contacts_by_id
            items = [books[i] for i in ids if i in books] if ids is not None \
                else list(books.values())
            if not include_archived and ids is None:
                items = [c for c in items if c.status == "ACTIVE"]
            if if_modified_since is not None:
                items = [c for c in items if c.updated_utc and c.updated_utc >= if_modified_since]
            term = (search_term or "").strip().lower()
            if term:
                items = [c for c in items if any(term in v.lower() for v in
                                                  (c.name, c.first_name, c.last_name, c.email))]
            chosen, meta = _paginate(items, page, page_size)
            return self._answer("Contacts", [_contact_json(c) for c in chosen], meta)

    def get_contact(self, tenant: str, contact_id: str, **_raw: Any) -> _Answer:
        with self._books("get_contact"):
            found = self.xero.contacts_by_id.get(contact_id.lower())
            if found is None:
                raise _refused(404)
            return self._answer("Contacts", [_contact_json(found)])

    def create_contacts(self, tenant: str, body: dict[str, Any], *, idempotency_key: str,
                        **_raw: Any) -> _Answer:
        with self._books("create_contacts"):
            if idempotency_key in self.xero.answered:
                return self._answer("Contacts", [self.xero.answered[idempotency_key]])
            (fields,) = body["Contacts"]
            name = str(fields.get("Name") or "").strip()
            if not name:
                raise _refused(400, "The contact name must be specified.")
            if any(c.name.lower() == name.lower() for c in self.xero.contacts_by_id.values()):
                raise _refused(400, "The contact name is already assigned to another contact.")
            made = self.xero.add_contact(name, email=fields.get("EmailAddress", ""),
                                         first_name=fields.get("FirstName", ""),
                                         last_name=fields.get("LastName", ""))
            self.xero.answered[idempotency_key] = _contact_json(made)
            return self._answer("Contacts", [_contact_json(made)])

    # -- invoices and bills --------------------------------------------------------------
    def get_invoices(self, tenant: str, *, page: int | None = None, page_size: int = 100,
                     summary_only: bool = False, invoice_numbers: list[str] | None = None,
                     contact_i_ds: list[str] | None = None, statuses: list[str] | None = None,
                     i_ds: list[str] | None = None, if_modified_since: datetime | None = None,
                     **_raw: Any) -> _Answer:
        with self._books("get_invoices", page=page, ids=i_ds, contact_ids=contact_i_ds,
                         statuses=statuses, numbers=invoice_numbers,
                         if_modified_since=if_modified_since):
            ids, contacts = _ids(i_ds), _ids(contact_i_ds)
            unknown = [s for s in statuses or () if s not in INVOICE_TRANSITIONS]
            if unknown:
                raise _refused(400, f"Statuses contains an invalid status: {unknown[0]}")
            items = [d for d in self.xero.documents.values() if d.kind != "quote"]
            if ids is not None:
                items = [d for d in items if d.document_id in ids]
            if contacts is not None:
                items = [d for d in items if d.xero_contact_id in contacts]
            if invoice_numbers:
                items = [d for d in items if d.number in invoice_numbers]
            if statuses:
                items = [d for d in items if d.status in statuses]
            if if_modified_since is not None:
                items = [d for d in items if d.updated_utc and d.updated_utc >= if_modified_since]
            chosen, meta = _paginate(items, page, page_size)
            return self._answer("Invoices", [self._invoice_json(d) for d in chosen], meta)

    def create_invoices(self, tenant: str, body: dict[str, Any], *, unitdp: int,
                        idempotency_key: str, **_raw: Any) -> _Answer:
        with self._books("create_invoices"):
            (fields,) = body["Invoices"]
            kind = "bill" if fields.get("Type") == "ACCPAY" else "invoice"
            return self._answer("Invoices", [self._create(kind, fields, idempotency_key)])

    def update_invoice(self, tenant: str, invoice_id: str, body: dict[str, Any], *,
                       idempotency_key: str, **_raw: Any) -> _Answer:
        with self._books("update_invoice"):
            changed = self._set_status(invoice_id, body["Invoices"][0]["Status"],
                                       INVOICE_TRANSITIONS, quote=False)
            return self._answer("Invoices", [self._invoice_json(changed)])

    def create_invoice_history(self, tenant: str, invoice_id: str, body: dict[str, Any], *,
                               idempotency_key: str, **_raw: Any) -> _Answer:
        return self._note(invoice_id, body, quote=False)

    # -- quotes ----------------------------------------------------------------------------
    def get_quotes(self, tenant: str, *, page: int | None = None,
                   contact_id: str | None = None, status: str | None = None,
                   quote_number: str | None = None, if_modified_since: datetime | None = None,
                   **_raw: Any) -> _Answer:
        with self._books("get_quotes", page=page, contact_id=contact_id, status=status,
                         quote_number=quote_number, if_modified_since=if_modified_since):
            items = [d for d in self.xero.documents.values() if d.kind == "quote"]
            if contact_id:
                items = [d for d in items if d.xero_contact_id == contact_id.lower()]
            if status:
                items = [d for d in items if d.status == status]
            if quote_number:
                items = [d for d in items if d.number == quote_number]
            if if_modified_since is not None:
                items = [d for d in items if d.updated_utc and d.updated_utc >= if_modified_since]
            if page is not None:  # 100 a page, and no pagination block
                items = items[(page - 1) * QUOTES_PER_PAGE:page * QUOTES_PER_PAGE]
            return self._answer("Quotes", [self._quote_json(d) for d in items])

    def get_quote(self, tenant: str, quote_id: str, **_raw: Any) -> _Answer:
        with self._books("get_quote"):
            found = self.xero.documents.get(quote_id.lower())
            if found is None or found.kind != "quote":
                raise _refused(404)
            return self._answer("Quotes", [self._quote_json(found)])

    def update_quote(self, tenant: str, quote_id: str, body: dict[str, Any], *,
                     idempotency_key: str, **_raw: Any) -> _Answer:
        with self._books("update_quote"):
            fields = body["Quotes"][0]
            if not (fields.get("Contact") or {}).get("ContactID") or not fields.get("Date"):
                raise _refused(400, "Contact and Date are required to update a quote")
            changed = self._set_status(quote_id, fields["Status"], QUOTE_TRANSITIONS,
                                       quote=True)
            return self._answer("Quotes", [self._quote_json(changed)])

    def create_quote_history(self, tenant: str, quote_id: str, body: dict[str, Any], *,
                             idempotency_key: str, **_raw: Any) -> _Answer:
        return self._note(quote_id, body, quote=True)

    # -- payments and credit --------------------------------------------------------------
    def get_payments(self, tenant: str, *, if_modified_since: datetime | None = None,
                     where: str | None = None, order: str | None = None,
                     page: int | None = None, page_size: int | None = None,
                     **_raw: Any) -> _Answer:
        with self._books("get_payments", where=where, order=order, page=page,
                         page_size=page_size, if_modified_since=if_modified_since):
            items = _settled(list(self.xero.payments_by_id.values()), if_modified_since, where,
                             order, {"Date": "paid_on", "Status": "status",
                                     "Amount": "amount"})
            chosen, meta = _paginate(items, page, _page_size(page, page_size))
            return self._answer("Payments", [self._payment_json(p) for p in chosen], meta)

    def _credit_list(self, method: str, tenant: str, *,
                     if_modified_since: datetime | None = None, where: str | None = None,
                     order: str | None = None, page: int | None = None,
                     page_size: int | None = None, **_raw: Any) -> _Answer:
        source, key, id_key = CREDIT_LISTS[method]
        with self._books(method, where=where, order=order, page=page, page_size=page_size,
                         if_modified_since=if_modified_since):
            items = _settled([c for c in self.xero.credits_by_id.values() if c.source == source],
                             if_modified_since, where, order,
                             {"Date": "issued_on", "Status": "status",
                              "RemainingCredit": "remaining", "Total": "total"})
            chosen, meta = _paginate(items, page, _page_size(page, page_size))
            return self._answer(key, [self._credit_json(c, id_key) for c in chosen], meta)

    def get_credit_notes(self, tenant: str, **filters: Any) -> _Answer:
        return self._credit_list("get_credit_notes", tenant, **filters)

    def get_overpayments(self, tenant: str, **filters: Any) -> _Answer:
        return self._credit_list("get_overpayments", tenant, **filters)

    def get_prepayments(self, tenant: str, **filters: Any) -> _Answer:
        return self._credit_list("get_prepayments", tenant, **filters)

    # -- email -----------------------------------------------------------------------------
    def email_invoice(self, tenant: str, invoice_id: str, request_empty: Any, *,
                      idempotency_key: str | None = None, **_raw: Any) -> _Answer:
        """POST Invoices/{id}/Email: 204 and one email in the outbox; the same key
        again is the same email (answered, not sent twice)."""
        with self._books("email_invoice"):
            if idempotency_key and idempotency_key in self.xero.answered:
                return _Answer(b"", status=204, reason="No Content")
            found = self.xero.documents.get(invoice_id.lower())
            if found is None or found.kind == "quote":
                raise _refused(404)
            contact = self.xero.contacts_by_id.get(found.xero_contact_id)
            if found.kind != "invoice":
                raise _refused(400, "Only sales invoices (Type ACCREC) can be emailed; "
                                    "this is a bill (ACCPAY)")
            if found.status not in EMAIL_STATUSES:
                raise _refused(400, f"An invoice with status {found.status} cannot be "
                                    "emailed; it must be SUBMITTED, AUTHORISED or PAID")
            if contact is None or not contact.email:
                raise _refused(400, "The contact has no email address to send the "
                                    "invoice to")
            self.xero.outbox.append({"invoice_id": found.document_id, "to": contact.email,
                                     "idempotency_key": idempotency_key,
                                     "sent_at": self.xero.clock()})
            self.xero.sent_to_contact[found.document_id] = self.xero._stamp()
            self.xero.update(found)
            if idempotency_key:
                self.xero.answered[idempotency_key] = {}
            return _Answer(b"", status=204, reason="No Content")

    def get_invoice_history(self, tenant: str, invoice_id: str, **_raw: Any) -> _Answer:
        """Newest first: "Sent" when it was emailed or marked sent, and the notes."""
        with self._books("get_invoice_history"):
            found = self.xero.documents.get(invoice_id.lower())
            if found is None or found.kind == "quote":
                raise _refused(404)
            records = [{"Changes": "Note", "Details": d, "User": "System Generated"}
                       for d in reversed(self.xero.history.get(found.document_id, []))]
            sent = self.xero.sent_to_contact.get(found.document_id)
            if sent is not None:
                records.insert(0, {"Changes": "Sent", "DateUTC": sent,
                                   "Details": "Marked as sent.", "User": "System Generated"})
            return self._answer("HistoryRecords", records)

    def _payment_json(self, payment: CachedPayment) -> dict[str, Any]:
        contact = self.xero.contacts_by_id.get(payment.xero_contact_id)
        return {"PaymentID": payment.payment_id, "Date": ms_date(payment.paid_on),
                "Amount": payment.amount, "CurrencyRate": payment.currency_rate,
                "PaymentType": "ACCPAYPAYMENT" if payment.kind == "bill" else "ACCRECPAYMENT",
                "Status": payment.status, "UpdatedDateUTC": payment.updated_utc,
                "Invoice": {"Type": "ACCPAY" if payment.kind == "bill" else "ACCREC",
                            "InvoiceID": payment.document_id,
                            "InvoiceNumber": payment.number,
                            "CurrencyCode": payment.currency,
                            "Contact": {"ContactID": payment.xero_contact_id,
                                        "Name": contact.name if contact else ""}}}

    def _credit_json(self, credit: CachedCredit, id_key: str) -> dict[str, Any]:
        contact = self.xero.contacts_by_id.get(credit.xero_contact_id)
        numbered = {"CreditNoteNumber": credit.number} if credit.source == "credit_note" \
            else {"Reference": credit.number}
        issued = {} if credit.issued_on is None else {
            "Date": ms_date(credit.issued_on), "DateString": date_string(credit.issued_on)}
        allocations = [{"Amount": amount, "Date": ms_date(on),
                        "Invoice": {"InvoiceID": document_id, "InvoiceNumber":
                                    self.xero.documents[document_id].number}}
                       for document_id, amount, on in
                       self.xero.allocations.get(credit.credit_id, [])]
        return {id_key: credit.credit_id, **numbered,
                "Type": CREDIT_TYPES[(credit.source, credit.side)],
                "Contact": {"ContactID": credit.xero_contact_id,
                            "Name": contact.name if contact else ""},
                **issued, "Status": credit.status, "SubTotal": credit.total,
                "Total": credit.total, "RemainingCredit": credit.remaining,
                "CurrencyCode": credit.currency, "CurrencyRate": credit.currency_rate,
                "Allocations": allocations, "UpdatedDateUTC": credit.updated_utc}

    def get_resource_url(self, path: str) -> str:
        return path

    def get_model_finder(self) -> None:
        return None

    def create_quote(self, fields: dict[str, Any], idempotency_key: str) -> _Answer:
        with self._books("create_quote"):
            return self._answer("Quotes", [self._create("quote", fields, idempotency_key)])

    # -- what the writes share ---------------------------------------------------------------
    def _create(self, kind: str, fields: dict[str, Any], key: str) -> dict[str, Any]:
        """A new DRAFT document from a payload; the same key answers the same again."""
        if key in self.xero.answered:
            return self.xero.answered[key]
        xero = self.xero
        contact_id = str((fields.get("Contact") or {}).get("ContactID") or "").lower()
        if contact_id not in xero.contacts_by_id:
            raise _refused(400, "The contact could not be found")
        currency = fields.get("CurrencyCode") or xero.base_currency
        if currency not in xero.rates:
            raise _refused(400, f"The currency {currency} is not enabled")
        lines = fields.get("LineItems") or []
        if not lines:
            raise _refused(400, "A document needs at least one line item")
        subtotal = sum((cents(Decimal(str(line["Quantity"])) * Decimal(str(line["UnitAmount"])))
                        for line in lines), Decimal("0"))
        due_key = "ExpiryDate" if kind == "quote" else "DueDate"
        made = xero.add_document(
            kind, contact_id, total=subtotal, status="DRAFT", currency=currency,
            issued=date.fromisoformat(fields["Date"]) if fields.get("Date") else None,
            due=date.fromisoformat(fields[due_key]) if fields.get(due_key) else None,
            reference=fields.get("Reference") or "")
        answer = self._quote_json(made) if kind == "quote" else self._invoice_json(made)
        xero.answered[key] = answer
        return answer

    def _set_status(self, document_id: str, status: str, transitions: dict[str, set[str]],
                    *, quote: bool) -> CachedDocument:
        found = self.xero.documents.get(document_id.lower())
        if found is None or (found.kind == "quote") != quote:
            raise _refused(404)
        if status != found.status and status not in transitions[found.status]:
            raise _refused(400, f"A {found.status} document cannot become {status}")
        return self.xero.update(found, status=status)

    def _note(self, document_id: str, body: dict[str, Any], *, quote: bool) -> _Answer:
        with self._books("create_quote_history" if quote else "create_invoice_history"):
            found = self.xero.documents.get(document_id.lower())
            if found is None or (found.kind == "quote") != quote:
                raise _refused(404)
            details = body["HistoryRecords"][0]["Details"]
            self.xero.history.setdefault(found.document_id, []).append(details)
            return self._answer("HistoryRecords", [{"Details": details}])

    def _contact(self, document: CachedDocument) -> dict[str, Any]:
        contact = self.xero.contacts_by_id.get(document.xero_contact_id)
        return {"ContactID": document.xero_contact_id, "Name": contact.name if contact else ""}

    def _dates(self, document: CachedDocument, due_key: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if document.issue_date is not None:
            found |= {"Date": ms_date(document.issue_date),
                      "DateString": date_string(document.issue_date)}
        if document.due_date is not None:
            found |= {due_key: ms_date(document.due_date),
                      f"{due_key}String": date_string(document.due_date)}
        return found

    def _money(self, document: CachedDocument) -> dict[str, Any]:
        return {"CurrencyCode": document.currency, "CurrencyRate": document.currency_rate,
                "SubTotal": self.xero.subtotals.get(document.document_id, document.total),
                "Total": document.total, "UpdatedDateUTC": document.updated_utc}

    def _invoice_json(self, document: CachedDocument) -> dict[str, Any]:
        return {"InvoiceID": document.document_id,
                "Type": "ACCPAY" if document.kind == "bill" else "ACCREC",
                "InvoiceNumber": document.number, "Reference": document.reference,
                "Status": document.status, "Contact": self._contact(document),
                **self._dates(document, "DueDate"), **self._money(document),
                "AmountDue": document.amount_due,
                "SentToContact": document.document_id in self.xero.sent_to_contact}

    def _quote_json(self, document: CachedDocument) -> dict[str, Any]:
        return {"QuoteID": document.document_id, "QuoteNumber": document.number,
                "Reference": document.reference, "Status": document.status,
                "Contact": self._contact(document), **self._dates(document, "ExpiryDate"),
                **self._money(document)}


class _Client:
    """The SDK's ApiClient, for the one call the gateway builds on it (PUT Quotes)."""

    def __init__(self, api: _Api) -> None:
        self.api = api

    def call_api(self, url: str, method: str, path: Any, query: list[tuple[str, Any]],
                 headers: dict[str, str], *, body: dict[str, Any], **_rest: Any) -> _Answer:
        assert (url, method) == ("/Quotes", "PUT"), (url, method)
        return self.api.create_quote(body["Quotes"][0], headers["Idempotency-Key"])


def _page_size(page: int | None, size: int | None) -> int:
    """Xero's pageSize: 1 to 1,000 (100 unless said), and only with a page."""
    if size is not None and not 1 <= size <= 1000:
        raise _refused(400, "pageSize must be between 1 and 1000")
    return size or SETTLEMENTS_DEFAULT_PAGE


def _settled(items: list[Any], since: datetime | None, where: str | None,
             order: str | None, fields: dict[str, str]) -> list[Any]:
    """A list's records changed at or after ``since``, matching ``where`` (Xero's
    filter language, as the sandbox reads it, on the fields named), ordered."""
    if since is not None:
        items = [r for r in items if r.updated_utc and r.updated_utc >= since]

    def resolve(record: Any, path: list[str]) -> Any:
        if len(path) != 1 or path[0] not in fields:
            raise WhereError(f"unknown field {'.'.join(path)}")
        return getattr(record, fields[path[0]])

    if where:
        try:
            matches = compile_where(where, resolve)
            items = [r for r in items if matches(r)]
        except WhereError as exc:
            raise _refused(400, str(exc)) from None
    if order:
        if order not in fields:
            raise _refused(400, f"cannot order by {order!r}")
        items = sorted(items, key=lambda r: getattr(r, fields[order]))
    return items


def _paginate(items: list[Any], page: int | None, size: int
              ) -> tuple[list[Any], dict[str, int] | None]:
    if page is None:
        return items, None
    count = -(-len(items) // size)
    return items[(page - 1) * size:page * size], {"page": page, "pageSize": size,
                                                  "pageCount": count,
                                                  "itemCount": len(items)}


def _contact_json(contact: XeroContact) -> dict[str, Any]:
    return {"ContactID": contact.contact_id, "Name": contact.name,
            "ContactStatus": contact.status, "FirstName": contact.first_name,
            "LastName": contact.last_name, "EmailAddress": contact.email,
            "ContactPersons": [{"FirstName": f, "LastName": last, "EmailAddress": e}
                               for f, last, e in contact.persons],
            "UpdatedDateUTC": contact.updated_utc}


# -- the services' dependencies ---------------------------------------------------------------
@dataclass
class World:
    """One organisation in memory, its store in memory, and the Deps a service takes."""

    xero: FakeXero
    store: SqliteStore
    deps: Deps
    clock: Clock

    def crm_contact(self, contact_id: str, first: str = "", last: str = "", email: str = "",
                    company: str | None = None) -> CrmContact:
        contact = CrmContact(contact_id, first, last, email, company_id=company)
        self.store.upsert_crm_records(contacts=[contact], at=self.clock())
        return contact

    def crm_company(self, company_id: str, name: str) -> CrmCompany:
        company = CrmCompany(company_id, name)
        self.store.upsert_crm_records(companies=[company], at=self.clock())
        return company

    def crm_deal(self, deal_id: str, title: str, value: str | None = None,
                 currency: str | None = None) -> CrmDeal:
        deal = CrmDeal(deal_id, title, None if value is None else Decimal(value), currency)
        self.store.upsert_crm_records(deals=[deal], at=self.clock())
        return deal

    def link(self, crm: CrmContact, xero: XeroContact) -> Link:
        link = Link(TENANT, crm.id, xero.contact_id, "alice", self.clock(), xero.name,
                    xero.email)
        self.store.put_link(link, replace=True)
        return link

    def linked(self, contact_id: str, name: str, **documents: Any) -> XeroContact:
        """A CRM contact linked to a new Xero contact of the same name."""
        first, _, last = name.partition(" ")
        xero = self.xero.add_contact(name)
        self.link(self.crm_contact(contact_id, first, last), xero)
        return xero

    def admin(self, user: str = "alice") -> None:
        self.store.grant_access(AccessEntry(TENANT, user, "admin", user, self.clock()))


def world(*, base_currency: str | None = "NZD", timezone: str | None = "NEWZEALANDSTANDARDTIME",
          clock: Clock | None = None, user: str = "alice",
          make_gateway: Callable[[FakeXero], XeroGateway] | None = None) -> World:
    """A connected organisation: a fake Xero, a store in memory that knows it, Deps."""
    clock = clock or Clock()
    xero = FakeXero(clock, base_currency=base_currency or "NZD")
    store = SqliteStore.in_memory()
    connection = Connection(TENANT, "Fake Books Ltd", "pkce", user, clock(),
                            short_code="!fAk3", base_currency=base_currency,
                            timezone=timezone, country_code="NZ")
    store.save_connection(connection)
    deps = Deps(store, connection, user, clock,
                (lambda: make_gateway(xero)) if make_gateway else (lambda: xero))
    return World(xero, store, deps, clock)


# -- a CRM source ------------------------------------------------------------------------------
class FakeCrm:
    """A CRM source (``crmsource.base.CrmSource``) in memory: records with the fields
    an update must repeat (``echo``) and the custom fields xerolink writes. Calls are
    counted by kind of call, as Salesmate's are by endpoint."""

    name = "salesmate"
    account = "demo"
    page_size = 100

    def __init__(self) -> None:
        from collections import Counter

        self.calls: Counter[str] = Counter()
        self.held: dict[tuple[str, str], dict[str, str]] = {}  # (kind, id) -> fields
        self.echo: dict[tuple[str, str], dict[str, Any]] = {}
        self.updates: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        self.refusing: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add(self, kind: str, record_id: str, echo: dict[str, Any] | None = None,
            **fields: str) -> None:
        self.held[(kind, record_id)] = dict(fields)
        self.echo[(kind, record_id)] = dict(echo or {"owner": "1"})

    def check(self) -> int:
        return sum(1 for kind, _ in self.held if kind == "contact")

    def changed(self, kind: str, since: datetime | None, offset: int,
                fields: Any = ()) -> Any:
        raise AttributeError("FakeCrm is pushed to, not pulled from")

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.held if k == kind)

    def current(self, kind: str, record_id: str, fields: Any = ()) -> Any:
        from xerolink.crmsource.base import Pulled

        with self._lock:
            self.calls[f"GET {kind}"] += 1
            if (kind, record_id) not in self.held:
                return None
            held = self.held[(kind, record_id)]
            return Pulled(kind, CrmContact(record_id), T0, dict(self.echo[(kind, record_id)]),
                          {f: held[f] for f in fields if f in held})

    def update(self, kind: str, record_id: str, echo: dict[str, Any],
               values: dict[str, str]) -> None:
        from xerolink.errors import CrmRecordRefusedError

        with self._lock:
            self.calls[f"PUT {kind}"] += 1
            if (kind, record_id) in self.refusing:
                raise CrmRecordRefusedError(f"{kind}:{record_id} was refused: a field is locked")
            self.updates.append((kind, record_id, dict(echo), dict(values)))
            self.held[(kind, record_id)].update(values)

    def close(self) -> None:
        pass

    def pulled_into(self, store: SqliteStore, at: datetime = T0) -> None:
        """What ``crm pull`` would leave in the store: the records, as live ones of this
        source, with the fields and echo each held when read."""
        from xerolink.store.crmsource import PullBatch, SourceRecord

        batch = PullBatch(self.name)
        for (kind, record_id), fields in sorted(self.held.items()):
            known = {"contact": store.get_crm_contact, "company": store.get_crm_company,
                     "deal": store.get_crm_deal}[kind](record_id)
            record = replace(known, source=self.name) if known is not None else \
                CrmContact(record_id, source=self.name)
            {"contact": batch.contacts, "company": batch.companies,
             "deal": batch.deals}[kind].append(record)
            batch.records.append(SourceRecord(kind, record_id, at.isoformat(),
                                              dict(self.echo[(kind, record_id)]),
                                              dict(fields)))
        store.apply_pull(batch, at)

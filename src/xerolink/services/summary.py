"""`xerolink summary` (and `details`, `view`): the five figures, document lists and
View in Xero links for contacts, companies and deals.

Figures come from the local cache when it has them; ``refresh`` (or a record never
read) fetches. When Xero cannot be reached, a cached summary is still returned,
marked stale with its age; with no cache there is nothing to show.

The figures (their definitions are vocabulary.FIGURES): open quotes by status
(OPEN_QUOTE_STATUSES, amount Total); outstanding invoices and bills AUTHORISED with
AmountDue above 0 (amount AmountDue); overdue ones due before today in the
organisation's timezone. Of the open quotes, those whose ExpiryDate is before that
same today are also counted as expired (still open: Xero keeps them SENT). A deal's
summary adds its CRM value beside what its attached quotes and sales invoices total.
Beside the five: invoices and bills paid in the last 90 days and the credit customers
and suppliers have left (vocabulary.SETTLEMENT_FIGURES), from the organisation's
payments and credit (services/settlements.py), each payment at its own rate.
A document's base-currency amount is amount / CurrencyRate,
rounded half-up to the cent; totals add those. Per-currency totals add the
documents' own amounts. All arithmetic is Decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from xerolink.errors import ExitCode, NotFoundError, UsageError, XeroUnreachableError
from xerolink.formats import local_date, natural
from xerolink.money import cents
from xerolink.results import Result
from xerolink.services import documents, settlements
from xerolink.services.context import Deps
from xerolink.services.crm import Ref
from xerolink.services.ids import is_xero_id
from xerolink.services.outcomes import Documents, Refreshed, ViewLink
from xerolink.store.models import CachedCredit, CachedDocument, CachedPayment, CrmDeal
from xerolink.vocabulary import (
    FIGURE_KEYS,
    FIGURE_LABELS,
    OPEN_QUOTE_STATUSES,
    OWING_STATUS,
    SETTLEMENT_KEYS,
    WITHDRAWN_STATUSES,
    DocumentKind,
    RecordKind,
)
from xerolink.xero import deeplinks
from xerolink.xero.endpoints import Endpoints

KIND_NAMES: dict[str, str] = {kind: kind.capitalize() for kind in DocumentKind}


# -- the five figures ----------------------------------------------------------------
FIGURES = FIGURE_KEYS
LABELS = FIGURE_LABELS
PAID_KEYS = SETTLEMENT_KEYS[:2]  # paid_invoices, paid_bills
CREDIT_KEYS = SETTLEMENT_KEYS[2:]  # customer_credit, supplier_credit

def organisation_today(now: datetime, xero_timezone: str | None) -> date:
    """Today where the organisation is (UTC for a timezone xerolink does not know)."""
    return local_date(now, xero_timezone)


@dataclass
class Figure:
    count: int = 0
    total: Decimal = Decimal("0.00")
    by_currency: dict[str, Decimal] = field(default_factory=dict)

    def add(self, amount: Decimal, currency: str, rate: Decimal) -> None:
        self.count += 1
        self.total += to_base(amount, rate)
        self.by_currency[currency] = self.by_currency.get(currency, Decimal("0.00")) + amount

    def add_paid(self, payments: list[CachedPayment]) -> None:
        """One document's payments: counted once, each payment converted at its own
        CurrencyRate (rounded to the cent), the document's currency summed as is."""
        self.count += 1
        for p in payments:
            self.total += to_base(p.amount, p.currency_rate)
            self.by_currency[p.currency] = self.by_currency.get(
                p.currency, Decimal("0.00")) + p.amount

    def as_json(self, *, base_known: bool = True) -> dict[str, object]:
        """``total`` is in the base currency, so it is null when that is unknown (a
        connection that cannot read the Organisation); ``by_currency`` always holds."""
        return {"available": True, "count": self.count,
                "total": _money(self.total) if base_known else None,
                "by_currency": {k: _money(v) for k, v in sorted(self.by_currency.items())}}


def unavailable_json(reason: str) -> dict[str, object]:
    """A figure this connection cannot compute (quotes it cannot read)."""
    return {"available": False, "count": None, "total": None, "by_currency": {},
            "reason": reason}


def _money(value: Decimal) -> str:
    return format(cents(value), "f")


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """amount / CurrencyRate in the base currency, rounded half-up to the cent."""
    if rate <= 0:
        raise ValueError(f"a CurrencyRate of {rate} cannot convert {amount}")
    return cents(amount / rate)


def figures(documents: list[CachedDocument], today: date) -> dict[str, Figure]:
    result = {name: Figure() for name in FIGURES}
    for doc in documents:
        if doc.kind == DocumentKind.QUOTE:
            if doc.status in OPEN_QUOTE_STATUSES:
                result["open_quotes"].add(doc.total, doc.currency, doc.currency_rate)
            continue
        if doc.status != OWING_STATUS or doc.amount_due <= 0:
            continue
        kind = "invoices" if doc.kind == DocumentKind.INVOICE else "bills"
        result[f"outstanding_{kind}"].add(doc.amount_due, doc.currency, doc.currency_rate)
        if doc.due_date is not None and doc.due_date < today:
            result[f"overdue_{kind}"].add(doc.amount_due, doc.currency, doc.currency_rate)
    return result


def settlement_figures(payments: list[CachedPayment], credits: list[CachedCredit],
                       today: date) -> dict[str, Figure]:
    """Paid (a document per figure's count, its payments' amounts; a payment dated
    after today is not yet paid) and credit left (RemainingCredit), sales beside
    purchases (vocabulary.SETTLEMENT_FIGURES)."""
    result = {name: Figure() for name in SETTLEMENT_KEYS}
    by_document: dict[str, list[CachedPayment]] = {}
    for payment in payments:
        if payment.paid_on <= today:
            by_document.setdefault(payment.document_id, []).append(payment)
    for paid in by_document.values():
        result[PAID_KEYS[0] if paid[0].kind == DocumentKind.INVOICE else PAID_KEYS[1]
               ].add_paid(paid)
    for credit in credits:
        if settlements.has_credit(credit):
            name = CREDIT_KEYS[0] if credit.side == DocumentKind.INVOICE else CREDIT_KEYS[1]
            result[name].add(credit.remaining, credit.currency, credit.currency_rate)
    return result


def is_expired(doc: CachedDocument, today: date) -> bool:
    """An open quote whose ExpiryDate (cached as its due date) is before today, by the
    day rule of "overdue": a quote expiring today has not expired yet."""
    return (doc.kind == DocumentKind.QUOTE and doc.status in OPEN_QUOTE_STATUSES
            and doc.due_date is not None and doc.due_date < today)


def expired_quotes(documents: list[CachedDocument], today: date) -> Figure:
    """The open quotes that have lapsed: a part of ``open_quotes``, not a sixth figure."""
    found = Figure()
    for doc in documents:
        if is_expired(doc, today):
            found.add(doc.total, doc.currency, doc.currency_rate)
    return found


def expired_json(expired: Figure | None, *, base_known: bool) -> dict[str, object]:
    """The keys ``open_quotes`` gains: how many of them, and how much, have expired."""
    return {"expired": None if expired is None else expired.count,
            "expired_total": None if expired is None or not base_known
            else _money(expired.total),
            "expired_by_currency": {} if expired is None else
            {k: _money(v) for k, v in sorted(expired.by_currency.items())}}


@dataclass
class DealValue:
    """A deal's value in the CRM beside what its attached documents quote and invoice
    (Total, per currency; declined, deleted and voided documents left out)."""

    value: Decimal | None
    currency: str | None
    quoted: Figure
    invoiced: Figure

    def as_json(self, *, base_known: bool) -> dict[str, object]:
        return {"value": None if self.value is None else _money(self.value),
                "currency": self.currency or None,
                "quoted": self.quoted.as_json(base_known=base_known),
                "invoiced": self.invoiced.as_json(base_known=base_known)}


def deal_value(deal: CrmDeal, documents: list[CachedDocument]) -> DealValue:
    found = DealValue(deal.value, (deal.currency or "").upper() or None, Figure(), Figure())
    for doc in documents:
        if doc.status in WITHDRAWN_STATUSES or doc.kind == DocumentKind.BILL:
            continue
        side = found.quoted if doc.kind == DocumentKind.QUOTE else found.invoiced
        side.add(doc.total, doc.currency, doc.currency_rate)
    return found


# -- summaries, lists and links ---------------------------------------------------------
@dataclass
class Scope:
    """What a CRM record covers in Xero."""

    ref: Ref
    title: str
    contact_ids: list[str] = field(default_factory=list)  # Xero ContactIDs
    members: list[dict[str, Any]] = field(default_factory=list)  # companies
    deal_documents: list[tuple[str, str]] = field(default_factory=list)  # deals
    deal: CrmDeal | None = None


def resolve(deps: Deps, ref: Ref) -> Scope:
    store, tenant = deps.store, deps.tenant
    if ref.kind == RecordKind.CONTACT:
        contact = store.get_crm_contact(ref.id)
        if contact is None:
            raise NotFoundError(f"no CRM contact {ref}")
        link = store.get_link(tenant, contact.id)
        if link is None:
            raise NotFoundError(f"{ref} is not linked to a Xero contact; link it first: "
                                f"xerolink suggest {ref}")
        name = contact.name or contact.email
        title = name if link.xero_name in ("", name) else f"{name} (Xero: {link.xero_name})"
        return Scope(ref, title, [link.xero_contact_id])
    if ref.kind == RecordKind.COMPANY:
        company = store.get_crm_company(ref.id)
        if company is None:
            raise NotFoundError(f"no CRM company {ref}")
        scope = Scope(ref, company.name)
        for member in store.company_members(company.id):
            link = store.get_link(tenant, member.id)
            scope.members.append({"ref": f"contact:{member.id}", "name": member.name,
                                  "linked": link is not None,
                                  "xero_contact_id": link.xero_contact_id if link else None,
                                  "xero_name": link.xero_name if link else None})
            if link is not None and link.xero_contact_id not in scope.contact_ids:
                scope.contact_ids.append(link.xero_contact_id)
        scope.members.sort(key=lambda m: natural(m["ref"]))  # c3 before c12, as people count
        return scope
    deal = store.get_crm_deal(ref.id)
    if deal is None:
        raise NotFoundError(f"no CRM deal {ref}")
    return Scope(ref, deal.title, deal_documents=store.deal_documents(tenant, deal.id),
                 deal=deal)


@dataclass
class SummaryReport(Result):
    """A record's figures. ``to_json()`` is ``summary --json``; ``now`` (when it was
    made) gives the figures' age."""

    record: str
    title: str
    tenant_id: str
    base_currency: str
    as_of: datetime | None
    cached: bool
    stale: bool
    problem: str | None
    figures: dict[str, Figure]
    members: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # figure -> why
    now: datetime | None = None
    tenant_name: str = ""  # for people; not part of the JSON
    expired: Figure | None = None  # the open quotes past their ExpiryDate
    deal: DealValue | None = None  # deals: the CRM value beside quoted and invoiced
    settled: dict[str, Figure] = field(  # paid and credit left
        default_factory=lambda: {name: Figure() for name in SETTLEMENT_KEYS})
    paid_since: date | None = None  # the first day the paid figures count

    @property
    def notes(self) -> list[str]:
        """What the figures leave out, in words (also in --json)."""
        notes = []
        if not self.base_currency:
            notes.append("the organisation's base currency is unknown (the connection "
                         "cannot read Xero's Organisation), so totals are per currency only")
        for name, reason in self.unavailable.items():
            notes.append(f"{LABELS[name].lower()} are unavailable: {reason}")
        return notes

    @property
    def exit_code(self) -> ExitCode:
        """7 when Xero could not be reached and the figures are the cache's."""
        return ExitCode.XERO_UNREACHABLE if self.stale else ExitCode.OK

    def _open_quotes_json(self, base_known: bool) -> dict[str, object]:
        """The open quotes figure, with how many of them have expired."""
        if "open_quotes" in self.unavailable:
            return {**unavailable_json(self.unavailable["open_quotes"]),
                    **expired_json(None, base_known=base_known)}
        return {**self.figures["open_quotes"].as_json(base_known=base_known),
                **expired_json(self.expired or Figure(), base_known=base_known)}

    def _paid_json(self, name: str, base_known: bool) -> dict[str, object]:
        """A paid figure, with the first day it counts."""
        since = self.paid_since
        if name in self.unavailable:
            return {**unavailable_json(self.unavailable[name]),
                    "since": None if since is None else since.isoformat()}
        return {**self.settled[name].as_json(base_known=base_known),
                "since": None if since is None else since.isoformat()}

    def to_json(self) -> dict[str, Any]:
        now = self.now
        data: dict[str, Any] = {
            "record": self.record, "tenant_id": self.tenant_id,
            "base_currency": self.base_currency or None,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "age_seconds": None if self.as_of is None or now is None
            else int((now - self.as_of).total_seconds()),
            "cached": self.cached, "stale": self.stale,
        }
        if self.stale:
            data["problem"] = self.problem
        base_known = bool(self.base_currency)
        data.update({name: unavailable_json(self.unavailable[name])
                     if name in self.unavailable else
                     self.figures[name].as_json(base_known=base_known)
                     for name in FIGURES})
        data["open_quotes"] = self._open_quotes_json(base_known)
        data.update({name: self._paid_json(name, base_known) for name in PAID_KEYS})
        data.update({name: unavailable_json(self.unavailable[name])
                     if name in self.unavailable else
                     self.settled[name].as_json(base_known=base_known)
                     for name in CREDIT_KEYS})
        data["notes"] = self.notes
        if self.record.startswith("company:"):
            data["members"] = self.members
        if self.record.startswith("deal:"):
            data["documents"] = self.documents
            data["deal"] = None if self.deal is None else self.deal.as_json(
                base_known=base_known)
        return data


def _ensure(deps: Deps, scope: Scope, *, refresh: bool) -> tuple[bool, bool, str | None]:
    """Fetch what is needed; returns (fetched, stale, problem)."""
    if scope.ref.kind == RecordKind.DEAL:
        ids = [d for d, _ in scope.deal_documents]
        have = {d.document_id for d in deps.store.documents_by_ids(deps.tenant, ids)}
        wanted = scope.deal_documents if refresh else [
            (d, k) for d, k in scope.deal_documents if d not in have]
        complete = len(have) == len(ids)
        work: Callable[[], object] | None = (
            (lambda: documents.refresh_documents(deps, wanted)) if wanted else None)
    else:
        times = deps.store.contact_refresh_times(deps.tenant, scope.contact_ids)
        missing = [c for c in scope.contact_ids if c not in times]
        wanted_contacts = scope.contact_ids if refresh else missing
        complete = not missing
        work = (lambda: documents.refresh_contacts(
            deps, wanted_contacts, single=len(wanted_contacts) == 1)) if wanted_contacts else None
    today = organisation_today(deps.now(), deps.connection.timezone)
    settled_known = settlements.payments_floor(deps) is not None or bool(
        settlements.unavailable(deps, settlements.PAID_UNAVAILABLE))
    # organisation-wide: read once, then when a refresh is asked and they are a minute old
    settle = not settled_known or (refresh and not settlements.read_lately(deps))
    if work is None and not settle:
        return False, False, None
    try:
        if work is not None:
            work()
        if settle:
            settlements.refresh(deps, today)  # four calls when current
    except XeroUnreachableError as exc:
        if complete and (scope.contact_ids or scope.deal_documents):
            return False, True, str(exc)
        raise XeroUnreachableError(
            f"Error fetching details from Xero ({exc}); check the connection and try again "
            f"with `xerolink refresh {scope.ref}`") from None
    return work is not None, False, None


def scope_documents(deps: Deps, scope: Scope) -> list[CachedDocument]:
    if scope.ref.kind == RecordKind.DEAL:
        ids = [d for d, _ in scope.deal_documents]
        return deps.store.documents_by_ids(deps.tenant, ids)
    return deps.store.documents_for_contacts(deps.tenant, scope.contact_ids)


def refresh(deps: Deps, ref: Ref) -> Refreshed:
    """Fetch a record's documents now: the contacts it covers, their documents, and
    the calls it took."""
    before = deps.calls_made()
    scope = resolve(deps, ref)
    _, stale, problem = _ensure(deps, scope, refresh=True)
    if stale:  # refresh means fetch: falling back to the cache is not an answer here
        raise XeroUnreachableError(problem or "Xero could not be reached")
    return Refreshed(str(ref), len(scope.contact_ids), len(scope_documents(deps, scope)),
                     deps.calls_made() - before)


def summarize(deps: Deps, ref: Ref, *, refresh: bool) -> SummaryReport:
    scope = resolve(deps, ref)
    fetched, stale, problem = _ensure(deps, scope, refresh=refresh)
    docs = scope_documents(deps, scope)
    today = organisation_today(deps.now(), deps.connection.timezone)
    report = SummaryReport(
        record=str(ref), title=scope.title, tenant_id=deps.tenant,
        base_currency=deps.connection.base_currency or "", as_of=_as_of(deps, scope, docs),
        cached=not fetched, stale=stale, problem=problem,
        figures=figures(docs, today), members=scope.members, now=deps.now(),
        tenant_name=deps.connection.tenant_name, expired=expired_quotes(docs, today),
        deal=None if scope.deal is None else deal_value(scope.deal, docs),
    )
    why = documents.quotes_unavailable(deps)
    if why:
        report.unavailable["open_quotes"] = why
    _settle(deps, scope, docs, today, report)
    if ref.kind == RecordKind.DEAL:
        found = {d.document_id: d for d in docs}
        names = contact_names(deps)  # whose each document is, as details says
        report.documents = [
            document_row(deps, found[d], names, today=today) if d in found else
            {"document_id": d, "type": kind, "missing": True}
            for d, kind in scope.deal_documents]
    return report


def _settle(deps: Deps, scope: Scope, docs: list[CachedDocument], today: date,
            report: SummaryReport) -> None:
    """The paid and credit figures: a contact's or a company's members' payments and
    credit; a deal's, the payments on its documents and the credit of their contacts."""
    since = settlements.window_start(today)
    store, tenant = deps.store, deps.tenant
    if scope.ref.kind == RecordKind.DEAL:
        payments = store.payments_for_documents(
            tenant, [d for d, _ in scope.deal_documents], since)
        # the credit of the documents' contacts (a paid one may have left the cache)
        contacts = sorted({d.xero_contact_id for d in docs}
                          | {p.xero_contact_id for p in payments})
    else:
        contacts = scope.contact_ids
        payments = store.payments_for_contacts(tenant, contacts, since)
    report.settled = settlement_figures(payments, store.credits_for_contacts(tenant, contacts),
                                        today)
    report.paid_since = since
    for resource, names in ((settlements.PAID_UNAVAILABLE, PAID_KEYS),
                            (settlements.CREDIT_UNAVAILABLE, CREDIT_KEYS)):
        why = settlements.unavailable(deps, resource)
        if why:
            report.unavailable.update(dict.fromkeys(names, why))


def _as_of(deps: Deps, scope: Scope, docs: list[CachedDocument]) -> datetime | None:
    if scope.ref.kind == RecordKind.DEAL:
        times = [d.fetched_at for d in docs]
    else:
        refreshed = deps.store.contact_refresh_times(deps.tenant, scope.contact_ids)
        times = [refreshed[c] for c in scope.contact_ids if c in refreshed]
    settled = settlements.synced_at(deps)  # the paid and credit figures' read
    if times and settled is not None:
        times.append(settled)
    return min(times) if times else None


def link_for(deps: Deps, doc: CachedDocument) -> str:
    return deeplinks.document(Endpoints.at(deps.connection.xero_url),
                              deps.connection.short_code or "", doc.kind, doc.document_id)


def contact_names(deps: Deps) -> dict[str, str]:
    """Linked Xero contacts' names by ContactID: whose each listed document is."""
    return {v.link.xero_contact_id: v.link.xero_name
            for v in deps.store.list_link_views(deps.tenant)}


def document_row(deps: Deps, doc: CachedDocument, names: dict[str, str] | None = None,
                 *, today: date | None = None) -> dict[str, Any]:
    """A document for listing. A quote has no amount due in Xero: it is null, not 0.00,
    which would read as paid. ``expired`` says whether a quote is past its ExpiryDate
    (``today`` the organisation's); it is null for invoices and bills."""
    when = today or organisation_today(deps.now(), deps.connection.timezone)
    return {"document_id": doc.document_id, "type": doc.kind, "number": doc.number,
            "reference": doc.reference, "xero_contact_id": doc.xero_contact_id,
            "contact": (names or {}).get(doc.xero_contact_id),
            "date": doc.issue_date, "due_date": doc.due_date, "status": doc.status,
            "total": doc.total,
            "amount_due": None if doc.kind == DocumentKind.QUOTE else doc.amount_due,
            "currency": doc.currency, "link": link_for(deps, doc),
            "expired": is_expired(doc, when) if doc.kind == DocumentKind.QUOTE else None}


def details(deps: Deps, ref: Ref, *, kinds: set[str], status: str | None,
            refresh: bool) -> Documents:
    scope = resolve(deps, ref)
    _, stale, problem = _ensure(deps, scope, refresh=refresh)
    wanted_status = status.upper() if status else None
    names = contact_names(deps)
    today = organisation_today(deps.now(), deps.connection.timezone)
    rows = [document_row(deps, d, names, today=today) for d in scope_documents(deps, scope)
            if d.kind in kinds and (wanted_status is None or d.status == wanted_status)]
    rows.sort(key=lambda r: (r["type"], str(r["date"] or ""), r["number"]))
    return Documents(rows, per_contact=ref.kind == RecordKind.CONTACT, stale=stale, problem=problem)


def view(deps: Deps, target: str) -> ViewLink:
    """The View in Xero link of a linked contact or a document: (what, url)."""
    from xerolink.services import ids

    text = target.strip()
    endpoints = Endpoints.at(deps.connection.xero_url)
    short = deps.connection.short_code or ""
    document = None
    if is_xero_id(text) or (":" not in text and deps.store.get_crm_contact(text) is None):
        document = ids.document_id(deps, text)  # an id, a unique prefix or a number
    if document is not None:
        doc = documents.find(deps, [document])[document]
        return ViewLink(target, f"{KIND_NAMES[doc.kind]} {doc.number}".strip(),
                        deeplinks.document(endpoints, short, doc.kind, doc.document_id))
    from xerolink.services.crm import parse_ref

    ref = parse_ref(text)
    if ref.kind != RecordKind.CONTACT:
        raise UsageError("view takes a contact (contact:ID) or a document's id or number")
    scope = resolve(deps, ref)
    return ViewLink(target, scope.title,
                    deeplinks.contact(endpoints, short, scope.contact_ids[0]))

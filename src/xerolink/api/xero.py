"""The Xero side of ``Xerolink``: summaries, documents, deals and links, each a call of
a service with the profile's dependencies. References are the CLI's: ``contact:42``,
``company:7``, ``deal:9``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink.errors import UsageError
from xerolink.vocabulary import DOCUMENT_KINDS, INVOICE_KINDS, DocumentKind, RecordKind

if TYPE_CHECKING:
    from xerolink.api.wiring import Wiring
    from xerolink.services.approve import Approved, Confirm
    from xerolink.services.create import Confirm as CreateConfirm
    from xerolink.services.create import Created, Draft
    from xerolink.services.crm import Ref
    from xerolink.services.linking import NewContact
    from xerolink.services.outcomes import (
        AutoLinked,
        ContactCreated,
        DealChange,
        DealSuggestions,
        Documents,
        Linked,
        PaidDocuments,
        Refreshed,
        Rows,
        Unlinked,
        ViewLink,
    )
    from xerolink.services.outgoing import OnlineInvoice, Pdf, PdfSaved
    from xerolink.services.progress import XeroProgress
    from xerolink.services.send import Confirm as SendConfirm
    from xerolink.services.send import Sent
    from xerolink.services.summary import SummaryReport

Lines = Sequence[str | Mapping[str, Any]]
ALL_KINDS = frozenset(DOCUMENT_KINDS)


def reference(text: str, *, default: str = "contact") -> Ref:
    """``contact:42``, ``company:7``, ``deal:9`` (a bare id: ``default``'s kind)."""
    from xerolink.services.crm import parse_ref

    return parse_ref(text, default=default)


def _deal(text: str) -> Ref:
    ref = reference(text, default="deal")
    if ref.kind != RecordKind.DEAL:
        raise UsageError(f"{ref} is not a deal; use deal:ID")
    return ref


def _lines(lines: Lines) -> list[str | Mapping[str, Any]]:
    """A document's lines: a list of ``"description;quantity;unit"`` texts or dicts."""
    if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence):
        raise UsageError("lines must be a list of lines (text or dicts), not "
                         f"{type(lines).__name__}")
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str | Mapping):
            raise UsageError(f"line {number} must be text or a dict, not {type(line).__name__}")
    return list(lines)


def _dates_as_text(fields: dict[str, str | date | None]) -> dict[str, str | None]:
    """A document's fields, with a ``date`` given for a date written as ISO text."""
    for name in ("title", "reference", "currency", "deal"):
        if isinstance(fields.get(name), date):
            raise UsageError(f"{name} must be text (str), not a date")
    return {name: value.isoformat() if isinstance(value, date) else value
            for name, value in fields.items()}


class XeroSide:
    """What reads or writes Xero data for CRM records: one service call each."""

    def __init__(self, wiring: Wiring) -> None:
        self._w = wiring

    # -- summaries and documents ---------------------------------------------------
    def summary(self, ref: str, *, refresh: bool = False) -> SummaryReport:
        """Open quotes, overdue and outstanding invoices and bills of a contact,
        company or deal: from the cache when present, else (or with refresh) Xero."""
        from xerolink.services import summary

        return summary.summarize(self._w.deps(), reference(ref), refresh=refresh)

    def refresh(self, ref: str) -> Refreshed:
        """Fetch one record's documents from Xero now."""
        from xerolink.services import summary

        return summary.refresh(self._w.deps(), reference(ref))

    def refresh_all(self, *, force: bool = False, progress: XeroProgress | None = None
                    ) -> Refreshed:
        """Fetch the documents of every linked contact (estimated against the day's
        remaining calls first; ``force`` starts anyway)."""
        from xerolink.services import documents

        return documents.refresh_all(self._w.deps(), force=force, progress=progress)

    def details(self, ref: str, *, kinds: frozenset[str] | set[str] = ALL_KINDS,
                status: str | None = None, refresh: bool = False) -> Documents:
        """The open documents behind a summary, with their View in Xero links."""
        from xerolink.services import summary

        return summary.details(self._w.deps(), reference(ref), kinds=set(kinds or ALL_KINDS),
                               status=status, refresh=refresh)

    def paid(self, ref: str, *, since: date | None = None,
             kinds: frozenset[str] | set[str] = frozenset(INVOICE_KINDS),
             refresh: bool = False) -> PaidDocuments:
        """The invoices and bills paid from ``since`` on (default: 90 days before
        today), each with its payments' dates and amounts."""
        from xerolink.services import paid

        wanted = set(kinds or INVOICE_KINDS)
        if not wanted <= set(INVOICE_KINDS):
            raise UsageError("paid documents are invoices and bills; quotes are never paid")
        return paid.paid(self._w.deps(), reference(ref), since=since, kinds=wanted,
                         refresh=refresh)

    def view(self, target: str) -> ViewLink:
        """The View in Xero link of a linked contact, or of a document (id, prefix or
        number)."""
        from xerolink.services import summary

        return summary.view(self._w.deps(), target)

    def pdf(self, document: str) -> Pdf:
        """A quote's, invoice's, bill's or credit note's PDF from Xero, in memory
        (``.data``); the document named by number or id, as ``view`` takes it."""
        from xerolink.services import outgoing

        return outgoing.pdf(self._w.deps(), document)

    def save_pdf(self, document: str, path: Path | None = None, *, force: bool = False
                 ) -> PdfSaved:
        """Write the document's PDF to ``path`` (a file, or a folder; default
        ``NUMBER.pdf`` in the current folder) atomically; an existing file only with
        ``force`` (else UsageError before any call)."""
        from xerolink.services import outgoing

        return outgoing.save_pdf(self._w.deps(), document, path, force=force,
                                 cwd=Path.cwd())

    def online_invoice(self, document: str) -> OnlineInvoice:
        """The customer's online invoice link of an approved sales invoice (a quote, a
        bill or a draft: XeroRefusedError, before any call)."""
        from xerolink.services import outgoing

        return outgoing.online_invoice(self._w.deps(), document)
    def approve(self, document: str, *, dry_run: bool = False,
                confirm: Confirm | None = None) -> Approved:
        """Approve a draft (invoice or bill: AUTHORISED; quote: SENT), read fresh from
        Xero first; ``confirm`` sees what will change and raises to stop it. Admins
        only."""
        from xerolink.services import approve

        return approve.approve(self._w.deps(), document, dry_run=dry_run,
                               confirm=confirm or (lambda _approval: None))

    def send(self, document: str, *, approve: bool = False, again: bool = False,
             dry_run: bool = False, confirm: SendConfirm | None = None) -> Sent:
        """Email an approved sales invoice to its Xero contact's address through Xero,
        once (``approve``: a draft is approved first; ``again``: one more email to an
        invoice already sent). ``confirm`` sees what will be sent to whom and raises to
        stop it. Admins only."""
        from xerolink.services import send

        return send.send(self._w.deps(), document, approve_first=approve, again=again,
                         dry_run=dry_run, confirm=confirm or (lambda _sending: None))

    def create(self, ref: str, draft: Draft, *, deal: str | None = None,
               approve: bool = False, send: bool = False,
               confirm: CreateConfirm | None = None) -> Created:
        """Create the draft (a quote, draft invoice or draft bill) for a linked
        contact, with the profile's default account and tax type where lines lack
        them; optionally attach it to a deal. ``approve`` approves it (an invoice or
        bill: AUTHORISED; a quote: SENT), ``send`` (invoices) also emails it; with
        either, ``confirm`` sees what will be done before anything is created."""
        from xerolink.services import create as service

        deal_id = _deal(deal).id if deal is not None else None
        sales = draft.kind != DocumentKind.BILL
        defaults = {
            "account": self._w.config.get("sales_account" if sales else "purchases_account"),
            "tax_type": self._w.config.get("sales_tax_type" if sales else "purchases_tax_type")}
        deps = self._w.deps()
        service.check(draft, today=service.organisation_today(deps), defaults=defaults)
        return service.create(deps, reference(ref), draft, deal_id=deal_id,
                              approve=approve, send=send, confirm=confirm)

    def create_invoice(self, /, ref: str, lines: Lines, **fields: str | date | None
                       ) -> Created:
        """A draft sales invoice. Lines are ``"description;quantity;unit_amount[;account
        [;tax]]"`` or dicts with the ``--file`` JSON's keys (description, quantity,
        unit_amount, account_code, tax_type; amounts as str, int or Decimal); fields:
        date, due_date, reference, currency (dates as ``date`` or ISO text), deal."""
        return self._create("invoice", ref, lines, fields)

    def create_bill(self, /, ref: str, lines: Lines, **fields: str | date | None) -> Created:
        return self._create("bill", ref, lines, fields)

    def create_quote(self, /, ref: str, lines: Lines, **fields: str | date | None) -> Created:
        """A quote; fields also take title and expiry_date."""
        return self._create("quote", ref, lines, fields)

    def _create(self, kind: str, ref: str, lines: Lines, fields: dict[str, str | date | None]
                ) -> Created:
        from xerolink.services.create import draft_from

        known = ("date", "due_date", "expiry_date", "title", "reference", "currency", "deal")
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise UsageError(f"unknown field {unknown[0]!r} (fields: {', '.join(known)})")
        text = _dates_as_text(fields)
        draft = draft_from(kind, lines=_lines(lines), date_=text.get("date"),
                           due_date=text.get("due_date"),
                           expiry_date=text.get("expiry_date"), title=text.get("title"),
                           reference=text.get("reference"), currency=text.get("currency"))
        return self.create(ref, draft, deal=text.get("deal"))

    # -- deals ---------------------------------------------------------------------
    def deal_suggest(self, deal: str, *, refresh: bool = False) -> DealSuggestions:
        from xerolink.services import deals

        return deals.suggest(self._w.deps(), _deal(deal), refresh=refresh)

    def deal_attach(self, deal: str, document_ids: list[str]) -> DealChange:
        from xerolink.services import deals

        ref = _deal(deal)  # a wrong reference is said before a missing connection
        return deals.attach(self._w.deps(), ref, document_ids)

    def deal_detach(self, deal: str, document_ids: list[str]) -> DealChange:
        from xerolink.services import deals

        ref = _deal(deal)  # a wrong reference is said before a missing connection
        return deals.detach(self._w.deps(), ref, document_ids)

    def deal_documents(self, deal: str) -> Rows:
        from xerolink.services.outcomes import Rows

        return Rows(self.summary(str(_deal(deal))).documents)

    # -- linking -------------------------------------------------------------------
    def suggest(self, ref: str) -> Rows:
        """Xero contacts that may be this CRM contact, ranked, with why."""
        from xerolink.services import linking

        target = reference(ref)
        return linking.suggestions(self._w.deps(), target)

    def search(self, text: str | None = None, *, first: str | None = None,
               last: str | None = None) -> Rows:
        from xerolink.services import linking

        return linking.search(self._w.deps(), text, first, last)

    def link(self, ref: str, xero_contact_id: str | None = None, *, first: bool = False,
             replace: bool = False) -> Linked:
        """Link a CRM contact to a Xero contact (checked to exist), or to the top
        suggestion with ``first``."""
        from xerolink.services import ids, linking

        if first == bool(xero_contact_id):
            raise UsageError("give either a Xero ContactID or --first")
        target = reference(ref)
        if xero_contact_id:
            ids.check_contact_text(xero_contact_id)
        deps = self._w.deps()
        if first:
            return linking.link_first(deps, target, replace=replace)
        return linking.link(deps, target, xero_contact_id or "", replace=replace)

    def auto_link(self, *, dry_run: bool = False, force: bool = False,
                  progress: XeroProgress | None = None) -> AutoLinked:
        """Link every unlinked CRM contact whose email matches exactly one Xero contact."""
        from xerolink.services import linking

        return linking.auto_link(self._w.deps(), dry_run=dry_run, progress=progress,
                                 force=force)

    def unlink(self, ref: str) -> Unlinked:
        from xerolink.services import linking
        from xerolink.services.access import require_viewer

        target = reference(ref)
        connection = require_viewer(self._w.store, self._w.user)
        return linking.unlink(self._w.store, connection.tenant_id, target)

    def links(self) -> Rows:
        from xerolink.services.access import require_viewer
        from xerolink.services.crmrecords import link_rows

        return link_rows(self._w.store, require_viewer(self._w.store, self._w.user).tenant_id)

    def contact_preview(self, ref: str, *, name: str | None = None,
                        first_name: str | None = None, last_name: str | None = None,
                        email: str | None = None, phone: str | None = None) -> NewContact:
        """What ``create_contact`` would send, and to which organisation: the CRM
        record, overridden by the fields given, checked."""
        import dataclasses

        from xerolink.services import linking

        new = linking.prepare_contact(self._w.store, reference(ref), name=name,
                                      first_name=first_name, last_name=last_name,
                                      email=email, phone=phone)[1]
        tenant = self._w.deps().connection.tenant_name  # not connected: an error here
        return dataclasses.replace(new, tenant_name=tenant)

    def create_contact(self, ref: str, *, replace: bool = False, name: str | None = None,
                       first_name: str | None = None, last_name: str | None = None,
                       email: str | None = None, phone: str | None = None
                       ) -> ContactCreated:
        """Create the Xero contact from the CRM record (overridden by the fields given)
        and link it."""
        from xerolink.services import linking

        target = reference(ref)
        deps = self._w.deps()
        contact, new = linking.prepare_contact(deps.store, target, name=name,
                                               first_name=first_name, last_name=last_name,
                                               email=email, phone=phone)
        return linking.create_contact(deps, target, contact, new, replace=replace)

"""``send``: email an approved sales invoice to its customer through Xero, once.

The invoice is read fresh (the cache's status may be stale); the address is the Xero
contact's, read fresh too, and said before anything is sent. Each email is written to
the store with its Idempotency-Key before Xero is asked, and marked once Xero answers:
a retry, or a rerun after an interruption at any point, sends the same key again
(Xero then emails nothing new) or finds the email done, so no invoice is emailed twice
unless ``--again`` asks for exactly one more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xerolink.errors import XerolinkError, XeroRefusedError, XeroUnreachableError
from xerolink.results import Result
from xerolink.services import approve, ids, summary
from xerolink.services.access import require_send_right
from xerolink.services.context import Deps
from xerolink.store.models import CachedDocument, SendIntent
from xerolink.vocabulary import EMAILED_STATUSES, DocumentKind, Status
from xerolink.xero.transport import IDEMPOTENCY_WINDOW

if TYPE_CHECKING:
    from xerolink.xero.approval import FreshDocument
    from xerolink.xero.sending import Recipient


class AlreadySent(XeroRefusedError):
    """The invoice was emailed before: refused unless a reminder is asked for."""


@dataclass(frozen=True)
class Sending:
    """What sending would do: the invoice as Xero has it now, to whom, and how."""

    document: CachedDocument
    contact: str  # contact:ID when linked, else the Xero contact's name
    to: str
    cc: tuple[str, ...]
    approval: approve.Approval | None  # a draft approved first (--approve)
    again: bool
    link: str
    earlier: SendIntent | None = None  # an interrupted send this one finishes
    resumed: str | None = None  # how, in words

    @property
    def label(self) -> str:
        return f"invoice {self.document.number or self.document.document_id}"

    @property
    def only_note(self) -> bool:
        """The earlier run emailed it; only its history note is left to add."""
        return self.earlier is not None and self.earlier.sent_at is not None


@dataclass(frozen=True)
class Sent(Result):
    sending: Sending
    dry_run: bool
    emailed: bool  # this run asked Xero to email it (not a dry run, not only a note)
    history_note: bool
    xero_calls: int
    sent_at: datetime | None = None
    approved: approve.Approved | None = None
    problem: str = ""  # why the history note is missing, when it is

    def to_json(self) -> dict[str, Any]:
        s, d = self.sending, self.sending.document
        now = self.approved.changed if self.approved and self.approved.changed else d
        approved = None if s.approval is None else {
            "from_status": s.approval.from_status, "to_status": s.approval.to_status,
            "history_note": bool(self.approved and self.approved.history_note)}
        return {"document": {"document_id": d.document_id, "kind": d.kind, "number": d.number,
                             "contact": s.contact, "total": d.total, "currency": d.currency,
                             "status": now.status},
                "to": s.to, "cc": list(s.cc), "again": s.again, "approved": approved,
                "emailed": self.emailed, "sent_at": self.sent_at, "resumed": s.resumed,
                "history_note": self.history_note, "dry_run": self.dry_run}


Confirm = Callable[[Sending], None]


def send(deps: Deps, target: str, *, approve_first: bool, again: bool, dry_run: bool,
         confirm: Confirm) -> Sent:
    """The right to send (admins, or a viewer granted it) is checked before any Xero
    call. ``confirm`` raises to stop."""
    require_send_right(deps.store, deps.user)
    document_id = ids.document_id(deps, target)
    sending = plan(deps, document_id, approve_first=approve_first, again=again,
                   dry_run=dry_run)
    if dry_run:
        return Sent(sending, dry_run=True, emailed=False, history_note=False,
                    xero_calls=deps.calls_made())
    confirm(sending)
    return deliver(deps, sending)


def plan(deps: Deps, document_id: str, *, approve_first: bool, again: bool,
         dry_run: bool = False, fresh: FreshDocument | None = None,
         recipient: Recipient | None = None) -> Sending:
    """The invoice read fresh (one GET, unless ``fresh`` was just read), refused unless
    it may be emailed now; then its contact's addresses (one GET, unless given)."""
    from xerolink.xero import sending as xero_sending

    cached = deps.store.documents_by_ids(deps.tenant, [document_id])
    if cached:
        refuse_kind(deps, cached[0])  # a quote or a bill: no Xero call at all
    fresh = fresh or approve.read(deps, document_id)
    doc = fresh.document
    refuse_kind(deps, doc)
    approval = _approval(deps, fresh, approve_first)
    earlier, resumed = _earlier(deps, fresh, again, dry_run)
    recipient = recipient or xero_sending.recipient(deps.gateway, doc.xero_contact_id)
    if not recipient.email:
        raise XeroRefusedError(
            f"the Xero contact {recipient.name or doc.xero_contact_id} of {_label(doc)} has "
            "no email address, and Xero emails an invoice to its contact's address: add "
            f"one to the contact in Xero ({summary.link_for(deps, doc)}); nothing was sent")
    return Sending(doc, approve.contact_of(deps, doc, fresh.contact_name), recipient.email,
                   recipient.cc, approval, again, summary.link_for(deps, doc), earlier,
                   resumed)


def deliver(deps: Deps, sending: Sending) -> Sent:
    """Approve first if asked; write the intent with its key; ask Xero to email it
    (Xero's refusal removes the intent: nothing was sent; no answer keeps it for the
    rerun); mark it sent; then the history note (its failure is reported, not raised:
    the email has gone by then)."""
    from xerolink.xero import sending as xero_sending

    approved = approve.apply(deps, sending.approval) if sending.approval else None
    intent = sending.earlier or SendIntent(
        deps.tenant, deps.gateway.new_idempotency_key(), sending.document.document_id,
        sending.document.number, sending.to, deps.user, deps.now())
    if sending.only_note:
        sent_at = intent.sent_at
    else:
        if sending.earlier is None:
            deps.store.put_send_intent(intent)
        try:
            xero_sending.email_invoice(deps.gateway, intent.document_id,
                                       intent.idempotency_key)
        except XeroUnreachableError:
            raise
        except XerolinkError:
            deps.store.delete_send_intent(deps.tenant, intent.idempotency_key)
            raise
        sent_at = deps.now()
        deps.store.record_send(deps.tenant, intent.idempotency_key, sent_at=sent_at)
    noted, problem = _note(deps, sending, intent)
    return Sent(sending, dry_run=False, emailed=not sending.only_note, history_note=noted,
                xero_calls=deps.calls_made(), sent_at=sent_at, approved=approved,
                problem=problem)


def note(sending: Sending, user: str) -> str:
    return f"Sent by xerolink to {sending.to} by {user}"


def refuse_kind(deps: Deps, doc: CachedDocument) -> None:
    """Only sales invoices are emailed: Xero has no email endpoint for quotes, and a
    bill is not sent to a customer."""
    if doc.kind == DocumentKind.QUOTE:
        raise XeroRefusedError(quote_refusal(doc.number or doc.document_id,
                                             summary.link_for(deps, doc)))
    if doc.kind != DocumentKind.INVOICE:
        raise XeroRefusedError(f"{_label(doc)} cannot be emailed: only sales invoices are "
                               "emailed to a customer, and a bill is one a supplier sent "
                               "you; nothing was sent")


def quote_refusal(number: str, link: str | None) -> str:
    where = f" ({link})" if link else ""
    return (f"Xero has no email endpoint for quotes, so xerolink cannot email quote "
            f"{number}: `xerolink pdf {number}` saves its PDF to send yourself, or send it "
            f"from Xero{where}; nothing was sent")


def _approval(deps: Deps, fresh: FreshDocument, approve_first: bool
              ) -> approve.Approval | None:
    doc = fresh.document
    if doc.status == Status.DRAFT:
        if not approve_first:
            shown = doc.number or doc.document_id
            raise XeroRefusedError(
                f"{_label(doc)} is a DRAFT in Xero, and Xero emails only an approved "
                f"invoice: `xerolink send {shown} --approve` approves it first (or "
                f"`xerolink approve {shown}`); nothing was sent")
        return approve.approval_of(deps, fresh)
    if doc.status not in EMAILED_STATUSES:
        raise XeroRefusedError(
            f"{_label(doc)} is {doc.status} in Xero: only an AUTHORISED (or PAID) sales "
            "invoice is emailed; nothing was sent")
    return None


def _earlier(deps: Deps, fresh: FreshDocument, again: bool, dry_run: bool
             ) -> tuple[SendIntent | None, str | None]:
    """An earlier send to finish (its key, or only its note), or a refusal when the
    invoice was sent already and no reminder (``again``) is asked for."""
    doc = fresh.document
    records = deps.store.send_intents(deps.tenant, doc.document_id)
    unnoted = [r for r in records if r.sent_at is not None and r.noted_at is None]
    if unnoted:
        r = unnoted[-1]
        return r, (f"{_label(doc)} was emailed to {r.to_address} at {_at(r.sent_at)} by a "
                   "run that was interrupted before its history note; the note is added "
                   "now and nothing is emailed again")
    pending = [r for r in records if r.sent_at is None]
    done = [r for r in records if r.sent_at is not None]
    if pending:
        r = pending[-1]
        if deps.now() - r.requested_at <= IDEMPOTENCY_WINDOW:
            return r, (f"a send of {_label(doc)} at {_at(r.requested_at)} was interrupted; "
                       "its Idempotency-Key is sent again, so Xero emails it at most once")
        if not fresh.sent_to_contact and not done:
            return r, (f"a send of {_label(doc)} at {_at(r.requested_at)} was interrupted "
                       "and Xero does not mark it sent, so it is sent now")
        _taken_as_sent(deps, r, dry_run)
        raise AlreadySent(
            f"a send of {_label(doc)} at {_at(r.requested_at)} was interrupted, too long "
            "ago for Xero to recognise it again, and Xero marks the invoice sent: it is "
            "taken as sent, not emailed again; run the command once more to send another "
            "(--again); nothing was sent")
    if again:
        return None, None
    if done:
        last = done[-1]
        raise AlreadySent(
            f"{_label(doc)} was already sent by xerolink: to {last.to_address} at "
            f"{_at(last.sent_at)} by {last.requested_by}; `--again` sends a reminder (one "
            "more email); nothing was sent")
    if fresh.sent_to_contact:
        raise AlreadySent(f"{_label(doc)} was already sent: {_sent_in_xero(deps, doc)}; "
                          "`--again` sends a reminder (one more email); nothing was sent")
    return None, None


def _taken_as_sent(deps: Deps, intent: SendIntent, dry_run: bool) -> None:
    """An interrupted send past Xero's idempotency window, on an invoice Xero marks
    sent: whether that email went cannot be told, so it is taken as sent (the stricter
    reading: never a second email unasked)."""
    if not dry_run:
        deps.store.record_send(deps.tenant, intent.idempotency_key,
                               sent_at=intent.requested_at)
        deps.store.record_send(deps.tenant, intent.idempotency_key,
                               noted_at=intent.requested_at)


def _sent_in_xero(deps: Deps, doc: CachedDocument) -> str:
    from xerolink.xero.sending import sent_when

    when = sent_when(deps.gateway, doc.document_id)
    return ("Xero marks it sent to the contact, " +
            (f"at {_at(when)} by its history" if when else "its history does not say when"))


def _note(deps: Deps, sending: Sending, intent: SendIntent) -> tuple[bool, str]:
    from xerolink.xero.approval import add_note

    try:
        add_note(deps.gateway, sending.document, note(sending, deps.user))
        result = True, ""
    except XerolinkError as exc:  # emailed all the same: say so, not fail
        result = False, exc.message
    deps.store.record_send(deps.tenant, intent.idempotency_key, noted_at=deps.now())
    return result


def _label(doc: CachedDocument) -> str:
    return f"{doc.kind} {doc.number or doc.document_id}"


def _at(moment: datetime | None) -> str:
    return "an unknown time" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"

"""Creating a quote, a draft invoice or a draft bill for a linked contact.

Everything is checked before anything is sent: lines (description, quantity and
unit amount as Decimal, at most 4 decimal places, finite, within Xero's range),
dates, currency, lengths, and the optional deal. The create carries an
Idempotency-Key, so a retry after a lost answer cannot make a second document.

A create interrupted while Xero had it (Ctrl-C, a killed process, a dropped network)
leaves its intent in the store: the request's fingerprint and key. Running the same
command again finds it. Within Xero's idempotency window the same key is sent, so
Xero answers with the document it already made; after it (Xero remembers keys for a
limited, undocumented time, so xerolink assumes minutes), the contact's documents
changed since the intent are searched for this one first, and only if it is not
there is it created.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink import validation
from xerolink.errors import (
    NotFoundError,
    UsageError,
    XerolinkError,
    XeroRefusedError,
    XeroUnreachableError,
)
from xerolink.results import Result, to_jsonable
from xerolink.services import summary
from xerolink.services.context import Deps
from xerolink.services.crm import Ref
from xerolink.store.models import CachedDocument, CreateIntent
from xerolink.vocabulary import DOCUMENT_KINDS, DocumentKind, RecordKind, Status
from xerolink.xero import drafts
from xerolink.xero.drafts import Draft as Draft  # re-exported: the API's type
from xerolink.xero.drafts import Line as Line
from xerolink.xero.transport import IDEMPOTENCY_WINDOW

if TYPE_CHECKING:
    from xerolink.services.approve import Approved
    from xerolink.services.send import Sent
    from xerolink.xero.approval import FreshDocument
    from xerolink.xero.sending import Recipient

KINDS = DOCUMENT_KINDS
LOOKBACK = timedelta(minutes=5)  # clock difference allowed when searching for a create
LIMIT = Decimal("1e12")
LINE_KEYS = frozenset({"description", "quantity", "unit_amount", "account_code", "tax_type"})
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,30}$")


def amount(text: Any, label: str) -> Decimal:
    """A Decimal from text, refusing floats' surprises: NaN, inf, 1e309, > 4 places."""
    if isinstance(text, bool):  # JSON's true and false
        raise UsageError(f"{label} must be a number, not {str(text).lower()}")
    if isinstance(text, float):
        raise UsageError(f"{label} must be written as a decimal number in quotes, not {text!r}")
    parsed = validation.decimal(str(text))
    if parsed is None and str(text).strip().lstrip("+-").lower() in ("nan", "snan", "inf",
                                                                      "infinity"):
        raise UsageError(f"{label} must be a finite number")
    if parsed is None:
        raise UsageError(f"{label} {str(text)[:30]!r} is not a number (digits 0-9, an "
                         "optional point, no spaces, plus signs or separators)")
    value = parsed
    if not value.is_finite():
        raise UsageError(f"{label} must be a finite number")
    if abs(value) >= LIMIT:
        raise UsageError(f"{label} must be less than 1,000,000,000,000")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise UsageError(f"{label} has more than 4 decimal places")
    return value


def _text(value: Any, label: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise UsageError(f"{label} is required")
        return None
    if not isinstance(value, str | int):
        raise UsageError(f"{label} must be text")
    text = str(value).strip()
    if required and not text:
        raise UsageError(f"{label} is required")
    if len(text) > limit or validation.has_unsafe(text, allow_newlines=True):
        raise UsageError(f"{label} must be at most {limit} characters of text")
    return text or None


def _code(value: Any, label: str) -> str | None:
    text = _text(value, label, 30)
    if text is not None and not _CODE.match(text):
        raise UsageError(f"{label} {text!r} is not a valid code")
    return text


def parse_line(spec: str, number: int) -> Line:
    """``description;quantity;unit_amount[;account_code[;tax_type]]``, numbers as typed."""
    parts = [p if i in (1, 2) else p.strip() for i, p in enumerate(spec.split(";"))]
    if not 3 <= len(parts) <= 5:
        raise UsageError(f"--line {number}: write it as \"description;quantity;unit_amount"
                         "[;account_code[;tax_type]]\"")
    return _line(parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else None,
                 parts[4] if len(parts) > 4 else None, f"line {number}")


def _line(description: Any, quantity: Any, unit: Any, account: Any, tax: Any,
          label: str) -> Line:
    text = _text(description, f"{label} description", 4000, required=True) or ""
    qty = amount(quantity, f"{label} quantity")
    if qty <= 0:
        raise UsageError(f"{label} quantity must be greater than zero")
    price = amount(unit, f"{label} unit amount")
    if len((qty * price).as_tuple().digits) > 15:
        raise UsageError(f"{label}: quantity × unit amount has too many digits")
    return Line(text, qty, price, _code(account, f"{label} account code"),
                _code(tax, f"{label} tax type"))


def line_from_mapping(line: Mapping[str, Any], number: int, *, where: str = "") -> Line:
    """A line as the JSON file writes it (see LINE_KEYS; quantity defaults to 1)."""
    extra = sorted(str(key) for key in set(line) - LINE_KEYS)
    if extra:
        raise UsageError(f"{where}line {number} has an unknown key {extra[0][:40]!r} (keys: "
                         f"{', '.join(sorted(LINE_KEYS))})")
    return _line(line.get("description"), line.get("quantity", "1"), line.get("unit_amount"),
                 line.get("account_code"), line.get("tax_type"), f"line {number}")


def _date(value: Any, label: str) -> date | None:
    if value in (None, ""):
        return None
    parsed = validation.iso_date(str(value))
    if parsed is None:
        raise UsageError(f"{label} {str(value)[:30]!r} is not a date (YYYY-MM-DD, from "
                         f"{validation.FIRST_YEAR} to {validation.LAST_YEAR})")
    return parsed


def from_file(path: Path, kind: str) -> Draft:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"cannot read {path} as UTF-8 text ({type(exc).__name__})") from None
    def no_constants(name: str) -> None:
        raise UsageError(f"{path}: {name} is not a number")

    try:
        data = json.loads(text, parse_float=str, parse_int=str, parse_constant=no_constants)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply to be a document") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold one JSON object")
    known = {"lines", "date", "due_date", "expiry_date", "title", "summary", "reference",
             "currency"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(known))})")
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise UsageError(f"{path}: \"lines\" must be a non-empty list")
    lines = []
    for number, line in enumerate(raw_lines, start=1):
        if not isinstance(line, dict):
            raise UsageError(f"{path}: line {number} must be an object")
        lines.append(line_from_mapping(line, number, where=f"{path}: "))
    draft = Draft(kind, lines, _date(data.get("date"), "date"),
                  _date(data.get("due_date"), "due_date"),
                  _date(data.get("expiry_date"), "expiry_date"),
                  _text(data.get("title"), "title", 100),
                  _text(data.get("reference"), "reference", 255),
                  _text(data.get("currency"), "currency", 3))
    if data.get("summary") is not None:
        draft.summary = _text(data.get("summary"), "summary", 3000)
    return draft


def draft_from(kind: str, *, lines: Sequence[str | Mapping[str, Any]] | None = None,
               file: Path | None = None, date_: str | None = None, due_date: str | None = None,
               expiry_date: str | None = None, title: str | None = None,
               reference: str | None = None, currency: str | None = None) -> Draft:
    """A draft from ``--line`` specs or a JSON file; the other options override the
    file's fields. Every value is checked here; ``check`` then fills defaults."""
    if file and lines:
        raise UsageError("give --line or --file, not both")
    if file:
        draft = from_file(file, kind)
    else:
        draft = Draft(kind, [line_from_mapping(spec, n) if isinstance(spec, Mapping) else
                             parse_line(spec, n) for n, spec in enumerate(lines or [], 1)])
    for name, value in (("date", date_), ("due_date", due_date),
                        ("expiry_date", expiry_date)):
        if value:
            setattr(draft, name, _date(value, f"--{name.replace('_', '-')}"))
    if title:
        draft.title = _text(title, "--title", 100)
    if reference:
        draft.reference = _text(reference, "--reference", 255)
    if currency:
        draft.currency = currency
    return draft


def check(draft: Draft, *, today: date, defaults: dict[str, str | None]) -> Draft:
    """Fill defaults and refuse what Xero would (or should) refuse."""
    if not draft.lines:
        raise UsageError("give at least one --line \"description;quantity;unit_amount\" or "
                         "--file")
    quote = draft.kind == DocumentKind.QUOTE
    if why := validation.lines_problem(draft.lines, may_be_negative=quote):
        raise UsageError(why)
    draft.date = draft.date or today
    if draft.kind == DocumentKind.QUOTE:
        if draft.due_date is not None:
            raise UsageError("quotes have --expiry-date, not --due-date")
        if draft.expiry_date and draft.expiry_date < draft.date:
            raise UsageError("the expiry date is before the quote date")
    else:
        if draft.expiry_date is not None or draft.title is not None:
            raise UsageError("--expiry-date and --title are for quotes")
        if draft.due_date and draft.due_date < draft.date:
            raise UsageError("the due date is before the date")
    if draft.currency:
        code = validation.currency(draft.currency)
        if code is None:
            raise UsageError(f"{draft.currency[:10]!r} is not a three-letter currency code")
        draft.currency = code
    account = defaults.get("account")
    tax = defaults.get("tax_type")
    draft.lines = [Line(line.description, line.quantity, line.unit_amount,
                        line.account_code or account, line.tax_type or tax)
                   for line in draft.lines]
    return draft


@dataclass(frozen=True)
class Created(Result):
    document: CachedDocument
    link: str
    deal: str | None  # the deal's id it was attached to
    resumed: str | None = None  # how an interrupted earlier run was completed, in words
    history_note: bool = False  # "Created by xerolink ..." is in the document's history
    problem: str = ""  # why that note is missing, when it is
    approved: Approved | None = None  # --approve (or --send) approved it
    sent: Sent | None = None  # --send emailed it
    already_sent: str | None = None  # --send found it emailed by an earlier run

    def to_json(self) -> dict[str, Any]:
        doc = self.document
        approved = None if self.approved is None else {
            "from_status": self.approved.approval.from_status,
            "to_status": self.approved.approval.to_status,
            "history_note": self.approved.history_note}
        sent = None if self.sent is None else {
            key: value for key, value in self.sent.to_json().items()
            if key in ("to", "cc", "emailed", "sent_at", "resumed", "history_note")}
        return {"type": doc.kind, "document_id": doc.document_id, "number": doc.number,
                "status": doc.status, "total": to_jsonable(doc.total),
                "currency": doc.currency, "link": self.link,
                "deal": f"deal:{self.deal}" if self.deal else None, "resumed": self.resumed,
                "history_note": self.history_note, "problem": self.problem or None,
                "approved": approved, "sent": to_jsonable(sent),
                "already_sent": self.already_sent}


@dataclass(frozen=True)
class Creating:
    """What a create that goes on to approve or send will do, asked before anything."""

    kind: str
    contact: str  # contact:ID
    lines: int
    subtotal: Decimal  # before tax (Xero adds tax)
    currency: str
    approve: bool
    send_to: str | None  # the address Xero will email, with --send
    cc: tuple[str, ...] = ()


Confirm = Callable[[Creating], None]


def fingerprint(kind: str, fields: dict[str, Any]) -> str:
    """The same request gives the same fingerprint (the date defaults to today)."""
    text = json.dumps({"kind": kind, "fields": fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create(deps: Deps, ref: Ref, draft: Draft, *, deal_id: str | None,
           approve: bool = False, send: bool = False, confirm: Confirm | None = None
           ) -> Created:
    """Create the document, note where it came from in its history, and (``approve``,
    ``send``) approve and email it. Its intent stays in the store until every step is
    done, so a rerun of the same command after an interruption goes on from where the
    first stopped: never a second document, never a second email."""
    if send and draft.kind != DocumentKind.INVOICE:
        raise UsageError(_no_send(draft.kind))
    scope = summary.resolve(deps, ref)
    if ref.kind != RecordKind.CONTACT:
        raise UsageError(f"create documents for a contact (contact:ID), not a {ref.kind}")
    if deal_id is not None and deps.store.get_crm_deal(deal_id) is None:
        raise NotFoundError(f"no CRM deal deal:{deal_id}")
    contact_id = scope.contact_ids[0]
    request_print = fingerprint(draft.kind, drafts.payload(draft, contact_id))
    earlier = _earlier_intent(deps, request_print, follow_ups=approve or send)
    if earlier is not None and earlier.done_at is not None and earlier.document_id:
        from xerolink.services.access import require_send_right

        require_send_right(deps.store, deps.user)  # before saying what was sent
        return _done_already(deps, draft, earlier, deal_id)
    recipient = _before_follow_ups(deps, ref, draft, contact_id, approve=approve, send=send,
                                   confirm=confirm)
    fresh, resumed = _made(deps, draft, contact_id, ref, request_print, earlier)
    document = fresh.document
    noted, problem = _created_note(deps, document, ref, deal_id, request_print, earlier)
    if deal_id is not None:
        deps.store.attach_deal_documents(deps.tenant, deal_id,
                                         [(document.document_id, document.kind)], deps.user,
                                         deps.now())
    created = Created(document, summary.link_for(deps, document), deal_id, resumed,
                      noted, problem)
    if approve or send:
        created = _follow_ups(deps, created, fresh, request_print, send=send,
                              recipient=recipient)
    _finish(deps, request_print, follow_ups=approve or send)
    return created


def _finish(deps: Deps, request_print: str, *, follow_ups: bool) -> None:
    """A plain create forgets its intent: the same command once more is a new draft, as
    it always was. One that approved or emailed keeps it, marked done, for Xero's
    idempotency window: the same command rerun in it (after a kill as the run ended,
    its answer lost) is answered with what was done, and no customer gets a second
    invoice or email."""
    if not follow_ups:
        deps.store.delete_create_intent(deps.tenant, request_print)
        return
    now = deps.now()
    deps.store.record_create_done(deps.tenant, request_print, now, now - IDEMPOTENCY_WINDOW)


def _earlier_intent(deps: Deps, request_print: str, *, follow_ups: bool
                    ) -> CreateIntent | None:
    """The same command's intent: one under way, or, for a command that approves or
    emails, one done within Xero's idempotency window (a done one older than that is
    over, and a plain create is always a new draft: the command makes a new document)."""
    earlier = deps.store.get_create_intent(deps.tenant, request_print)
    if earlier is not None and earlier.done_at is not None and (not follow_ups or not
            timedelta(0) <= deps.now() - earlier.done_at <= IDEMPOTENCY_WINDOW):
        deps.store.delete_create_intent(deps.tenant, request_print)
        return None
    return earlier


def _done_already(deps: Deps, draft: Draft, earlier: CreateIntent,
                  deal_id: str | None) -> Created:
    """The same command finished moments ago (its answer may have been lost to a kill
    as it ended): answered with the document it made, as that run left it in the cache
    (read from Xero only if the cache lost it); nothing is made, approved or sent
    again, and no call is needed."""
    from xerolink.services import approve as approving

    done_at, document_id = earlier.done_at or deps.now(), earlier.document_id or ""
    cached = deps.store.documents_by_ids(deps.tenant, [document_id])
    document = cached[0] if cached else approving.read(deps, document_id).document
    until = done_at + IDEMPOTENCY_WINDOW
    resumed = (f"an identical {draft.kind} was made by a run that finished at "
               f"{done_at:%H:%M:%S} UTC (its answer may not have reached you), so "
               f"nothing was made, approved or sent again; run it after {until:%H:%M:%S} "
               "UTC to make another")
    return Created(document, summary.link_for(deps, document), deal_id, resumed,
                   earlier.noted_at is not None, "")


def _made(deps: Deps, draft: Draft, contact_id: str, ref: Ref, request_print: str,
          earlier: CreateIntent | None) -> tuple[FreshDocument, str | None]:
    """The document: the one an interrupted identical run made (read fresh), or made
    now (sent with the interrupted run's key within Xero's idempotency window)."""
    from xerolink.services import approve as approving
    from xerolink.xero.approval import FreshDocument

    if earlier is not None and earlier.document_id:
        fresh = approving.read(deps, earlier.document_id)
        return fresh, (f"an identical {draft.kind} made at {earlier.created_at:%H:%M} UTC by "
                       "an interrupted run is in Xero, so it was not made again; the rest "
                       "of the command was done")
    document, resumed = _created(deps, draft, contact_id, ref, request_print, earlier)
    deps.store.apply_document_changes(deps.tenant, [document], [])
    deps.store.record_create_made(deps.tenant, request_print, document.document_id)
    return FreshDocument(document, ""), resumed


def _created(deps: Deps, draft: Draft, contact_id: str, ref: Ref, request_print: str,
             earlier: CreateIntent | None) -> tuple[CachedDocument, str | None]:
    now = deps.now()
    document, resumed, key = None, None, deps.gateway.new_idempotency_key()
    if earlier is not None:
        sent = f"an identical {draft.kind} sent at {earlier.created_at:%H:%M} UTC was interrupted"
        if now - earlier.created_at <= IDEMPOTENCY_WINDOW:
            key = earlier.idempotency_key
            resumed = f"{sent}; its Idempotency-Key was sent again, so Xero makes no second one"
        else:
            document = deps.gateway.find_document_made(draft, contact_id,
                                                       earlier.created_at - LOOKBACK, now)
            resumed = f"{sent} and " + ("was found in Xero, so it was not created again"
                                         if document else "is not in Xero, so it was created now")
    if document is None:
        document = _send(deps, draft, contact_id, CreateIntent(
            deps.tenant, request_print, key, draft.kind, ref.id, contact_id, deps.user,
            earlier.created_at if earlier and key == earlier.idempotency_key else now))
    return document, resumed


def _before_follow_ups(deps: Deps, ref: Ref, draft: Draft, contact_id: str, *,
                       approve: bool, send: bool, confirm: Confirm | None
                       ) -> Recipient | None:
    """Before anything is created: who may (the same check ``approve`` makes), the
    address Xero will email (one GET; none: refused), and the question."""
    if not (approve or send):
        return None
    from xerolink.services.access import require_send_right

    require_send_right(deps.store, deps.user)
    recipient = None
    if send:
        from xerolink.xero.sending import recipient as read_recipient

        recipient = read_recipient(deps.gateway, contact_id)
        if not recipient.email:
            raise XeroRefusedError(
                f"the Xero contact {recipient.name or contact_id} linked to contact:{ref.id} "
                "has no email address, and Xero emails an invoice to its contact's address: "
                "add one to the contact in Xero first; nothing was created")
    if confirm is not None:
        subtotal = sum((line.quantity * line.unit_amount for line in draft.lines),
                       Decimal(0))
        confirm(Creating(draft.kind, f"{RecordKind.CONTACT}:{ref.id}", len(draft.lines),
                         subtotal, draft.currency or deps.connection.base_currency or "",
                         approve or send, recipient.email if recipient else None,
                         recipient.cc if recipient else ()))
    return recipient


def _created_note(deps: Deps, document: CachedDocument, ref: Ref, deal_id: str | None,
                  request_print: str, earlier: CreateIntent | None) -> tuple[bool, str]:
    """"Created by xerolink from deal:... for contact:... by USER" in the document's
    history (one PUT; once per create, a rerun does not add it again). A failure is
    reported, not raised: the document is made by then."""
    from xerolink.xero.approval import add_note

    if earlier is not None and earlier.document_id and earlier.noted_at is not None:
        return True, ""
    source = f" from deal:{deal_id}" if deal_id else ""
    try:
        add_note(deps.gateway, document, f"Created by xerolink{source} for "
                                         f"{RecordKind.CONTACT}:{ref.id} by {deps.user}")
        result = True, ""
    except XerolinkError as exc:
        result = False, exc.message
    deps.store.record_create_noted(deps.tenant, request_print, deps.now())
    return result


def _follow_ups(deps: Deps, created: Created, fresh: FreshDocument, request_print: str, *,
                send: bool, recipient: Recipient | None) -> Created:
    """Approve (a draft), then with ``send`` email it. A refusal by Xero ends the
    create's intent (what was made stays, and the message names it); no answer keeps
    it, so the same command goes on later."""
    from xerolink.services import approve as approving
    from xerolink.services import send as sending

    try:
        if send:
            plan = sending.plan(deps, fresh.document.document_id, approve_first=True,
                                again=False, fresh=fresh, recipient=recipient)
            sent = sending.deliver(deps, plan)
            return _with(created, sent.approved, sent=sent)
        if fresh.document.status != Status.DRAFT:
            return created
        approval = approving.approval_of(deps, fresh)
        return _with(created, approving.apply(deps, approval))
    except sending.AlreadySent as exc:
        return replace(created, already_sent=exc.message)
    except XeroRefusedError as exc:
        deps.store.delete_create_intent(deps.tenant, request_print)
        doc = created.document
        raise XeroRefusedError(f"{doc.kind} {doc.number or doc.document_id} was created "
                               f"({created.link}), but not {'sent' if send else 'approved'}: "
                               f"{exc.message}") from None


def _with(created: Created, approved: Approved | None, *, sent: Sent | None = None
          ) -> Created:
    document = approved.changed if approved and approved.changed else created.document
    return replace(created, document=document, approved=approved, sent=sent)


def _no_send(kind: str) -> str:
    if kind == DocumentKind.QUOTE:
        return ("--send is for invoices: Xero has no email endpoint for quotes; create it "
                "with --approve (it becomes SENT), then `xerolink pdf NUMBER` saves its PDF "
                "to send yourself and `xerolink view NUMBER` gives its View in Xero link; "
                "nothing was created")
    return f"--send is for sales invoices: a {kind} is not emailed; nothing was created"


def _send(deps: Deps, draft: Draft, contact_id: str, intent: CreateIntent
          ) -> CachedDocument:
    """Record the intent, then send. Xero's refusal removes it (nothing was made); an
    unknown outcome (no answer, an interruption) keeps it for the rerun."""
    deps.store.put_create_intent(intent)
    try:
        return deps.gateway.put_document(draft, contact_id, intent.idempotency_key,
                                         deps.now())
    except XeroUnreachableError:
        raise
    except XerolinkError:
        deps.store.delete_create_intent(deps.tenant, intent.fingerprint)
        raise


def organisation_today(deps: Deps) -> date:
    return summary.organisation_today(deps.now(), deps.connection.timezone)

"""``approve``: a draft invoice or bill becomes AUTHORISED, a draft quote SENT (Xero's
quote workflow). The status is read fresh from Xero (a cached status may be stale,
and a write on it would be wrong), the change is confirmed first, and Xero's own
history then says who approved it through xerolink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from xerolink.errors import XerolinkError, XeroRefusedError
from xerolink.results import Result
from xerolink.services import ids
from xerolink.services.access import require_send_right
from xerolink.services.context import Deps
from xerolink.store.models import CachedDocument
from xerolink.vocabulary import DocumentKind, RecordKind, Status

if TYPE_CHECKING:
    from xerolink.xero.approval import FreshDocument

APPROVED_STATUS = {DocumentKind.INVOICE: Status.AUTHORISED, DocumentKind.BILL: Status.AUTHORISED,
                   DocumentKind.QUOTE: Status.SENT}


@dataclass(frozen=True)
class Approval:
    """What approving would do: the document as Xero has it now, and to what."""

    document_id: str
    kind: str
    number: str
    contact: str  # contact:ID when linked, else the Xero contact's name
    total: Decimal
    currency: str
    from_status: str
    to_status: str
    fresh: CachedDocument  # as read from Xero just now

    @property
    def label(self) -> str:
        return f"{self.kind} {self.number or self.document_id}"


@dataclass(frozen=True)
class Approved(Result):
    approval: Approval
    history_note: bool
    dry_run: bool
    xero_calls: int
    problem: str = ""  # why the history note is missing, when it is
    changed: CachedDocument | None = None  # as Xero answered the change


    def to_json(self) -> dict[str, Any]:
        a = self.approval
        return {"document": {"document_id": a.document_id, "kind": a.kind, "number": a.number,
                             "contact": a.contact, "total": a.total, "currency": a.currency},
                "from_status": a.from_status, "to_status": a.to_status,
                "history_note": self.history_note, "dry_run": self.dry_run}


Confirm = Callable[[Approval], None]


def approve(deps: Deps, target: str, *, dry_run: bool, confirm: Confirm) -> Approved:
    """Those with the right to send only (no Xero call before that is checked).
    ``confirm`` raises to stop."""
    require_send_right(deps.store, deps.user)
    document_id = ids.document_id(deps, target)
    approval = plan(deps, document_id)
    if dry_run:
        return Approved(approval, history_note=False, dry_run=True,
                        xero_calls=deps.calls_made())
    confirm(approval)
    return apply(deps, approval)


def plan(deps: Deps, document_id: str) -> Approval:
    """The document read fresh (one GET) and cached so, refused unless a draft."""
    return approval_of(deps, read(deps, document_id))


def read(deps: Deps, document_id: str) -> FreshDocument:
    """The document as Xero has it now (one GET), and the cache made to say so."""
    from xerolink.xero.approval import read_fresh

    cached = deps.store.documents_by_ids(deps.tenant, [document_id])
    fresh = read_fresh(deps.gateway, document_id, cached[0].kind if cached else None,
                       deps.now(), deps.connection.base_currency)
    deps.store.apply_document_changes(deps.tenant, [fresh.document], [])
    return fresh


def approval_of(deps: Deps, fresh: FreshDocument) -> Approval:
    """What approving the freshly read document does; anything but a draft refused."""
    doc = fresh.document
    approval = Approval(doc.document_id, doc.kind, doc.number, contact_of(
                        deps, doc, fresh.contact_name), doc.total, doc.currency, doc.status,
                        APPROVED_STATUS[DocumentKind(doc.kind)], doc)
    if doc.status != Status.DRAFT:
        raise XeroRefusedError(
            f"{approval.label} is {doc.status} in Xero, not DRAFT: only a draft is approved "
            f"(a draft {doc.kind} becomes {approval.to_status}); nothing was changed")
    return approval


def apply(deps: Deps, approval: Approval) -> Approved:
    """The status change (a refusal: Xero's message, exit 6, nothing else done), the
    cached copy as Xero answered it, then the history note (its failure is reported,
    not raised: the document is approved by then)."""
    from xerolink.xero.approval import add_note, set_status

    changed = set_status(deps.gateway, approval.fresh, approval.to_status, deps.now())
    deps.store.apply_document_changes(deps.tenant, [changed], [])
    try:
        add_note(deps.gateway, changed, note(approval, deps.user))
    except XerolinkError as exc:  # approved all the same: say so, not fail
        return Approved(approval, history_note=False, dry_run=False,
                        xero_calls=deps.calls_made(), problem=exc.message, changed=changed)
    return Approved(approval, history_note=True, dry_run=False,
                    xero_calls=deps.calls_made(), changed=changed)


def note(approval: Approval, user: str) -> str:
    return f"Approved by xerolink for {approval.contact} by {user}"


def contact_of(deps: Deps, doc: CachedDocument, xero_name: str) -> str:
    """The CRM contact linked to the document's Xero contact (the lowest id when
    several are), else the Xero contact's name."""
    linked = sorted(crm for crm, (xero_id, _) in
                    deps.store.linked_xero_contacts(deps.tenant).items()
                    if xero_id.lower() == doc.xero_contact_id)
    if linked:
        return f"{RecordKind.CONTACT}:{linked[0]}"
    return xero_name or doc.xero_contact_id


"""Deal documents: the quotes, invoices and bills chosen for a deal from its primary
contact's and participants' documents. A deal's summary counts exactly these."""

from __future__ import annotations

from xerolink.errors import NotFoundError, UsageError
from xerolink.services import documents, summary
from xerolink.services import ids as resolve
from xerolink.services.context import Deps
from xerolink.services.crm import Ref
from xerolink.services.outcomes import DealChange, DealSuggestions
from xerolink.store.models import CrmDeal
from xerolink.vocabulary import RecordKind


def _deal(deps: Deps, ref: Ref) -> CrmDeal:
    if ref.kind != RecordKind.DEAL:
        raise UsageError(f"{ref} is not a deal; use deal:ID")
    deal = deps.store.get_crm_deal(ref.id)
    if deal is None:
        raise NotFoundError(f"no CRM deal {ref}")
    return deal


def deal_contacts(deps: Deps, deal: CrmDeal) -> tuple[list[str], list[str]]:
    """(linked Xero ContactIDs, CRM refs of people who are not linked)."""
    people = [p for p in (deal.primary_contact_id, *deal.participant_ids) if p]
    linked, unlinked = [], []
    for person in dict.fromkeys(people):
        link = deps.store.get_link(deps.tenant, person)
        if link is None:
            unlinked.append(f"contact:{person}")
        elif link.xero_contact_id not in linked:
            linked.append(link.xero_contact_id)
    return linked, unlinked


def suggest(deps: Deps, ref: Ref, *, refresh: bool) -> DealSuggestions:
    """Documents of the deal's linked people, to choose from; and who is not linked."""
    deal = _deal(deps, ref)
    contacts, unlinked = deal_contacts(deps, deal)
    if contacts:
        times = deps.store.contact_refresh_times(deps.tenant, contacts)
        wanted = contacts if refresh else [c for c in contacts if c not in times]
        if wanted:
            documents.refresh_contacts(deps, wanted, single=len(wanted) == 1)
    attached = {d for d, _ in deps.store.deal_documents(deps.tenant, deal.id)}
    names = summary.contact_names(deps)
    rows = [{**summary.document_row(deps, d, names), "attached": d.document_id in attached}
            for d in deps.store.documents_for_contacts(deps.tenant, contacts)]
    return DealSuggestions(rows, unlinked=unlinked)


def attach(deps: Deps, ref: Ref, document_ids: list[str]) -> DealChange:
    deal = _deal(deps, ref)
    resolved = [(resolve.document_id(deps, d), d.strip()) for d in document_ids]
    ids = [document_id for document_id, _ in resolved]
    typed: dict[str, str] = {}
    for document_id, text in resolved:
        typed.setdefault(document_id, text)
    contacts, _ = deal_contacts(deps, deal)
    found = documents.find(deps, ids)
    strangers = [d for d in ids if found[d].xero_contact_id not in contacts]
    if strangers:
        raise UsageError(f"{_as_typed(typed[strangers[0]], found[strangers[0]].number)} "
                         f"belongs to none of {ref}'s linked people (primary contact and "
                         "participants); `xerolink deal suggest` lists theirs")
    return DealChange(str(ref), "attached", deps.store.attach_deal_documents(
        deps.tenant, deal.id, [(d, found[d].kind) for d in ids], deps.user, deps.now()))


def _as_typed(typed: str, number: str) -> str:
    """A document as the user named it: its number, or the id they typed and then the
    number, so that an error never answers a number with a GUID."""
    return typed if not number or typed.casefold() == number.casefold() else \
        f"{typed} ({number})"


def detach(deps: Deps, ref: Ref, document_ids: list[str]) -> DealChange:
    deal = _deal(deps, ref)
    ids = [resolve.document_id(deps, d) for d in document_ids]
    removed = deps.store.detach_deal_documents(deps.tenant, deal.id, ids)
    if removed == 0:
        raise NotFoundError(f"none of those documents is attached to {ref}")
    return DealChange(str(ref), "detached", removed)

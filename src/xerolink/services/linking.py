"""Linking CRM contacts to Xero contacts: one Xero contact per CRM contact.

Suggestions and auto-link match against a local copy of the organisation's Xero
contacts, read in pages of 1,000 once and then kept current with If-Modified-Since
(usually one call), so neither ever spends a call per CRM contact.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xerolink import validation
from xerolink.errors import NotFoundError, UsageError
from xerolink.formats import EMAIL
from xerolink.services import ids
from xerolink.services.context import Deps
from xerolink.services.crm import Ref
from xerolink.services.outcomes import (
    AutoLinked,
    ContactCreated,
    Linked,
    Rows,
    Unlinked,
    xero_contact_row,
)
from xerolink.services.progress import XeroProgress
from xerolink.store import Store
from xerolink.store.models import CrmContact, Link, XeroContact
from xerolink.vocabulary import RecordKind
from xerolink.xero.drafts import NewContact as NewContact  # re-exported: the API's type

CONTACTS = RecordKind.CONTACT.plural  # the sync state of the copy of Xero contacts
FULL_SYNC = "contacts.full"
BATCH = 1000


# -- the local copy of Xero contacts ----------------------------------------------------
@dataclass(frozen=True)
class SyncResult:
    fetched: int
    full: bool
    pages: int


def sync_contacts(deps: Deps, progress: XeroProgress | None = None) -> SyncResult:
    """Bring the local copy up to date: resume or start a full read, else fetch only
    what changed since the last sync."""
    store, tenant = deps.store, deps.tenant
    state = store.get_sync_state(tenant, CONTACTS)
    full = store.get_sync_state(tenant, FULL_SYNC)
    if state is not None and full is None:
        since = datetime.fromisoformat(state[0]) if state[0] else None
        fetched, pages, newest = _read_pages(deps, 1, since, progress)
        if newest is not None and (since is None or newest > since):
            store.set_sync_state(tenant, CONTACTS, newest.isoformat(), deps.now().isoformat())
        return SyncResult(fetched, False, pages)
    start_page, started = 1, deps.now()
    if full is not None:  # an interrupted full read: carry on where it stopped
        start_page, started = int(full[0] or 1), datetime.fromisoformat(full[1])
    else:
        store.set_sync_state(tenant, FULL_SYNC, "1", started.isoformat())
    fetched, pages, newest = _read_pages(deps, start_page, None, progress, started=started)
    # Anything changed while the read was under way must be fetched next time.
    watermark = started - timedelta(minutes=5)
    if newest is not None and newest < watermark:
        watermark = newest
    store.finish_sync(tenant, FULL_SYNC, CONTACTS, watermark.isoformat(),
                      deps.now().isoformat())
    return SyncResult(fetched, True, pages)


def _read_pages(deps: Deps, start: int, since: datetime | None, progress: XeroProgress | None,
                *, started: datetime | None = None) -> tuple[int, int, datetime | None]:
    """Read pages from ``start``; with ``started`` (a full read), record after each page
    where to resume."""
    fetched, calls, newest = 0, 0, None
    for page, contacts in deps.gateway.contact_copy_pages(start=start, modified_since=since):
        calls += 1
        deps.store.upsert_xero_contacts(deps.tenant, contacts)
        fetched += len(contacts)
        for contact in contacts:
            if contact.updated_utc and (newest is None or contact.updated_utc > newest):
                newest = contact.updated_utc
        if started is not None:
            deps.store.set_sync_state(deps.tenant, FULL_SYNC, str(page.number + 1),
                                      started.isoformat())
        if progress is not None:
            progress(page.number, page.count or page.number)
    return fetched, calls, newest


# -- suggestions -------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    contact: XeroContact
    score: int
    reason: str


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _names(contact: XeroContact) -> dict[str, str]:
    """The names a CRM contact's name is held to, each with how a reason says it: the
    contact's Name, and its FirstName and LastName when they differ from it (a
    company's contact names its person there, so the reason must say which matched)."""
    names = {_norm(contact.name): "name"}
    person = f"{contact.first_name} {contact.last_name}".strip()
    names.setdefault(_norm(person), f"first and last name ({person})")
    names.pop("", None)
    return names


def rank(crm: CrmContact, candidates: list[XeroContact], company_name: str = "",
         limit: int = 10) -> list[Suggestion]:
    """Xero contacts that may be this CRM contact: email first, then name."""
    email = crm.email.lower()
    full = _norm(crm.name)
    company = _norm(company_name)
    found: dict[str, Suggestion] = {}

    def offer(contact: XeroContact, score: int, reason: str) -> None:
        best = found.get(contact.contact_id)
        if best is None or score > best.score:
            found[contact.contact_id] = Suggestion(contact, score, reason)

    for contact in candidates:
        if not contact.active:
            continue
        if email and contact.email == email:
            offer(contact, 100, "email matches the contact's email")
            continue
        person = next((p for p in contact.persons if email and p[2] == email), None)
        if person is not None:
            offer(contact, 95, f"email matches contact person {person[0]} {person[1]}".strip())
            continue
        names = _names(contact)
        if full and full in names:
            offer(contact, 80, f"{names[full]} matches")
            continue
        if company and _norm(contact.name) == company:
            offer(contact, 60, "name matches the CRM contact's company")
            continue
        if full:
            for name, said in names.items():
                matcher = difflib.SequenceMatcher(None, full, name)
                if matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8:
                    ratio = matcher.ratio()
                    if ratio >= 0.8:
                        offer(contact, int(ratio * 70), f"{said} is similar ({ratio:.0%})")
    return sorted(found.values(), key=lambda s: (-s.score, s.contact.name.lower()))[:limit]


def crm_contact(store: Store, ref: Ref) -> CrmContact:
    if ref.kind != RecordKind.CONTACT:
        raise UsageError(f"{ref} is a {ref.kind}; this command takes a contact")
    contact = store.get_crm_contact(ref.id)
    if contact is None:
        raise NotFoundError(f"no CRM contact {ref}; `xerolink crm list contacts` shows them")
    return contact


def suggest(deps: Deps, ref: Ref) -> list[Suggestion]:
    contact = crm_contact(deps.store, ref)
    sync_contacts(deps)
    company = deps.store.get_crm_company(contact.company_id) if contact.company_id else None
    return rank(contact, deps.store.xero_contacts(deps.tenant),
                company.name if company else "")


def suggestions(deps: Deps, ref: Ref) -> Rows:
    """``suggest``'s result: the ranked Xero contacts, each with its score and why."""
    return Rows([xero_contact_row(s.contact, score=s.score, reason=s.reason)
                 for s in suggest(deps, ref)], title=f"Suggestions for {ref}")


# -- search ------------------------------------------------------------------------------
def search(deps: Deps, text: str | None, first: str | None, last: str | None) -> Rows:
    """Xero contacts by name, asked of Xero itself (one call) and narrowed here."""
    words = [w for w in (text, last, first) if w and w.strip()]
    if not words:
        raise UsageError("give TEXT, --first or --last to search for")
    term = words[0].strip()
    if len(term) > 100:
        raise UsageError("search text must be 100 characters or fewer")
    found = deps.gateway.find_contacts(term)

    def keep(c: XeroContact) -> bool:
        if first and not _matches(first, (c.first_name, c.name.split(" ")[0])):
            return False
        return not (last and not _matches(last, (c.last_name, c.name.split(" ")[-1])))

    return Rows([xero_contact_row(c) for c in found if keep(c)])


def _matches(wanted: str, values: tuple[str, ...]) -> bool:
    needle = wanted.strip().lower()
    return any(v.lower().startswith(needle) for v in values if v)


# -- link, unlink ------------------------------------------------------------------------
def link(deps: Deps, ref: Ref, xero_id: str, *, replace: bool) -> Linked:
    contact = crm_contact(deps.store, ref)
    contact_id = ids.contact_id(deps, xero_id)
    existing = deps.store.get_link(deps.tenant, contact.id)
    if existing and existing.xero_contact_id == contact_id:
        return Linked(str(ref), existing, None, unchanged=True)
    if existing and not replace:
        raise UsageError(f"{ref} is already linked to {existing.xero_name or 'Xero contact'} "
                         f"({existing.xero_contact_id}); pass --replace to link "
                         f"{contact_id} instead")
    xero = deps.gateway.contact(contact_id)
    if not xero.active:
        raise UsageError(f"Xero contact {xero.name} is {xero.status.lower()}; link an "
                         "active contact")
    deps.store.upsert_xero_contacts(deps.tenant, [xero])
    new = Link(deps.tenant, contact.id, xero.contact_id, deps.user, deps.now(), xero.name,
               xero.email)
    replaced = deps.store.put_link(new, replace=replace)
    if replaced is not None and replaced.xero_contact_id != new.xero_contact_id and not replace:
        raise UsageError(f"{ref} was linked by someone else meanwhile; run again with --replace")
    return Linked(str(ref), new, replaced, unchanged=False)


def link_first(deps: Deps, ref: Ref, *, replace: bool) -> Linked:
    suggestions = suggest(deps, ref)
    if not suggestions:
        raise NotFoundError(f"no Xero contact looks like {ref}; try `xerolink search` or "
                            f"`xerolink create-contact {ref}`")
    return link(deps, ref, suggestions[0].contact.contact_id, replace=replace)


def unlink(store: Store, tenant_id: str, ref: Ref) -> Unlinked:
    contact = crm_contact(store, ref)
    existing = store.get_link(tenant_id, contact.id)
    if existing is None or not store.delete_link(tenant_id, contact.id):
        raise NotFoundError(f"{ref} is not linked")
    return Unlinked(str(ref), existing)


# -- create the Xero contact -------------------------------------------------------------
def prepare_contact(store: Store, ref: Ref, *, name: str | None, first_name: str | None,
                    last_name: str | None, email: str | None, phone: str | None
                    ) -> tuple[CrmContact, NewContact]:
    """What would be sent: the CRM record's fields, overridden by the flags, checked."""
    contact = crm_contact(store, ref)
    first = (first_name if first_name is not None else contact.first_name).strip()
    last = (last_name if last_name is not None else contact.last_name).strip()
    mail = (email if email is not None else contact.email).strip()
    chosen = (name if name is not None else (f"{first} {last}".strip() or mail)).strip()
    if not chosen:
        raise UsageError("the Xero contact needs a name: pass --name")
    for label, value, limit in (("name", chosen, 255), ("first name", first, 255),
                                ("last name", last, 255), ("email", mail, 255),
                                ("phone", (phone or contact.phone).strip(), 50)):
        if len(value) > limit or validation.has_unsafe(value):
            raise UsageError(f"the {label} must be at most {limit} characters of text")
        if label != "phone" and validation.looks_like_formula(value):
            # Refused at import, so refused here too: it would run in a spreadsheet.
            raise UsageError(f"the {label} starts with {value[0]!r}, which spreadsheets run "
                             "as a formula")
    if mail and not EMAIL.match(mail):
        raise UsageError(f"{mail!r} is not an email address")
    return contact, NewContact(chosen, first, last, mail, (phone or contact.phone).strip())


def create_contact(deps: Deps, ref: Ref, contact: CrmContact, new: NewContact, *,
                   replace: bool) -> ContactCreated:
    existing = deps.store.get_link(deps.tenant, contact.id)
    if existing and not replace:
        raise UsageError(f"contact:{contact.id} is already linked to {existing.xero_name} "
                         f"({existing.xero_contact_id}); pass --replace to link a new one")
    created = deps.gateway.put_contact(new, deps.gateway.new_idempotency_key())
    deps.store.upsert_xero_contacts(deps.tenant, [created])
    link_record = Link(deps.tenant, contact.id, created.contact_id, deps.user, deps.now(),
                       created.name, created.email)
    deps.store.put_link(link_record, replace=True)
    return ContactCreated(str(ref), link_record, new.as_xero(), deps.connection.tenant_name)


# -- auto-link ---------------------------------------------------------------------------
def estimate_sync_calls(deps: Deps) -> int:
    """The fewest calls ``sync_contacts`` makes: one for an incremental read; for a
    full read, a page per 1,000 contacts (the CRM's count standing in for Xero's,
    which is not known before reading)."""
    state = deps.store.get_sync_state(deps.tenant, CONTACTS)
    if state is not None and deps.store.get_sync_state(deps.tenant, FULL_SYNC) is None:
        return 1
    return max(1, -(-len(deps.store.unlinked_crm_contacts(deps.tenant)) // 1000))


def auto_link(deps: Deps, *, dry_run: bool, progress: XeroProgress | None = None,
              force: bool = False) -> AutoLinked:
    """Link every unlinked CRM contact whose email matches exactly one Xero contact."""
    from xerolink.services import budget

    budget.check(deps.connection, "auto-linking", estimate_sync_calls(deps), now=deps.now(),
                 force=force)
    calls_before = deps.calls_made()
    synced = sync_contacts(deps, progress)
    linked: list[dict[str, str]] = []
    ambiguous: list[dict[str, Any]] = []
    unmatched: list[dict[str, str]] = []
    by_email: dict[str, dict[str, XeroContact]] = {}
    for contact in deps.store.xero_contacts(deps.tenant):
        if not contact.active:
            continue
        for email in contact.emails:
            by_email.setdefault(email, {})[contact.contact_id] = contact
    already_linked = deps.store.count_links(deps.tenant)
    unlinked = deps.store.unlinked_crm_contacts(deps.tenant)
    for start in range(0, len(unlinked), BATCH):
        batch: list[Link] = []
        for crm in unlinked[start:start + BATCH]:
            ref = f"contact:{crm.id}"
            matches = by_email.get(crm.email.lower(), {}) if crm.email else {}
            if len(matches) == 1:
                xero = next(iter(matches.values()))
                batch.append(Link(deps.tenant, crm.id, xero.contact_id, deps.user, deps.now(),
                                  xero.name, xero.email))
                linked.append({"crm": ref, "email": crm.email,
                                      "xero_contact_id": xero.contact_id,
                                      "xero_name": xero.name})
            elif matches:
                ambiguous.append({"crm": ref, "email": crm.email, "candidates": [
                    {"xero_contact_id": c.contact_id, "xero_name": c.name}
                    for c in sorted(matches.values(), key=lambda c: c.name)]})
            else:
                unmatched.append({"crm": ref, "email": crm.email,
                                         "reason": "no email" if not crm.email
                                         else "no Xero contact has this email"})
        if batch and not dry_run:
            deps.store.add_links_if_unlinked(batch)  # committed batch by batch
    return AutoLinked(dry_run, linked, ambiguous, unmatched, already_linked, synced.fetched,
                      deps.calls_made() - calls_before)

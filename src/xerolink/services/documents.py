"""Keeping the local cache of quotes, invoices and bills current, in as few calls as
Xero's API allows.

Invoices and bills: a contact never read before is fetched with ``ContactIDs``
(batched as many to a call as keeps the URL under Xero's limit of about 2,048
characters, and split again if Xero still finds it too long), open statuses only,
``summaryOnly``,
1,000 a page. Contacts already read are kept current by one organisation-wide
``If-Modified-Since`` call. Quotes (filtered by Xero on one contact and one status at
a time, 100 a page, no page count) come per contact, or from a local copy of the
organisation's open quotes kept current the same way, whichever is fewer calls (see
``quote_reads.read_copy`` for the rule).

The watermark rule: a contact's documents are current as of its ``refreshed_at``;
the invoice watermark W is a time such that every change after W is fetched by the
next incremental call. Watermarks are taken five minutes before the work began, so
a modest clock difference with Xero loses nothing.

Quotes are optional: a connection or server that cannot read them (no Quotes
endpoint, or Xero's AuthorizationUnsuccessful for it) leaves the other four figures
intact, and the store remembers why quotes are unavailable until a read succeeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xerolink.services import quote_reads
from xerolink.services.context import Deps
from xerolink.services.outcomes import Refreshed
from xerolink.services.progress import XeroProgress
from xerolink.store.models import CachedDocument
from xerolink.vocabulary import (
    INVOICE_KINDS,
    OPEN_INVOICE_STATUSES,
    OPEN_QUOTE_STATUSES,
    DocumentKind,
)
from xerolink.xero.gateway import (
    UriTooLong,
    id_batch_size,
)
from xerolink.xero.http import MAX_IN_FLIGHT

INVOICES, QUOTES = "invoices", "quotes"
QUOTES_UNAVAILABLE = "quotes-unavailable"  # sync_state: why quotes cannot be read
MARGIN = timedelta(minutes=5)
QUOTE_COPY_THRESHOLD = 5  # this many contacts or fewer: always one quote read each
# More id batches than this: first ask for the organisation's open invoices and bills
# (one page tells how many pages there are) and read them all if that is fewer calls.
ORG_WIDE_MIN_BATCHES = 4



@dataclass
class RefreshStats:
    contacts: int = 0
    documents: int = 0
    calls_before: int = 0
    calls: int = 0


def _watermark(deps: Deps, resource: str) -> datetime | None:
    state = deps.store.get_sync_state(deps.tenant, resource)
    return datetime.fromisoformat(state[0]) if state and state[0] else None


def refresh_contacts(deps: Deps, contact_ids: list[str], *, single: bool = False,
                     progress: XeroProgress | None = None) -> RefreshStats:
    """Bring the cached documents of these Xero contacts up to date."""
    stats = RefreshStats(contacts=len(contact_ids), calls_before=deps.gateway.log.total)
    started = deps.now()
    ids = list(dict.fromkeys(c.lower() for c in contact_ids))
    watermark = _watermark(deps, INVOICES)
    refreshed = _refresh_times(deps, ids)
    if single:
        cold = ids
        covered: list[str] = []
    else:
        covered = [c for c in ids if watermark and c in refreshed
                   and refreshed[c] >= watermark]
        current = set(covered)
        cold = [c for c in ids if c not in current]
    if single and len(ids) == 1:
        _refresh_one(deps, ids[0], started)
        stats.documents = deps.store.count_documents_for_contacts(deps.tenant, ids)
        stats.calls = deps.gateway.log.total - stats.calls_before
        return stats
    done = 0
    phase = f"Invoices and bills of {len(ids):,} contacts"
    if progress:
        progress(done, len(ids), phase)
    if covered and watermark is not None:
        _invoices_since(deps, watermark, started)
        done += len(covered)
        if progress:
            progress(done, len(ids), phase)
    batches = batches_of(deps, cold)
    org_wide = org_wide_open_invoices(deps, cold, len(batches)) \
        if len(batches) > ORG_WIDE_MIN_BATCHES else None
    if org_wide is not None:
        deps.store.replace_contact_documents(deps.tenant, cold, INVOICE_KINDS,
                                             org_wide, refreshed_at=started)
        batches = []
        done += len(cold)
        if progress:
            progress(done, len(ids), phase)
    for batch, documents in read_batches(deps, batches):
        deps.store.replace_contact_documents(deps.tenant, batch, INVOICE_KINDS,
                                             documents, refreshed_at=started)
        done += len(batch)
        if progress:
            progress(done, len(ids), phase)
    if not single and (watermark is None or covered):
        # Every contact read now is current as of ``started``; so is everyone the
        # incremental call covered. Changes after this watermark come next time.
        deps.store.set_sync_state(deps.tenant, INVOICES, (started - MARGIN).isoformat(),
                                  started.isoformat())
    if progress:  # Xero's Quotes pages say no page count: a phase without a total
        progress(0, None, "Open quotes")
    _refresh_quotes(deps, ids, started)
    if progress:
        progress(1, 1, "Open quotes")
    stats.documents = deps.store.count_documents_for_contacts(deps.tenant, ids)
    stats.calls = deps.gateway.log.total - stats.calls_before
    return stats


def estimate_calls(deps: Deps, contact_ids: list[str]) -> int:
    """The fewest calls ``refresh_contacts`` will make for these contacts (more if a
    batch or the quote copy runs to several pages): the incremental call for the
    contacts already current, one per id batch for the rest, and the quotes."""
    ids = list(dict.fromkeys(c.lower() for c in contact_ids))
    if not ids:
        return 0
    watermark = _watermark(deps, INVOICES)
    refreshed = _refresh_times(deps, ids)
    covered = [c for c in ids if watermark and c in refreshed and refreshed[c] >= watermark]
    cold = len(ids) - len(covered)
    size = id_batch_size(deps.connection.xero_url)
    calls = (1 if covered else 0) + -(-cold // size)
    if _watermark(deps, QUOTES) is not None:
        return calls + 1
    return calls + (len(ids) if len(ids) <= QUOTE_COPY_THRESHOLD
                    else len(OPEN_QUOTE_STATUSES))


def _refresh_times(deps: Deps, ids: list[str]) -> dict[str, datetime]:
    """The contacts' last reads: by id for a few, the whole table for many."""
    return deps.store.contact_refresh_times(deps.tenant, ids if len(ids) <= 2000 else None)


def refresh_all(deps: Deps, *, force: bool, progress: XeroProgress | None = None
                ) -> Refreshed:
    """Every linked contact's documents (and the organisation's payments and credit),
    after checking the job fits in what is left
    of Xero's daily allowance (``--force`` skips the check)."""
    from xerolink.formats import local_date
    from xerolink.services import budget, settlements

    contacts = sorted({v.link.xero_contact_id for v in deps.store.list_link_views(deps.tenant)})
    budget.check(deps.connection, f"refreshing {len(contacts)} linked contacts",
                 estimate_calls(deps, contacts) + settlements.READS, now=deps.now(),
                 force=force)
    stats = refresh_contacts(deps, contacts, progress=progress)
    # What was paid and what credit is left, for the summaries and `crm push`.
    settlements.refresh(deps, local_date(deps.now(), deps.connection.timezone))
    calls = deps.gateway.log.total - stats.calls_before
    return Refreshed("all", stats.contacts, stats.documents, calls)


def _refresh_one(deps: Deps, contact_id: str, started: datetime) -> None:
    """One contact: its invoices and its quotes fetched at the same time (two calls in
    about one round trip), then written together. The quotes come from the contact's
    own list, or, once the organisation's quote copy exists (after a company or
    ``--all`` refresh), from the copy's incremental read, which covers this contact."""
    from concurrent.futures import ThreadPoolExecutor

    quote_watermark = _watermark(deps, QUOTES)
    quote_filter: dict[str, object] = (
        {"modified_since": quote_watermark} if quote_watermark is not None
        else {"contact_id": contact_id})
    gateway = deps.gateway  # made once, before two threads share it
    gateway.tokens.access_token()  # and the token refreshed, if due, by one thread
    with ThreadPoolExecutor(max_workers=2) as pool:
        invoices = pool.submit(read_invoice_pages, deps,
                               contact_ids=[contact_id],
                               statuses=OPEN_INVOICE_STATUSES)
        quotes = pool.submit(quote_reads.read_optional, deps, **quote_filter)
        documents, (quote_docs, why) = invoices.result(), quotes.result()
    deps.store.replace_contact_documents(deps.tenant, [contact_id], INVOICE_KINDS,
                                         documents, refreshed_at=started)
    _note_quotes(deps, why)
    if quote_docs is None:
        return
    if quote_watermark is not None:
        _apply_changes(deps, quote_docs, OPEN_QUOTE_STATUSES)
        deps.store.set_sync_state(deps.tenant, QUOTES, (started - MARGIN).isoformat(),
                                  started.isoformat())
    else:
        deps.store.replace_contact_documents(
            deps.tenant, [contact_id], ("quote",),
            [q for q in quote_docs if q.status in OPEN_QUOTE_STATUSES],
            refreshed_at=None)


def quotes_unavailable(deps: Deps) -> str | None:
    """Why this connection cannot read quotes, or None if it can (or never tried)."""
    state = deps.store.get_sync_state(deps.tenant, QUOTES_UNAVAILABLE)
    return state[0] if state else None


def _note_quotes(deps: Deps, why: str | None) -> None:
    """Remember why quotes cannot be read, or forget it once they can."""
    if why is not None or quotes_unavailable(deps):
        deps.store.set_sync_state(deps.tenant, QUOTES_UNAVAILABLE, why,
                                  deps.now().isoformat())


def _optional_quotes(deps: Deps, **filters: object) -> list[CachedDocument] | None:
    """Quotes, or None (and the reason remembered) when they cannot be read."""
    quotes, why = quote_reads.read_optional(deps, **filters)
    _note_quotes(deps, why)
    return quotes


def _invoices_since(deps: Deps, watermark: datetime, started: datetime) -> None:
    """One organisation-wide incremental read, applied to every current contact."""
    changed = read_invoice_pages(deps, modified_since=watermark)
    current = {c for c, at in deps.store.contact_refresh_times(deps.tenant).items()
               if at >= watermark}
    _apply_changes(deps, [d for d in changed if d.xero_contact_id in current],
                   OPEN_INVOICE_STATUSES)
    deps.store.mark_contacts_current(deps.tenant, watermark, started)


def _apply_changes(deps: Deps, changed: list[CachedDocument], open_statuses: tuple[str, ...]
                   ) -> None:
    """Documents Xero says changed: the ones still open are cached, the rest (paid,
    voided, accepted, deleted...) leave the cache."""
    deps.store.apply_document_changes(
        deps.tenant, [d for d in changed if d.status in open_statuses],
        [d.document_id for d in changed if d.status not in open_statuses])


def _refresh_quotes(deps: Deps, contact_ids: list[str], started: datetime) -> None:
    watermark = _watermark(deps, QUOTES)
    if watermark is not None:
        changed = _optional_quotes(deps, modified_since=watermark)
        if changed is None:
            return
        _apply_changes(deps, changed, OPEN_QUOTE_STATUSES)
    else:
        copy, why = (None, None) if len(contact_ids) <= QUOTE_COPY_THRESHOLD \
            else quote_reads.read_copy(deps, len(contact_ids))
        if why is None and copy is None:  # per contact is fewer calls
            _quotes_per_contact(deps, contact_ids)
            return
        _note_quotes(deps, why)
        if copy is None:
            return
        deps.store.replace_all_documents(deps.tenant, "quote", copy)
    deps.store.set_sync_state(deps.tenant, QUOTES, (started - MARGIN).isoformat(),
                              started.isoformat())


def _quotes_per_contact(deps: Deps, contact_ids: list[str]) -> None:
    """Each contact's open quotes, one read a contact."""
    quotes, why = quote_reads.per_contact(deps, contact_ids)
    _note_quotes(deps, why)
    if quotes is not None:
        deps.store.replace_contact_documents(deps.tenant, contact_ids, ("quote",), quotes,
                                             refreshed_at=None)


def refresh_documents(deps: Deps, document_ids: list[tuple[str, str]]) -> int:
    """Re-read specific documents (a deal's): invoices and bills by IDs in batches,
    quotes one by one unless the quote copy is current. Returns documents read."""
    now = deps.now()
    invoice_ids = [d for d, kind in document_ids if kind in INVOICE_KINDS]
    read: list[CachedDocument] = []
    for batch in batches_of(deps, invoice_ids):
        read += split_on_too_long(deps, "ids", batch)
    quote_ids = [d for d, kind in document_ids if kind == DocumentKind.QUOTE]
    if quote_ids and _watermark(deps, QUOTES) is not None:
        _refresh_quotes(deps, [], now)
        cached = {d.document_id for d in deps.store.documents_by_ids(deps.tenant, quote_ids)}
        quote_ids = [q for q in quote_ids if q not in cached]
    for quote_id in quote_ids:
        read.append(deps.gateway.quote(quote_id, now, deps.connection.base_currency))
    deps.store.apply_document_changes(deps.tenant, read, [])
    return len(read)


def find(deps: Deps, document_ids: list[str]) -> dict[str, CachedDocument]:
    """Documents by id, from the cache or else from Xero: invoices and bills by IDs (one
    call per batch), then one update of the quote copy if there is one, then any still
    unknown as quotes one by one. Unknown ids raise NotFoundError."""
    from xerolink.errors import NotFoundError

    wanted = list(dict.fromkeys(d.lower() for d in document_ids))

    def known() -> dict[str, CachedDocument]:
        return {d.document_id: d for d in deps.store.documents_by_ids(deps.tenant, wanted)}

    found = known()
    if len(found) < len(wanted):
        refresh_documents(deps, [(d, DocumentKind.INVOICE) for d in wanted if d not in found])
        found = known()
    if len(found) < len(wanted) and _watermark(deps, QUOTES) is not None:
        _refresh_quotes(deps, [], deps.now())
        found = known()
    now = deps.now()
    for document_id in [d for d in wanted if d not in found]:
        try:
            document = deps.gateway.quote(document_id, now, deps.connection.base_currency)
        except NotFoundError:
            raise NotFoundError(f"Xero has no quote, invoice or bill {document_id}") from None
        deps.store.apply_document_changes(deps.tenant, [document], [])
        found[document_id] = document
    return found


# -- invoices and bills in as few calls as Xero allows ---------------------------------
# By id batches (the URL kept under Xero's limit, halved if Xero still finds it too
# long, five in flight), or, when that is fewer calls, as the organisation's open
# invoices.
def org_wide_open_invoices(deps: Deps, contact_ids: list[str], batches: int
                            ) -> list[CachedDocument] | None:
    """The open invoices and bills of these contacts, read as the organisation's open
    invoices (1,000 a page) when that takes fewer calls than ``batches`` id-list
    calls; None when it would not (at worst one call is spent, and the id batches
    follow)."""
    found = deps.gateway.open_invoices(deps.now(), deps.connection.base_currency,
                                       fewer_pages_than=batches)
    if found is None:
        return None
    wanted = set(contact_ids)
    return [d for d in found if d.xero_contact_id in wanted]


def batches_of(deps: Deps, ids: list[str]) -> list[list[str]]:
    size = id_batch_size(deps.connection.xero_url)
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def split_on_too_long(deps: Deps, key: str, ids: list[str], **filters: object
                       ) -> list[CachedDocument]:
    """Invoices for an id list; if Xero finds the URL too long after all (it answers
    404, 400 or 414), the list is halved and each half asked for (at most log2(n)
    levels, since one id always fits)."""
    try:
        return read_invoice_pages(deps, **{key: ids}, **filters)
    except UriTooLong:
        if len(ids) == 1:
            raise
        half = len(ids) // 2
        return (split_on_too_long(deps, key, ids[:half], **filters)
                + split_on_too_long(deps, key, ids[half:], **filters))


def read_batches(deps: Deps, batches: list[list[str]]
                  ) -> Iterator[tuple[list[str], list[CachedDocument]]]:
    """Each batch of contacts with its open invoices and bills, read up to five at a
    time (Xero's limit in flight, which the gateway also holds); the caller writes
    each as it arrives, on its own thread."""
    if not batches:
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    deps.gateway.tokens.access_token()  # made, and refreshed if due, by one thread
    pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT)
    try:
        futures = {pool.submit(split_on_too_long, deps, "contact_ids", batch,
                               statuses=OPEN_INVOICE_STATUSES): batch
                   for batch in batches}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def read_invoice_pages(deps: Deps, **filters: Any) -> list[CachedDocument]:
    return deps.gateway.invoices(deps.now(), deps.connection.base_currency, **filters)

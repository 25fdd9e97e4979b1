"""Reading quotes in as few calls as Xero allows. Xero filters Quotes on one contact or
one status at a time, 100 a page, with no page count; so a set of contacts costs
either one read a contact or the organisation's open quotes (one page per 100 of
each open status, and an empty page after a full last one). ``read_copy`` chooses
between them. Nothing here touches the store, so reads may run on worker threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xerolink.services.context import Deps
from xerolink.store.models import CachedDocument
from xerolink.vocabulary import OPEN_QUOTE_STATUSES
from xerolink.xero import models
from xerolink.xero.gateway import QUOTES_PAGE, EndpointUnavailable, ScopeMissing, XeroPage
from xerolink.xero.http import MAX_IN_FLIGHT

# Open quotes per contact, for estimating how many pages the organisation's quote copy
# runs to before reading it. A tenth is the benchmarks' organisations, whose
# per-contact and copy costs were measured at 1,000 to 100,000 contacts
# (benchmarks/update.py); an organisation far from it costs at most about twice the
# cheaper choice, because a copy that runs longer than the per-contact reads is left.
OPEN_QUOTES_PER_CONTACT = 0.1

Read = tuple[list[CachedDocument] | None, str | None]  # (quotes, None) or (None, why)


def read_pages(deps: Deps, **filters: Any) -> list[CachedDocument]:
    return deps.gateway.quotes(deps.now(), deps.connection.base_currency, **filters)


def read_optional(deps: Deps, **filters: object) -> Read:
    """(quotes, None), or (None, why) when this connection cannot read quotes."""
    try:
        return read_pages(deps, **filters), None
    except (EndpointUnavailable, ScopeMissing) as exc:
        return None, str(exc)


def per_contact(deps: Deps, contact_ids: list[str]) -> Read:
    """The contacts' open quotes, one read a contact, five in flight."""
    from concurrent.futures import ThreadPoolExecutor

    if not contact_ids:
        return [], None
    deps.gateway.tokens.access_token()  # made, and refreshed if due, by one thread
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(contact_ids))) as pool:
        reads = list(pool.map(lambda c: read_optional(deps, contact_id=c), contact_ids))
    why = next((reason for quotes, reason in reads if quotes is None), None)
    if why is not None:
        return None, why
    return [q for quotes, _ in reads for q in quotes or []
            if q.status in OPEN_QUOTE_STATUSES], None


def expected_copy_pages(organisation_contacts: int) -> int:
    """The pages one open status of the quote copy is expected to run to, given a full
    first page: at least two (a full page is never known to be the last)."""
    per_status = organisation_contacts * OPEN_QUOTES_PER_CONTACT \
        / len(OPEN_QUOTE_STATUSES)
    return max(2, int(per_status // QUOTES_PAGE) + 1)


def read_copy(deps: Deps, contacts: int) -> Read:
    """The organisation's open quotes when that is fewer calls than ``contacts``
    per-contact reads; (None, None) when it is not. The rule: the first page of each
    open status is read (two calls at once); a short one is that status complete.
    For a full one the pages still to come are estimated from the organisation's
    contact count (the store's copy of Xero's contacts, complete after ``link
    --auto``); if they are more than ``contacts``, the per-contact reads win. A copy
    that runs past its share of ``contacts`` pages is left for them, so a wrong
    estimate costs at most about twice the cheaper choice."""
    from concurrent.futures import ThreadPoolExecutor

    statuses = OPEN_QUOTE_STATUSES
    deps.gateway.tokens.access_token()  # made, and refreshed if due, by one thread
    pages = {status: deps.gateway.quote_pages(status=status) for status in statuses}
    organisation = deps.store.count_xero_contacts(deps.tenant)
    try:
        with ThreadPoolExecutor(max_workers=len(statuses)) as pool:
            firsts = list(pool.map(lambda status: next(pages[status]).items, statuses))
            full = [s for s, items in zip(statuses, firsts, strict=True)
                    if len(items) >= QUOTES_PAGE]
            if full and (expected_copy_pages(organisation) - 1) * len(full) > contacts:
                return None, None
            share = max(1, contacts // max(1, len(full)))
            rest = list(pool.map(lambda status: _rest_of_copy(pages[status], share), full))
    except (EndpointUnavailable, ScopeMissing) as exc:
        return None, str(exc)
    if any(items is None for items in rest):
        return None, None
    now, base = deps.now(), deps.connection.base_currency
    raw = [q for items in firsts for q in items] + [q for items in rest for q in items or []]
    return [models.quote(q, now, base_currency=base) for q in raw], None


def _rest_of_copy(pages: Iterator[XeroPage], limit: int) -> list[dict[str, Any]] | None:
    """The pages after the first, or None when ``limit`` of them are not the end."""
    from itertools import islice

    items: list[dict[str, Any]] = []
    read, more = 0, True
    for page in islice(pages, limit):
        items += page.items
        read, more = read + 1, len(page.items) >= QUOTES_PAGE
    return None if read == limit and more else items

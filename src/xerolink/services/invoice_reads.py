"""Reading invoices and bills in as few calls as Xero allows: by id batches (the URL
kept under Xero's limit, halved if Xero still finds it too long, five in flight), or,
when that is fewer calls, as the organisation's open invoices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xerolink.services.context import Deps
from xerolink.store.records import CachedDocument
from xerolink.vocabulary import OPEN_INVOICE_STATUSES
from xerolink.xero import models
from xerolink.xero.gateway import INVOICES_PAGE, UriTooLong, id_batch_size
from xerolink.xero.http import MAX_IN_FLIGHT


def org_wide_open_invoices(deps: Deps, contact_ids: list[str], batches: int
                            ) -> list[CachedDocument] | None:
    """The open invoices and bills of these contacts, read as the organisation's open
    invoices (1,000 a page) when that takes fewer calls than ``batches`` id-list
    calls; None when it would not. The first page's ``pagination.pageCount`` decides
    (a full first page without one leaves the count unknown): at worst that one call
    is spent and the id batches follow."""
    from concurrent.futures import ThreadPoolExecutor

    gateway, now, wanted = deps.gateway, deps.now(), set(contact_ids)
    first, count = gateway.invoices_page(1, statuses=OPEN_INVOICE_STATUSES)
    if count is None:  # no pagination block: one page if short, else unknown
        if len(first) >= INVOICES_PAGE:
            return None  # how many pages is unknown: the id batches (one call spent)
        count = 1
    if count >= batches:
        return None

    def page(number: int) -> list[dict[str, Any]]:
        return gateway.invoices_page(number, statuses=OPEN_INVOICE_STATUSES)[0]

    raw = list(first)
    if count > 1:
        with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
            for items in pool.map(page, range(2, count + 1)):
                raw += items
    base = deps.connection.base_currency
    documents = [models.invoice(d, now, base_currency=base) for d in raw]
    return [d for d in documents if d.xero_contact_id in wanted]


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
    now = deps.now()
    base = deps.connection.base_currency
    return [models.invoice(d, now, base_currency=base)
            for page in deps.gateway.invoice_pages(**filters) for d in page.items]

"""What was paid, and what credit is left: the organisation's payments and its credit
notes, overpayments and prepayments, cached and kept current in a fixed number of calls.

Each of the four lists is read organisation-wide (1,000 a page), once whole and then
incrementally with ``If-Modified-Since``, like the open documents (documents.py): a
refresh with nothing changed costs four calls, however many contacts it covers.

- Payments: the first read asks Xero for AUTHORISED payments dated from the earliest
  day wanted (``where`` on Date and Status): the summary's 90 days, or an earlier
  ``details --paid --since``. The cache then covers from that day (its floor, in
  sync_state). Later reads ask for every payment changed since the watermark and
  dated from the floor on, with no status filter, so a deleted payment arrives and
  leaves the cache.
- Credit: the first read of each list asks for AUTHORISED ones (where credit is left:
  Xero marks a credit PAID once none is); later reads take every change, and keep
  what has RemainingCredit above 0 in CREDIT_STATUSES, dropping the rest.

A connection without the scope a list needs (accounting.payments.read for Payments,
Overpayments and Prepayments) leaves the figures it feeds unavailable, with the
reconnect command as the reason, and the five intact; ``details --paid`` fails with it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from xerolink.errors import NotConnectedError, XeroUnreachableError
from xerolink.services.context import Deps
from xerolink.store.models import CachedCredit, CachedPayment
from xerolink.vocabulary import (
    CREDIT_STATUSES,
    PAID_WINDOW_DAYS,
    PAYMENT_STATUS,
)
from xerolink.xero.gateway import EndpointUnavailable, ScopeMissing

MARGIN = timedelta(minutes=5)  # as documents.MARGIN: a modest clock difference loses nothing
PAYMENTS = "payments"  # sync_state: the payments' watermark
PAYMENTS_FROM = "payments-from"  # sync_state: the earliest payment date the cache covers
CREDIT_SOURCES = ("credit_note", "overpayment", "prepayment")
PAID_UNAVAILABLE = "paid-unavailable"  # sync_state: why payments cannot be read
CREDIT_UNAVAILABLE = "credit-unavailable"  # ... or credit
READS = 1 + len(CREDIT_SOURCES)  # what a refresh with nothing changed costs
# The lists are the organisation's, not a contact's: a contact's refresh reads them again
# once they are this old (Xero's rate window), so a burst of refreshes costs READS calls a
# minute for them, not READS each. refresh --all, details --paid --refresh and each
# crm update pass read them whatever their age.
FRESH_FOR = timedelta(seconds=60)


def window_start(today: date) -> date:
    """The first day of the summary's "paid" figures: 90 days before today."""
    return today - timedelta(days=PAID_WINDOW_DAYS)


@dataclass
class _Read:
    """What one of the four reads brought: its records, or why it could not be made."""

    records: list[Any] = field(default_factory=list)
    why: str | None = None
    whole: bool = False


def _watermark(deps: Deps, resource: str) -> datetime | None:
    state = deps.store.get_sync_state(deps.tenant, resource)
    return datetime.fromisoformat(state[0]) if state and state[0] else None


def synced_at(deps: Deps) -> datetime | None:
    """When the payments were last read (the paid and credit figures' age)."""
    state = deps.store.get_sync_state(deps.tenant, PAYMENTS)
    return datetime.fromisoformat(state[1]) if state else None


def read_lately(deps: Deps) -> bool:
    """Whether the lists were read less than FRESH_FOR ago (a clock set back: not)."""
    at = synced_at(deps)
    return at is not None and timedelta(0) <= deps.now() - at < FRESH_FOR


def payments_floor(deps: Deps) -> date | None:
    state = deps.store.get_sync_state(deps.tenant, PAYMENTS_FROM)
    return date.fromisoformat(state[0]) if state and state[0] else None


def _optional(read: Callable[[], list[Any]], whole: bool) -> _Read:
    try:
        return _Read(read(), whole=whole)
    except (ScopeMissing, EndpointUnavailable) as exc:
        return _Read(why=str(exc))


def refresh(deps: Deps, today: date, *, since: date | None = None,
            credit: bool = True) -> None:
    """Bring the payments (from ``since``, or the summary's window) and, unless not
    ``credit``, the credit up to date: four reads at once, written here, on the
    calling thread."""
    started = deps.now()
    wanted_from = min(since or window_start(today), window_start(today))
    floor, watermark = payments_floor(deps), _watermark(deps, PAYMENTS)
    whole = watermark is None or floor is None or wanted_from < floor
    base = deps.connection.base_currency
    gateway = deps.gateway
    gateway.tokens.access_token()  # made, and refreshed if due, by one thread

    def payments() -> list[CachedPayment]:
        if whole:
            return gateway.payments(started, base, since=wanted_from, status=PAYMENT_STATUS)
        return gateway.payments(started, base, since=floor or wanted_from,
                                modified_since=watermark)

    def credits(source: str, mark: datetime | None) -> Callable[[], list[CachedCredit]]:
        if mark is None:
            return lambda: gateway.credits(source, started, base,
                                           status=CREDIT_STATUSES[0])
        return lambda: gateway.credits(source, started, base, modified_since=mark)

    marks = {s: _watermark(deps, f"credit:{s}") for s in CREDIT_SOURCES if credit}
    with ThreadPoolExecutor(max_workers=READS) as pool:
        paid = pool.submit(_optional, payments, whole)
        left = {s: pool.submit(_optional, credits(s, mark), mark is None)
                for s, mark in marks.items()}
        paid_read, credit_reads = paid.result(), {s: f.result() for s, f in left.items()}
    _keep_payments(deps, paid_read, wanted_from if whole else None, started)
    if credit_reads:
        _keep_credit(deps, credit_reads, started)


def _note(deps: Deps, resource: str, why: str | None) -> None:
    """Remember why a list cannot be read, or forget it once it can."""
    if why is not None or unavailable(deps, resource):
        deps.store.set_sync_state(deps.tenant, resource, why, deps.now().isoformat())


def unavailable(deps: Deps, resource: str) -> str | None:
    """Why this connection cannot read payments (PAID_UNAVAILABLE) or credit
    (CREDIT_UNAVAILABLE), or None if it can (or never tried)."""
    state = deps.store.get_sync_state(deps.tenant, resource)
    return state[0] if state else None


def _keep_payments(deps: Deps, read: _Read, replace_from: date | None,
                   started: datetime) -> None:
    _note(deps, PAID_UNAVAILABLE, read.why)
    if read.why is not None:
        return
    counted = [p for p in read.records if p.status == PAYMENT_STATUS]
    gone = [p.payment_id for p in read.records if p.status != PAYMENT_STATUS]
    deps.store.apply_payment_changes(deps.tenant, counted, gone, replace_from=replace_from)
    if replace_from is not None:
        deps.store.set_sync_state(deps.tenant, PAYMENTS_FROM, replace_from.isoformat(),
                                  started.isoformat())
    deps.store.set_sync_state(deps.tenant, PAYMENTS, (started - MARGIN).isoformat(),
                              started.isoformat())


def has_credit(credit: CachedCredit) -> bool:
    return credit.status in CREDIT_STATUSES and credit.remaining > 0


def _keep_credit(deps: Deps, reads: dict[str, _Read], started: datetime) -> None:
    why = next((r.why for r in reads.values() if r.why is not None), None)
    _note(deps, CREDIT_UNAVAILABLE, why)
    for source, read in reads.items():
        if read.why is not None:
            continue
        kept = [c for c in read.records if has_credit(c)]
        gone = [c.credit_id for c in read.records if not has_credit(c)]
        deps.store.apply_credit_changes(deps.tenant, source, kept, gone, replace=read.whole)
        deps.store.set_sync_state(deps.tenant, f"credit:{source}",
                                  (started - MARGIN).isoformat(), started.isoformat())


def ensure_since(deps: Deps, today: date, since: date, *, refresh_now: bool
                 ) -> tuple[bool, str | None]:
    """Payments cached from ``since``: read now (the Payments list alone, one call
    when current) if asked, never read, or if the cache begins later (an earlier
    ``--since`` than any before). Returns (stale, problem): Xero unreachable with a
    cache that covers ``since`` is the cache's answer, marked stale."""
    floor = payments_floor(deps)
    stale, problem = False, None
    if refresh_now or floor is None or since < floor:
        try:
            refresh(deps, today, since=since, credit=False)
        except XeroUnreachableError as exc:
            if floor is None or since < floor:
                raise
            stale, problem = True, str(exc)
    why = unavailable(deps, PAID_UNAVAILABLE)
    if why:
        raise NotConnectedError(f"payments cannot be read: {why}")
    return stale, problem

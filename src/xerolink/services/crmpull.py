"""``crm pull``: a live CRM source's contacts, companies and deals into the store.

The first pull of a kind reads every record, by id. Later pulls read only what changed
since the newest modification seen (less a margin: Salesmate filters to the minute, in
the account's timezone, which xerolink does not know), and count the kind once: when
the count is not what the store plus the new records make, something was deleted at
the source, and a full read finds what. A record missing from a full read is marked
gone only when the source, asked for it by id, says it has no such record; a read
whose pages do not add up (a short page, a record twice, more records than counted,
a count that changes between pages, a missing record the source still has) fails the
pull: exit 9, nothing written, nothing marked. Only records that are new, or whose
values xerolink keeps changed, are written and counted: a record whose only change is
its modification time (xerolink's own push, an edit of a field xerolink does not read)
keeps its new time and nothing else. Everything a pull learnt is written in one
transaction: an interrupted pull changes nothing.

The server's clock is not trusted either: a modification time later than now never
moves the watermark. Every pull is bounded in pages (what the first count allows) and
in wall time (``deadline``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NoReturn

from xerolink.crmsource.base import KINDS, CrmSource, Pulled
from xerolink.errors import CrmUnreachableError
from xerolink.formats import natural
from xerolink.results import Result
from xerolink.services.progress import CrmProgress
from xerolink.store import Store
from xerolink.store.crmsource import PullBatch, SourceRecord
from xerolink.store.models import CrmCompany, CrmContact, CrmDeal
from xerolink.vocabulary import PLURALS, RecordKind

# Salesmate reads filter dates in the account's timezone (UTC-12 to UTC+14), to the
# minute: starting 14 hours before the newest change seen misses nothing.
MARGIN = timedelta(hours=14)
PULL_DEADLINE = 3600.0  # seconds: a pull still reading after this stops, changing nothing
MAX_GONE_CHECKS = 200  # records missing from a full read asked for by id, per kind a pull


@dataclass
class KindPulled:
    kind: str
    full: bool  # every record was read (a first pull, or deletions to find)
    read: int = 0  # records the source sent
    written: int = 0  # records new or changed, written to the store
    gone: list[str] = field(default_factory=list)  # ids the source no longer has
    calls: int = 0
    # missing from the read but not yet asked for by id: still live, asked next pull
    unconfirmed: int = 0
    changed_ids: list[str] = field(default_factory=list)  # the records written
    counted: bool = False  # deletions were looked for (a count, or a full read)

    def to_json(self) -> dict[str, object]:
        return {"full": self.full, "read": self.read, "written": self.written,
                "gone": [f"{self.kind}:{i}" for i in self.gone], "calls": self.calls,
                "gone_unconfirmed": self.unconfirmed}


@dataclass
class PullReport(Result):
    """What ``crm pull`` did, per kind. ``to_json()`` is ``crm pull --json``."""

    source: str
    account: str
    kinds: dict[str, KindPulled]

    @property
    def calls(self) -> int:
        return sum(k.calls for k in self.kinds.values())

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "account": self.account, "calls": self.calls,
                **{PLURALS[k]: v.to_json() for k, v in self.kinds.items()}}


@dataclass(frozen=True)
class _Deadline:
    """When a pull must have finished by, on a monotonic clock."""

    at: float
    seconds: float
    clock: Callable[[], float]

    def check(self, source: str) -> None:
        if self.clock() >= self.at:
            raise CrmUnreachableError(
                f"the pull from {source} did not finish within {self.seconds:g} s; nothing "
                "was changed; try again later")


def pull(store: Store, source: CrmSource, *, fields: Mapping[str, Sequence[str]],
         now: datetime, full: bool = False, progress: CrmProgress | None = None,
         deadline: float = PULL_DEADLINE, clock: Callable[[], float] = time.monotonic,
         count: bool = True, apply: bool = True) -> PullReport:
    """Pull every kind (``full``: every record, whatever the watermarks); writes nothing
    unless all of them were read, within ``deadline`` seconds. ``count=False`` skips the
    count that looks for deletions (a call a kind: ``crm update`` looks once an hour);
    ``apply=False`` reads and writes nothing (a dry run)."""
    batch = PullBatch(source.name)
    report = PullReport(source.name, source.account, {})
    stop = _Deadline(clock() + deadline, deadline, clock)
    for kind in KINDS:
        before = sum(source.calls.values())
        report.kinds[kind] = _pull_kind(store, source, kind, tuple(fields.get(kind, ())),
                                        batch, progress, stop, now=now, full=full,
                                        count=count)
        report.kinds[kind].calls = sum(source.calls.values()) - before
    if apply:
        store.apply_pull(batch, now)
    return report


def _pull_kind(store: Store, source: CrmSource, kind: str, fields: tuple[str, ...],
               batch: PullBatch, progress: CrmProgress | None, stop: _Deadline, *,
               now: datetime, full: bool, count: bool = True) -> KindPulled:
    watermark = _watermark(store.source_watermark(source.name, kind), now)
    live = store.live_source_ids(source.name, kind)
    since = None if watermark is None or full else watermark - MARGIN
    result = KindPulled(kind, full=since is None)
    seen = _read(source, kind, since, fields, progress, stop)
    result.counted = since is None or count
    if since is not None and count:
        added = sum(1 for i in seen if i not in live)
        stop.check(source.name)
        if source.count(kind) != len(live) + added:  # deleted (or missed) at the source
            result.full = True
            seen.update(_read(source, kind, None, fields, progress, stop))
    if result.full:
        result.gone, result.unconfirmed = _confirm_gone(source, kind, live - seen.keys(),
                                                        stop)
    result.read = len(seen)
    stored = _stored(store, kind)
    known = store.source_records(source.name, kind, seen.keys())  # what was read, as kept
    verdicts = {r.id: _change(r, known.get(r.id), live, fields, stored) for r in seen.values()}
    changed = [r for r in seen.values() if verdicts[r.id] == CHANGED]
    result.written = len(changed)
    result.changed_ids = [r.id for r in changed]
    for r in seen.values():  # a touched record's new time is kept, nothing else
        if verdicts[r.id] == TOUCHED:
            batch.records.append(SourceRecord(kind, r.id, r.modified_at.isoformat(), r.echo,
                                              known[r.id].fields))
    for r in changed:
        if kind == RecordKind.CONTACT:
            assert isinstance(r.record, CrmContact)
            batch.contacts.append(r.record)
        elif kind == RecordKind.COMPANY:
            assert isinstance(r.record, CrmCompany)
            batch.companies.append(r.record)
        else:
            assert isinstance(r.record, CrmDeal)
            batch.deals.append(r.record)
        batch.records.append(SourceRecord(kind, r.id, r.modified_at.isoformat(), r.echo,
                                          {**(known[r.id].fields if r.id in known else {}),
                                           **r.fields}))
    if result.gone:
        batch.gone[kind] = set(result.gone)
    # a time later than now (a server's clock, a record stamped 2099) never moves it
    times = [r.modified_at for r in seen.values() if r.modified_at <= now]
    if watermark is not None:
        times.append(watermark)
    batch.watermarks[kind] = max(times).isoformat() if times else None
    return result


def _watermark(stored: str | None, now: datetime) -> datetime | None:
    """The stored watermark; None (read everything) when it is unreadable or later than
    now, which only a server's bad clock can have put there."""
    try:
        mark = datetime.fromisoformat(stored) if stored else None
    except ValueError:
        return None
    if mark is None or mark.tzinfo is None or mark > now:
        return None
    return mark


def _confirm_gone(source: CrmSource, kind: str, missing: set[str], stop: _Deadline
                  ) -> tuple[list[str], int]:
    """Of the live records a full read did not return, those the source, asked by id,
    says it has no more (at most ``MAX_GONE_CHECKS``; the rest stay live until the
    next pull asks). One it still has means the read was not whole: the pull fails."""
    candidates = sorted(missing, key=natural)
    gone: list[str] = []
    for record_id in candidates[:MAX_GONE_CHECKS]:
        stop.check(source.name)
        if source.current(kind, record_id) is not None:
            raise CrmUnreachableError(
                f"{_name(source)}'s list of {PLURALS[kind]} left out {kind}:{record_id}, "
                "which it still has (records added or deleted while the pages were read "
                "shift them); nothing was changed or marked gone; try again")
        gone.append(record_id)
    return gone, len(candidates) - len(gone)


def _name(source: CrmSource) -> str:
    return source.name.capitalize()


CHANGED, TOUCHED = "changed", "touched"


def _change(record: Pulled, known: SourceRecord | None, live: set[str],
            fields: tuple[str, ...], stored: Callable[[str], object]) -> str | None:
    """CHANGED: new, or something xerolink keeps differs (written, counted, relinked
    and refreshed by ``crm update``). TOUCHED: only the source's modification time
    moved, every value xerolink keeps (the record, the values an update repeats, the
    pushed fields) being what it holds: xerolink's own push, or an edit of a field it
    does not read. Only the time is kept. None: as it was."""
    if known is None or record.id not in live:
        return CHANGED
    if any(known.fields.get(f) != record.fields.get(f) for f in fields):
        return CHANGED
    if known.modified_at == record.modified_at.isoformat():
        return None
    if known.echo != record.echo or stored(record.id) != _comparable(record.record):
        return CHANGED
    return TOUCHED


def _comparable(record: object) -> object:
    """A record as the store gives it back: a deal's participants sorted, once each."""
    if isinstance(record, CrmDeal):
        return replace(record, participant_ids=tuple(sorted(set(record.participant_ids))))
    return record


def _stored(store: Store, kind: str) -> Callable[[str], object]:
    """The store's records of a kind by id, read once, and only if asked for."""
    listed: dict[str, object] = {}

    def get(record_id: str) -> object:
        if not listed:
            readers: dict[str, Callable[[], Sequence[CrmContact | CrmCompany | CrmDeal]]] = {
                RecordKind.CONTACT: store.list_crm_contacts,
                RecordKind.COMPANY: store.list_crm_companies,
                RecordKind.DEAL: store.list_crm_deals}
            read = readers[kind]
            listed.update({r.id: _comparable(r) for r in read()})
        return listed.get(record_id)

    return get


def _read(source: CrmSource, kind: str, since: datetime | None, fields: tuple[str, ...],
          progress: CrmProgress | None, stop: _Deadline) -> dict[str, Pulled]:
    """Every page of a query, checked as it comes: full pages until the count is
    reached, each record once, and the first page's count on every page. A count that
    changes (records added or deleted during the read) is an inconsistent read, so the
    pages are bounded by what the first count allows, however the server counts."""
    seen: dict[str, Pulled] = {}
    offset = pages = 0
    counted = 0  # the first page's count
    while True:
        stop.check(source.name)
        page = source.changed(kind, since, offset, fields)
        pages += 1
        if pages == 1:
            counted = page.total
        elif page.total != counted:
            _inconsistent(source, kind, f"counted {counted} and then {page.total}: the "
                          "account changed during the read; pull again")
        for record in page.records:
            if record.id in seen:
                _inconsistent(source, kind, f"sent {kind}:{record.id} twice")
            seen[record.id] = record
        offset += len(page.records)
        if progress is not None:
            progress(kind, offset, page.total)
        if offset > counted:
            _inconsistent(source, kind, f"sent {offset} records after counting {counted}")
        if offset == counted:
            return seen
        if len(page.records) < source.page_size:
            _inconsistent(source, kind, f"stopped at {offset} of the {counted} it counted")
        if pages >= math.ceil(counted / source.page_size) + 1:  # pragma: no cover - full
            # pages within the first count end at it: kept only as the loop's own bound
            _inconsistent(source, kind, f"kept sending pages past the {counted} it counted")


def _inconsistent(source: CrmSource, kind: str, what: str) -> NoReturn:
    raise CrmUnreachableError(
        f"{_name(source)}'s pages of {PLURALS[kind]} do not add up (it {what}); nothing "
        "was changed or marked gone; try again (records added or deleted during a pull "
        "can do this)")


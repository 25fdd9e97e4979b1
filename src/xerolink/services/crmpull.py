"""``crm pull``: a live CRM source's contacts, companies and deals into the store.

The first pull of a kind reads every record, by id. Later pulls read only what changed
since the newest modification seen (less a margin: Salesmate filters to the minute, in
the account's timezone, which xerolink does not know), and count the kind once: when
the count is not what the store plus the new records make, something was deleted at
the source, and a full read finds what. Records the source no longer has are marked
gone, never silently kept or dropped. Only records whose modification time (or
presence) changed are written, and everything a pull learnt is written in one
transaction: an interrupted pull changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xerolink.crmsource.base import KINDS, CrmSource, Pulled
from xerolink.errors import CrmUnreachableError
from xerolink.formats import natural
from xerolink.results import Result
from xerolink.store import Store
from xerolink.store.crmsource import PullBatch, SourceRecord
from xerolink.store.records import CrmCompany, CrmContact, CrmDeal

# Salesmate reads filter dates in the account's timezone (UTC-12 to UTC+14), to the
# minute: starting 14 hours before the newest change seen misses nothing.
MARGIN = timedelta(hours=14)
Progress = Callable[[str, int, int | None], None]  # (kind, done, total)
PLURALS = {"contact": "contacts", "company": "companies", "deal": "deals"}  # JSON keys


@dataclass
class KindPulled:
    kind: str
    full: bool  # every record was read (a first pull, or deletions to find)
    read: int = 0  # records the source sent
    written: int = 0  # records new or changed, written to the store
    gone: list[str] = field(default_factory=list)  # ids the source no longer has
    calls: int = 0

    def to_json(self) -> dict[str, object]:
        return {"full": self.full, "read": self.read, "written": self.written,
                "gone": [f"{self.kind}:{i}" for i in self.gone], "calls": self.calls}


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


def pull(store: Store, source: CrmSource, *, fields: Mapping[str, Sequence[str]],
         now: datetime, full: bool = False, progress: Progress | None = None) -> PullReport:
    """Pull every kind (``full``: every record, whatever the watermarks); writes nothing
    unless all of them were read."""
    batch = PullBatch(source.name)
    report = PullReport(source.name, source.account, {})
    for kind in KINDS:
        before = sum(source.calls.values())
        report.kinds[kind] = _pull_kind(store, source, kind, tuple(fields.get(kind, ())),
                                        batch, progress, full=full)
        report.kinds[kind].calls = sum(source.calls.values()) - before
    store.apply_pull(batch, now)
    return report


def _pull_kind(store: Store, source: CrmSource, kind: str, fields: tuple[str, ...],
               batch: PullBatch, progress: Progress | None, *, full: bool) -> KindPulled:
    watermark = store.source_watermark(source.name, kind)
    known = store.source_records(source.name, kind)
    live = store.live_source_ids(source.name, kind)
    since = None if watermark is None or full else \
        datetime.fromisoformat(watermark) - MARGIN
    result = KindPulled(kind, full=since is None)
    seen = _read(source, kind, since, fields, progress)
    if since is not None:
        added = sum(1 for i in seen if i not in live)
        if source.count(kind) != len(live) + added:  # deleted (or missed) at the source
            result.full = True
            seen.update(_read(source, kind, None, fields, progress))
    if result.full:
        result.gone = sorted(live - seen.keys(), key=natural)
    result.read = len(seen)
    changed = [r for r in seen.values() if _changed(r, known.get(r.id), live, fields)]
    result.written = len(changed)
    for r in changed:
        if kind == "contact":
            assert isinstance(r.record, CrmContact)
            batch.contacts.append(r.record)
        elif kind == "company":
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
    times = [r.modified_at for r in seen.values()]
    if watermark is not None:
        times.append(datetime.fromisoformat(watermark))
    batch.watermarks[kind] = max(times).isoformat() if times else None
    return result


def _changed(record: Pulled, known: SourceRecord | None, live: set[str],
             fields: tuple[str, ...]) -> bool:
    if known is None or record.id not in live:
        return True
    if known.modified_at != record.modified_at.isoformat():
        return True
    return any(known.fields.get(f) != record.fields.get(f) for f in fields)


def _read(source: CrmSource, kind: str, since: datetime | None, fields: tuple[str, ...],
          progress: Progress | None) -> dict[str, Pulled]:
    """Every page of a query, bounded: the first page's total says how many pages
    there are, and a source that keeps answering past it is an error."""
    seen: dict[str, Pulled] = {}
    offset, limit = 0, None
    pages = 0
    while True:
        page = source.changed(kind, since, offset, fields)
        pages += 1
        for record in page.records:
            seen[record.id] = record
        offset += len(page.records)
        if limit is None:
            limit = math.ceil(page.total / source.page_size) + 2
        if progress is not None:
            progress(kind, offset, page.total)
        if not page.records or offset >= page.total:
            return seen
        if pages >= limit:
            raise CrmUnreachableError(
                f"the CRM kept sending {kind} pages past the {page.total} records it "
                "counted; nothing was changed; try again")


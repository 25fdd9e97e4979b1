"""How ``crm push`` writes one kind's records: each read just before its update, the
reads of the next records beside the updates in flight.

``workers`` updates go out at once, and beside them the reads of the next ``workers``
records, so the read of one record overlaps the update of another: two calls a record
in about the time of one. A record's update leaves as soon as its read has been
answered and an update has finished, so the required fields it repeats are at most
one call old. A record has one call in flight at a time (its read, then its update),
so no record is ever written by two at once; a 429 pauses every call (the source's
shared pause). Results are handed back on the calling thread, which alone touches the
store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from xerolink.crmsource.base import CrmSource, Pulled
from xerolink.errors import CrmRecordRefusedError
from xerolink.store.crmsource import SourceRecord

Job = tuple[str, dict[str, str], SourceRecord | None]  # record id, its values, as pulled


@dataclass(frozen=True)
class Written:
    """One record's read and update, as a worker did them."""

    held: dict[str, str]  # what the record held when read, just before its update
    diff: dict[str, str]  # what was written (empty: it already held the values)
    edited: bool  # a person changed its required fields since the pull


def calls_in_flight(workers: int) -> int:
    """The most calls a push of ``workers`` has in flight: each worker's update, and
    beside it the read of the record it writes next (the source's pool needs as many
    connections)."""
    return 2 * max(1, workers)


@dataclass(frozen=True)
class _Read:
    """One record as a worker read it, just before its update."""

    job: Job
    now: Pulled
    diff: dict[str, str]  # what still differs from what it should hold

    def written(self, diff: dict[str, str]) -> Written:
        record = self.job[2]
        return Written(dict(self.now.fields), diff,
                       edited=record is None or record.echo != self.now.echo)


class _Pipeline:
    """Each record is read, then updated; ``workers`` updates go out at once, and beside
    them the reads of the next ``workers`` records, so a record's update leaves as soon
    as both its read has been answered and an update has finished: its read is at most
    one call old (two calls a record, in the time of one). Results are handed to
    ``accepted``/``refused`` on the calling thread. A failure that is not one record's
    (or an interrupt) stops new work; the updates in flight finish and are recorded
    (a record read but not yet written is left for the next push), then it is raised."""

    def __init__(self, source: CrmSource, kind: str, jobs: list[Job], workers: int,
                 accepted: Callable[[str, dict[str, str], Written], None],
                 refused: Callable[[str, CrmRecordRefusedError], None]) -> None:
        self.source, self.kind, self.workers = source, kind, workers
        self.queue: Iterator[Job] = iter(jobs)
        self.accepted, self.refused = accepted, refused
        self.reads: dict[Future[_Read], Job] = {}
        self.writes: dict[Future[Written], Job] = {}
        self.ready: deque[_Read] = deque()  # read, waiting for an update to finish
        self.failure: BaseException | None = None

    def run(self, pool: ThreadPoolExecutor) -> None:
        self._fill(pool)
        while self.reads or self.writes:
            try:
                finished, _ = wait(self._in_flight(), return_when=FIRST_COMPLETED)
            except BaseException as exc:  # an interrupt: finish and record what is in flight
                self.failure = self.failure or exc
                finished, _ = wait(self._in_flight())
            for future in finished:
                if future in self.writes:
                    self._wrote(self.writes.pop(future), future)
                else:
                    self._read(self.reads.pop(future), future)
            self._fill(pool)
        if self.failure is not None:
            raise self.failure

    def _in_flight(self) -> list[Future[Any]]:
        return [*self.reads, *self.writes]

    def _fill(self, pool: ThreadPoolExecutor) -> None:
        """Updates first (the freshest reads go out at once), then reads, never more
        than ``workers`` of each, and never more records read ahead than ``workers``."""
        if self.failure is not None:
            return
        while self.ready and len(self.writes) < self.workers:
            read = self.ready.popleft()
            self.writes[pool.submit(_update, self.source, self.kind, read)] = read.job
        while len(self.reads) + len(self.ready) < self.workers:
            job = next(self.queue, None)
            if job is None:
                break
            self.reads[pool.submit(_current, self.source, self.kind, job)] = job

    def _read(self, job: Job, future: Future[Any]) -> None:
        try:
            read = future.result()
        except CrmRecordRefusedError as exc:  # this record's problem: go on
            self.refused(job[0], exc)
        except Exception as exc:  # the source's problem: stop, after the rest
            self.failure = self.failure or exc
        else:
            if read.diff:
                self.ready.append(read)
            else:  # it already holds the values (a push killed after its update)
                self.accepted(job[0], job[1], read.written({}))

    def _wrote(self, job: Job, future: Future[Any]) -> None:
        try:
            self.accepted(job[0], job[1], future.result())
        except CrmRecordRefusedError as exc:
            self.refused(job[0], exc)
        except Exception as exc:
            self.failure = self.failure or exc


def write_all(source: CrmSource, kind: str, jobs: list[Job], workers: int,
               accepted: Callable[[str, dict[str, str], Written], None],
               refused: Callable[[str, CrmRecordRefusedError], None]) -> None:
    """Each record's read and update, ``workers`` updates and as many reads at once
    (see ``_Pipeline``)."""
    if not jobs:
        return
    workers = min(workers, len(jobs))
    with ThreadPoolExecutor(max_workers=calls_in_flight(workers),
                            thread_name_prefix="crm-push") as pool:
        _Pipeline(source, kind, jobs, workers, accepted, refused).run(pool)


def diff(held: Mapping[str, str | None], values: Mapping[str, str]) -> dict[str, str]:
    return {f: v for f, v in values.items() if not _same(held.get(f), v)}


def _current(source: CrmSource, kind: str, job: Job) -> _Read:
    """The record as the source holds it now, and what still differs. Runs on a worker
    thread: it touches the source only, never the store or the report."""
    record_id, values, _ = job
    now = source.current(kind, record_id, tuple(values))
    if now is None:
        raise CrmRecordRefusedError(f"{source.name} no longer has this record (deleted "
                                    "since the last pull); run `xerolink crm pull`")
    return _Read(job, now, diff(now.fields, values))


def _update(source: CrmSource, kind: str, read: _Read) -> Written:
    """Write what still differs, repeating the required fields as just read (never the
    pulled ones). Runs on a worker thread."""
    source.update(kind, read.job[0], read.now.echo, read.diff)
    return read.written(read.diff)


def _same(held: str | None, wanted: str) -> bool:
    """Whether the CRM already holds a value: the same text, or the same number however
    the CRM writes it (``5132.45`` and ``5132.450000000``)."""
    if (held or "") == wanted:
        return True
    if not held or not wanted:
        return False
    try:
        return Decimal(held) == Decimal(wanted)
    except InvalidOperation:
        return False

"""``crm update``: one pass of what ``crm pull``, ``link --auto``, ``refresh --all`` and
``crm push`` do by hand, costing next to nothing when nothing changed.

- pull: only what changed in the CRM since the last pull; the count that looks for
  deletions (a call per kind) is made once an hour (``RECHECK``), not every pass;
- link: runs only when the pull brought a new or changed unlinked contact with an
  email, or an hour has passed with unlinked contacts left (a Xero contact added
  since may now match them); otherwise it costs no call;
- refresh: every linked contact, incrementally (one ``If-Modified-Since`` read of
  invoices and bills, one of quotes; contacts never read come by id);
- push: only fields whose value changed.

Under ``--watch --webhooks`` a pass first drains the webhook events the receiver
stored (``services.webhooks.process_events``: the invoices, bills and contacts they
name, re-read by IDs), so a change Xero reported is in the cache before the refresh
and the push.

Each phase keeps the resume guarantee of the command it replaces (a pull writes in
one transaction, links and refreshed documents batch by batch, each accepted CRM
update at once), so a pass killed at any point and run again writes nothing twice and
skips nothing. Before the first call, the pass's Xero calls are estimated and a pass
that cannot fit in what is left of the day's allowance is refused (exit 6).

A dry run reads the CRM's changes but writes nothing anywhere: not the CRM, not the
store (so it makes no Xero call: linking and refreshing only feed the store); push's
changes are worked out from what the store holds now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xerolink.crmsource.base import CrmSource
from xerolink.formats import local_date
from xerolink.results import Result
from xerolink.services import budget, crmpull, crmpush, documents, linking, settlements, webhooks
from xerolink.services.context import Deps
from xerolink.vocabulary import SETTLEMENT_KEYS, RecordKind

RECHECK = timedelta(hours=1)  # deletions looked for, unlinked contacts retried
COUNTED_AT = "crm.update.counted_at"  # settings: when deletions were last looked for
LINKED_AT = "crm.update.linked_at"  # when every unlinked contact was last tried
JOB = "crm update"


@dataclass
class Phase:
    """One phase of a pass: its calls, the records it read and those it wrote."""

    name: str
    xero_calls: int = 0
    crm_calls: int = 0
    read: int = 0
    written: int = 0
    fields_written: int = 0
    skipped: str | None = None  # why it did not run

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.name, "xero_calls": self.xero_calls,
                "crm_calls": self.crm_calls, "read": self.read, "written": self.written,
                "fields_written": self.fields_written, "skipped": self.skipped}


@dataclass
class UpdateReport(Result):
    """What one pass did. ``to_json()`` is ``crm update --json``."""

    source: str
    account: str
    dry_run: bool
    started_at: datetime
    estimate: int  # the Xero calls estimated before the pass started
    seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    settled: bool = False  # a paid or credit figure is pushed: each pass reads their lists

    @property
    def xero_calls(self) -> int:
        return sum(p.xero_calls for p in self.phases)

    @property
    def crm_calls(self) -> int:
        return sum(p.crm_calls for p in self.phases)

    @property
    def fields_written(self) -> int:
        return sum(p.fields_written for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "account": self.account, "dry_run": self.dry_run,
                "started_at": self.started_at.isoformat(),
                "milliseconds": round(self.seconds * 1000), "estimated_xero_calls": self.estimate,
                "xero_calls": self.xero_calls, "crm_calls": self.crm_calls,
                "fields_written": self.fields_written,
                "phases": [p.to_json() for p in self.phases], "changes": self.changes,
                "refused": self.refused, "notes": self.notes}


def no_lease() -> AbstractContextManager[object]:
    return nullcontext()


@dataclass
class Parts:
    """What a pass needs besides ``Deps``: the CRM source, the push mapping (kind ->
    figure -> field), the fields a pull reads, and the lease a pass runs under (one
    runner per organisation; none by default). What the lease's context manager gives
    may have a ``check()``, called between phases: it raises when the lease was lost
    (another runner took it over after it expired), so a pass stops rather than
    write beside another."""

    source: CrmSource
    mapping: Mapping[str, Mapping[str, str]]
    fields: Mapping[str, Sequence[str]]
    lease: Callable[[], AbstractContextManager[object]] = no_lease
    webhook_events: bool = False  # drain the stored webhook events first
    monotonic: Callable[[], float] = time.monotonic


def linked_contacts(deps: Deps) -> list[str]:
    return sorted({v.link.xero_contact_id for v in deps.store.list_link_views(deps.tenant)})


def estimate(deps: Deps, *, link: bool, settled: bool = False) -> int:
    """The fewest Xero calls a pass makes: the refresh's estimate, the paid and credit
    lists' reads when one of their figures is pushed, and the contact copy's read when
    unlinked contacts with an email are due to be tried again (the pull may bring more:
    this is a lower bound, as every estimate is)."""
    contacts = linked_contacts(deps)
    calls = documents.estimate_calls(deps, contacts)
    if settled and contacts:
        calls += settlements.READS
    due = _due(deps.store.get_setting(LINKED_AT), deps.now())
    if link and due and _unlinked_with_email(deps):
        calls += linking.estimate_sync_calls(deps)
    return calls


def run(deps: Deps, parts: Parts, *, dry_run: bool, link: bool, force: bool) -> UpdateReport:
    """One pass; refused before its first call when it cannot fit in today's allowance."""
    source = parts.source
    started, clock = deps.now(), parts.monotonic
    began = clock()
    settled = wants_settled(parts.mapping)
    calls = estimate(deps, link=link, settled=settled) if not dry_run else 0
    budget.check(deps.connection, JOB, calls, now=started, force=force)
    report = UpdateReport(source.name, source.account, dry_run, started, calls,
                          settled=settled)
    with parts.lease() as holding:
        check = getattr(holding, "check", None) or (lambda: None)
        if parts.webhook_events and not dry_run:
            _events(deps, report)
            check()
        pulled = _pull(deps, parts, report, started)
        check()
        _link(deps, report, pulled, started, link=link)
        check()
        _refresh(deps, report, settled=settled)
        check()
        _push(deps, parts, report)
    report.seconds = clock() - began
    return report


def _xero_total(deps: Deps) -> int:
    gateway = deps._gateway  # not made (no call made) until a phase needs Xero
    return gateway.log.total if gateway is not None else 0


def _events(deps: Deps, report: UpdateReport) -> None:
    """The webhook events stored since the last pass: what they name is re-read."""
    stats = webhooks.process_events(deps)
    report.phases.append(Phase("events", xero_calls=stats.calls, read=stats.events,
                               written=stats.invoices_read + stats.contacts_read))


def _pull(deps: Deps, parts: Parts, report: UpdateReport, now: datetime
          ) -> crmpull.PullReport:
    store, source = deps.store, parts.source
    count = _due(store.get_setting(COUNTED_AT), now)
    pulled = crmpull.pull(store, source, fields=parts.fields, now=now, count=count,
                          apply=not report.dry_run)
    report.phases.append(Phase("pull", crm_calls=pulled.calls,
                               read=sum(k.read for k in pulled.kinds.values()),
                               written=sum(k.written for k in pulled.kinds.values())))
    if not report.dry_run and all(k.counted for k in pulled.kinds.values()):
        store.set_setting(COUNTED_AT, now.isoformat())
    return pulled


def _link(deps: Deps, report: UpdateReport, pulled: crmpull.PullReport, now: datetime, *,
          link: bool) -> None:
    why = _why_not_link(deps, pulled, now, link=link, dry_run=report.dry_run)
    if why is not None:
        report.phases.append(Phase("link", skipped=why))
        return
    before = _xero_total(deps)
    linked = linking.auto_link(deps, dry_run=False, force=True)  # the pass was checked
    deps.store.set_setting(LINKED_AT, now.isoformat())
    report.phases.append(Phase("link", xero_calls=_xero_total(deps) - before,
                               read=linked.xero_contacts_fetched,
                               written=len(linked.linked)))
    if linked.ambiguous:
        report.notes.append(f"{len(linked.ambiguous)} contact(s) match several Xero "
                            "contacts by email: link them with `xerolink link`")


def _why_not_link(deps: Deps, pulled: crmpull.PullReport, now: datetime, *, link: bool,
                  dry_run: bool) -> str | None:
    if not link:
        return "--no-link"
    if dry_run:
        return "a dry run writes no links"
    waiting = _unlinked_with_email(deps)
    if not waiting:
        return "no unlinked contact with an email"
    contacts = pulled.kinds.get(RecordKind.CONTACT)
    changed = set(contacts.changed_ids) if contacts is not None else set()
    if changed.intersection(waiting) or _due(deps.store.get_setting(LINKED_AT), now):
        return None
    return "no new or changed unlinked contact; the others are tried again hourly"


def _unlinked_with_email(deps: Deps) -> set[str]:
    return {c.id for c in deps.store.unlinked_crm_contacts(deps.tenant)
            if c.email and not c.gone}


def wants_settled(mapping: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether a paid or credit figure is pushed: then each pass reads their four
    organisation-wide lists too (none is chosen by default, so a pass costs as before)."""
    return any(f.removesuffix("_count") in SETTLEMENT_KEYS
               for fields in mapping.values() for f in fields)


def _refresh(deps: Deps, report: UpdateReport, *, settled: bool = False) -> None:
    contacts = linked_contacts(deps)
    if report.dry_run or not contacts:
        report.phases.append(Phase("refresh", skipped="a dry run writes no cache"
                                   if report.dry_run else "no linked contact"))
        return
    stats = documents.refresh_contacts(deps, contacts)
    calls = stats.calls
    if settled:
        before = deps.calls_made()
        settlements.refresh(deps, local_date(deps.now(), deps.connection.timezone))
        calls += deps.calls_made() - before
    report.phases.append(Phase("refresh", xero_calls=calls, read=stats.contacts))


def _push(deps: Deps, parts: Parts, report: UpdateReport) -> None:
    pushed = crmpush.push(deps, parts.source, parts.mapping, dry_run=report.dry_run)
    report.phases.append(Phase("push", crm_calls=pushed.calls,
                               read=sum(pushed.records_written.values())
                               + sum(pushed.unchanged.values()),
                               written=sum(pushed.records_written.values()),
                               fields_written=len(pushed.changes)))
    report.changes = [c.to_json() for c in pushed.changes]
    report.refused = pushed.refused
    report.notes += pushed.notes


def _due(stamp: str | None, now: datetime) -> bool:
    """Whether an hourly job last done at ``stamp`` is due (never, unreadable or an
    hour ago; a stamp later than now, from a clock set back, counts as due)."""
    try:
        at = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return True
    return at is None or at.tzinfo is None or not now - RECHECK < at <= now

"""``crm push``: what xerolink knows from Xero, written back onto the CRM's records.

For each live contact pulled from the source: the linked Xero contact's name and its
View in Xero link, and the five summary figures (base-currency totals, and counts),
into the custom fields the admin chose (``salesmate.fields.<figure>``); companies and
deals likewise (``salesmate.company_fields.*``, ``salesmate.deal_fields.*``). Figures
come from the local cache only (``xerolink refresh --all`` reads Xero); a record whose
documents were never read is skipped, not written as zero. A contact no longer linked
has the fields xerolink wrote cleared.

Only values that differ from what the source holds (as last pulled or written) are
written. A push writes only the fields xerolink owns (the chosen custom fields); where
the source insists that an update repeat a record's required fields (Salesmate: a
contact's lastName and owner, a deal's title, stage, status...), the record is read
again immediately before its update and the values it holds *now* are repeated, never
the ones pulled earlier: a person's edit since the pull is never sent back over. That
is two calls per record written (the read, the update); a dry run makes none.

Records are written ``concurrency`` at once, and beside those updates the next
``concurrency`` records are read, so the read of one record overlaps the update of
another: two calls a record in about the time of one, and each update leaves as soon
as its record's read is answered and an update slot is free, so the values it repeats
are at most one call old. A record is read, then written, by one thing at a time (no
record ever has two calls in flight); a 429 pauses every call (see
``crmsource.salesmate``). Each accepted update is recorded at once, on the calling
thread (the store has one writer), so a push stopped half-way resumes where it
stopped, and a second push writes nothing. A failure that stops the push (Salesmate
down, the token refused) lets the updates in flight finish and records them first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xerolink.crmsource.base import CrmSource
from xerolink.errors import CrmRecordRefusedError
from xerolink.formats import natural
from xerolink.money import cents
from xerolink.results import Result
from xerolink.services import crmpush_writes as writes
from xerolink.services import summary
from xerolink.services.context import Deps
from xerolink.services.progress import CrmProgress
from xerolink.store.models import CachedDocument
from xerolink.vocabulary import RECORD_KINDS, SETTLEMENT_KEYS, RecordKind
from xerolink.xero import deeplinks
from xerolink.xero.endpoints import Endpoints

CONTACT_ONLY = ("xero_contact", "xero_link")
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16


@dataclass
class Change:
    ref: str
    field: str  # the CRM's field
    figure: str  # what xerolink writes into it
    before: str | None  # what the CRM holds, as far as xerolink knows
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"record": self.ref, "field": self.field, "figure": self.figure,
                "from": self.before, "to": self.after}


@dataclass
class PushReport(Result):
    """What ``crm push`` did (or, with ``dry_run``, would do). ``to_json()`` is
    ``crm push --json``."""

    source: str
    account: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    records_written: dict[str, int] = field(default_factory=dict)  # kind -> records
    unchanged: dict[str, int] = field(default_factory=dict)
    not_read: dict[str, int] = field(default_factory=dict)  # never read from Xero: skipped
    calls: int = 0
    notes: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)  # records the CRM refused
    # kind -> records whose required fields changed in the CRM since the pull: the
    # values they hold now were repeated (the pulled ones never are)
    changed_since_pull: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "account": self.account, "dry_run": self.dry_run,
                "records_written": self.records_written, "unchanged": self.unchanged,
                "not_read_from_xero": self.not_read, "calls": self.calls,
                "changed_since_pull": self.changed_since_pull,
                "changes": [c.to_json() for c in self.changes], "refused": self.refused,
                "notes": self.notes}


def push(deps: Deps, source: CrmSource, mapping: Mapping[str, Mapping[str, str]], *,
         dry_run: bool, progress: CrmProgress | None = None,
         concurrency: int = DEFAULT_CONCURRENCY) -> PushReport:
    """``mapping``: kind -> figure -> the CRM field it goes into; ``concurrency``:
    records written at once (the source's pool must allow as many connections)."""
    report = PushReport(source.name, source.account, dry_run)
    if not any(mapping.values()):
        report.notes.append(f"no fields are chosen: set them with `xerolink config set "
                            f"{source.name}.fields.open_quotes FIELD` (see `xerolink config "
                            "list`)")
        return report
    today = summary.organisation_today(deps.now(), deps.connection.timezone)
    if not deps.connection.base_currency:
        report.notes.append("the organisation's base currency is unknown, so totals are not "
                            "written (counts are)")
    from xerolink.services import documents

    why = documents.quotes_unavailable(deps)
    if why:
        mapping = {kind: {f: c for f, c in chosen.items() if not f.startswith("open_quotes")}
                   for kind, chosen in mapping.items()}
        report.notes.append(f"open quotes are not written: {why}")
    mapping = _settled_or_not(deps, mapping, report)
    before = sum(source.calls.values())
    xero = _XeroSide(deps.store.contact_refresh_times(deps.tenant),
                     deps.store.linked_xero_contacts(deps.tenant))
    for kind in RECORD_KINDS:
        chosen = dict(mapping.get(kind, {}))
        if chosen:
            _push_kind(deps, source, kind, chosen, today, xero, report,
                       _Run(progress, max(1, concurrency)))
    report.calls = sum(source.calls.values()) - before
    return report


def _settled_or_not(deps: Deps, mapping: Mapping[str, Mapping[str, str]],
                    report: PushReport) -> Mapping[str, Mapping[str, str]]:
    """The paid and credit fields are left out (and why noted) when this connection
    cannot read them, or they were never read (not written as zero)."""
    from xerolink.services import settlements

    for resource, names in ((settlements.PAID_UNAVAILABLE, summary.PAID_KEYS),
                            (settlements.CREDIT_UNAVAILABLE, summary.CREDIT_KEYS)):
        chosen = {f for fields in mapping.values() for f in fields
                  if f.removesuffix("_count") in names}
        if not chosen:
            continue
        why = settlements.unavailable(deps, resource)
        if why is None and settlements.payments_floor(deps) is None:
            why = "they were never read from Xero; run `xerolink refresh --all` first"
        if why:
            mapping = {kind: {f: c for f, c in fields.items() if f not in chosen}
                       for kind, fields in mapping.items()}
            report.notes.append(f"{', '.join(sorted(chosen))} are not written: {why}")
    return mapping


@dataclass(frozen=True)
class _Run:
    progress: CrmProgress | None
    workers: int


@dataclass(frozen=True)
class _XeroSide:
    """What the store knows of Xero, read once a push: when each Xero contact's
    documents were read, each CRM contact's link (Xero ContactID, name), and each Xero
    contact's documents once a kind has needed them (contacts, then the companies they
    belong to)."""

    refreshed: Mapping[str, object]
    links: Mapping[str, tuple[str, str]]
    documents: dict[str, list[CachedDocument]] = field(default_factory=dict)


def _push_kind(deps: Deps, source: CrmSource, kind: str, chosen: dict[str, str],
               today: date, xero: _XeroSide, report: PushReport, run: _Run) -> None:
    store = deps.store
    known = store.source_records(source.name, kind)
    live = store.live_source_ids(source.name, kind)
    desired = _desired(deps, kind, sorted(live), chosen, today, xero, report)
    todo = sorted(desired.items(), key=lambda item: natural(item[0]))
    done: dict[str, tuple[Mapping[str, str | None], dict[str, str]]] = {}  # id -> held, diff
    jobs: list[writes.Job] = []
    refused_before = len(report.refused)
    for record_id, values in todo:
        record = known.get(record_id)
        held: Mapping[str, str | None] = record.fields if record is not None else {}
        diff = writes.diff(held, values)
        if diff and not report.dry_run:
            jobs.append((record_id, values, record))
        else:
            done[record_id] = (held, diff)

    def show() -> None:
        if run.progress is not None:
            run.progress(kind, len(done) + len(report.refused) - refused_before, len(todo))

    def accepted(record_id: str, values: dict[str, str], written: writes.Written) -> None:
        """Recorded at once, on this thread: a push stopped later resumes after it."""
        store.record_source_fields(source.name, kind, record_id,
                                   {f: written.held.get(f) or "" for f in values}
                                   | written.diff)
        done[record_id] = (written.held, written.diff)
        if written.edited:
            report.changed_since_pull[kind] = report.changed_since_pull.get(kind, 0) + 1
        show()

    def refused(record_id: str, exc: CrmRecordRefusedError) -> None:
        report.refused.append({"record": f"{kind}:{record_id}", "reason": str(exc)})
        show()

    show()
    writes.write_all(source, kind, jobs, run.workers, accepted, refused)
    figures = {crm_field: figure for figure, crm_field in chosen.items()}
    written = unchanged = 0
    for record_id, _ in todo:
        if record_id not in done:  # refused
            continue
        held, diff = done[record_id]
        if not diff:
            unchanged += 1
            continue
        report.changes += [Change(f"{kind}:{record_id}", crm_field, figures[crm_field],
                                  held.get(crm_field), value)
                           for crm_field, value in sorted(diff.items())]
        written += 1
    report.records_written[kind] = written
    report.unchanged[kind] = unchanged


def _desired(deps: Deps, kind: str, ids: list[str], chosen: dict[str, str], today: date,
             xero: _XeroSide, report: PushReport) -> dict[str, dict[str, str]]:
    """Record id -> CRM field -> the value it should hold."""
    store, tenant = deps.store, deps.tenant
    refreshed, links = xero.refreshed, xero.links
    xero_ids: dict[str, list[str]] = {}  # record -> Xero contacts its figures cover
    doc_ids: dict[str, list[str]] = {}  # deals: the documents chosen for them
    if kind == RecordKind.CONTACT:
        xero_ids = {i: [links[i][0]] for i in ids if i in links}
    elif kind == RecordKind.COMPANY:
        members: dict[str, list[str]] = defaultdict(list)
        for contact in store.list_crm_contacts():
            if contact.company_id is not None and contact.id in links and not contact.gone:
                members[contact.company_id].append(links[contact.id][0])
        xero_ids = {i: sorted(set(members[i])) for i in ids if members.get(i)}
    else:
        doc_ids = {i: [d for d, _ in store.deal_documents(tenant, i)] for i in ids}
        doc_ids = {i: d for i, d in doc_ids.items() if d}
    documents = _documents(deps, xero_ids, doc_ids, xero.documents)
    settled = _settled(deps, xero_ids, doc_ids, documents, today) \
        if any(f.removesuffix("_count") in SETTLEMENT_KEYS for f in chosen) else {}
    desired: dict[str, dict[str, str]] = {}
    not_read = 0
    for record_id in ids:
        covered = xero_ids.get(record_id) or doc_ids.get(record_id)
        if not covered:  # unlinked, no linked members, no documents: clear what we wrote
            desired[record_id] = dict.fromkeys(chosen.values(), "")
            continue
        if kind != RecordKind.DEAL and any(x not in refreshed for x in covered):
            not_read += 1
            continue
        figures = summary.figures(documents.get(record_id, []), today) \
            | settled.get(record_id, {})
        values: dict[str, str] = {}
        for figure, crm_field in chosen.items():
            value = _value(deps, figure, figures, links.get(record_id), kind)
            if value is not None:
                values[crm_field] = value
        desired[record_id] = values
    if not_read:
        report.not_read[kind] = not_read
        report.notes.append(f"{not_read} linked {kind} record(s) were skipped: their "
                            "documents were never read from Xero; run `xerolink refresh "
                            "--all` first")
    return desired


def _settled(deps: Deps, xero_ids: dict[str, list[str]], doc_ids: dict[str, list[str]],
             documents: dict[str, list[CachedDocument]], today: date
             ) -> dict[str, dict[str, summary.Figure]]:
    """Each record's paid and credit figures, from the store's copies: a contact's or a
    company's members', a deal's documents' payments and their contacts' credit."""
    from xerolink.services import settlements

    store, tenant = deps.store, deps.tenant
    since = settlements.window_start(today)
    paid_by: dict[str, list[Any]] = defaultdict(list)  # by contact, or by document
    if xero_ids:
        for payment in store.payments_for_contacts(
                tenant, sorted({x for xs in xero_ids.values() for x in xs}), since):
            paid_by[payment.xero_contact_id].append(payment)
    if doc_ids:
        for payment in store.payments_for_documents(
                tenant, sorted({d for ds in doc_ids.values() for d in ds}), since):
            paid_by[payment.document_id].append(payment)
    # a deal's credit: that of its documents' contacts (a paid one may have left the cache)
    contacts = dict(xero_ids) | {r: sorted(
        {d.xero_contact_id for d in documents.get(r, [])}
        | {p.xero_contact_id for d in ds for p in paid_by.get(d, [])})
        for r, ds in doc_ids.items()}
    wanted = sorted({x for xs in contacts.values() for x in xs})
    credit_by: dict[str, list[Any]] = defaultdict(list)
    for credit in store.credits_for_contacts(tenant, wanted):
        credit_by[credit.xero_contact_id].append(credit)
    found = {}
    for record_id, xs in contacts.items():
        keys = doc_ids.get(record_id) or xs
        found[record_id] = summary.settlement_figures(
            [p for k in keys for p in paid_by.get(k, [])],
            [c for x in xs for c in credit_by.get(x, [])], today)
    return found


def _documents(deps: Deps, xero_ids: dict[str, list[str]], doc_ids: dict[str, list[str]],
               by_contact: dict[str, list[CachedDocument]]
               ) -> dict[str, list[CachedDocument]]:
    """Each record's documents; ``by_contact``: the Xero contacts' read so far this push,
    added to (the store is read for each contact once a push, not once a kind)."""
    store, tenant = deps.store, deps.tenant
    found: dict[str, list[CachedDocument]] = {}
    if xero_ids:
        wanted = sorted({x for xs in xero_ids.values() for x in xs} - set(by_contact))
        for contact in wanted:
            by_contact[contact] = []
        for doc in store.documents_for_contacts(tenant, wanted) if wanted else ():
            by_contact[doc.xero_contact_id].append(doc)
        for record_id, xs in xero_ids.items():
            found[record_id] = [d for x in xs for d in by_contact.get(x, [])]
    if doc_ids:
        wanted = sorted({d for ds in doc_ids.values() for d in ds})
        by_id = {d.document_id: d for d in store.documents_by_ids(tenant, wanted)}
        for record_id, ds in doc_ids.items():
            found[record_id] = [by_id[d] for d in ds if d in by_id]
    return found


def _value(deps: Deps, figure: str, figures: dict[str, summary.Figure],
           link: tuple[str, str] | None, kind: str) -> str | None:
    if figure in CONTACT_ONLY:
        if kind != RecordKind.CONTACT or link is None:
            return None
        if figure == "xero_contact":
            return link[1]
        return deeplinks.contact(Endpoints.at(deps.connection.xero_url),
                                 deps.connection.short_code or "", link[0])
    if figure.endswith("_count"):
        return str(figures[figure[:-len("_count")]].count)
    if not deps.connection.base_currency:
        return None
    return format(cents(figures[figure].total), "f")

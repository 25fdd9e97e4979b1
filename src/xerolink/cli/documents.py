"""``summary``, ``refresh``, ``details``, ``view``, ``create-quote|invoice|bill`` and
``deal``: what sales ops open xerolink for."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xerolink.cli import completion
from xerolink.cli._runtime import Runtime, command, confirm, examples_epilog
from xerolink.errors import UsageError
from xerolink.render import SHORT_ID, WIDE, Column, plural
from xerolink.results import Result
from xerolink.vocabulary import (
    DOCUMENT_KINDS,
    OPEN_STATUSES,
    SETTLEMENT_KEYS,
    DocumentKind,
    Status,
)

if TYPE_CHECKING:
    from xerolink.services.create import Created, Creating
    from xerolink.services.outcomes import DealChange, ViewLink
    from xerolink.services.outgoing import OnlineInvoice
    from xerolink.services.summary import SummaryReport

ALL_KINDS = set(DOCUMENT_KINDS)
CREATE_HELP = {DocumentKind.QUOTE: "Create a quote (DRAFT) for a linked contact.",
               DocumentKind.INVOICE: "Create a draft sales invoice for a linked contact.",
               DocumentKind.BILL: "Create a draft bill for a linked contact (a supplier)."}

REF = Annotated[str, typer.Argument(help="contact:ID (or a bare id), company:ID or deal:ID.",
                                    autocompletion=completion.any_ref)]
DOC_ID = Column("document_id", "Document", short_id=True)
CONTACT = Column("contact", "Contact", wrap=True)
# At a narrow terminal the type (its number says it: QU-, INV-) and then the due date
# give way; the status, the date (lists are sorted by it) and amounts never do.
DOC_COLUMNS = [Column("type", "Type", drop=2),
               Column("number", "Number", link_key="link"),
               Column("date", "Date"), Column("due_date", "Due", drop=1),
               Column("status", "Status"), Column("total", "Total", justify="right"),
               Column("amount_due", "Amount due", justify="right"),
               Column("currency", "Currency"),
               Column("link", "View in Xero", wide_only=True)]
EXPIRED = Column("expired", "Expired")  # CSV's; a table marks the status instead
CSV_DOC_ID = Column("document_id", "Document")  # whole, as --json gives it

deal_app = typer.Typer(no_args_is_help=True)


def register(app: typer.Typer) -> None:
    command(app, "summary", examples=["xerolink summary contact:42",
                                      "xerolink summary company:7 --refresh",
                                      "xerolink summary deal:9 --json"])(summary)
    command(app, "refresh", examples=["xerolink refresh contact:42",
                                      "xerolink refresh --all"])(refresh)
    command(app, "details", lists=True, examples=[
        "xerolink details contact:42", "xerolink details company:7 --invoices --status AUTHORISED",
        "xerolink details contact:42 --csv"])(details)
    command(app, "view", examples=["xerolink view contact:42",
                                   "xerolink view 7d0c6b3e-2f1a-4c9e-8b57-0e4f2a6d9c13 --open",
                                   "xerolink view INV-0042 --online"])(
        view)
    command(app, "pdf", examples=["xerolink pdf INV-0042", "xerolink pdf QU-0007 -o quote.pdf",
                                  "xerolink pdf INV-0042 -o - | lpr"])(pdf)
    for kind in DOCUMENT_KINDS:
        command(app, f"create-{kind}", examples=_create_examples(kind))(_creator(kind))
    app.add_typer(deal_app, name="deal",
                  help="Choose the quotes, invoices and bills that belong to a deal.",
                  epilog=examples_epilog(["xerolink deal suggest deal:9",
                                          "xerolink deal attach deal:9 INV-0042 7d0c6b3e",
                                          "xerolink deal docs deal:9"]))


# -- summary -----------------------------------------------------------------------------
def summary(
    rt: Runtime,
    ref: REF,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch from Xero first.")] = False,
) -> Result:
    """Open quotes, overdue and outstanding invoices, overdue and outstanding bills,
    invoices and bills paid in the last 90 days, and the credit customers and
    suppliers have left: each a count and a total in the organisation's base currency.

    Figures come from the local cache when present (no Xero call); --refresh fetches.
    If Xero cannot be reached, cached figures are shown marked stale and the exit
    code is 7.
    """
    report = rt.app.summary(ref, refresh=refresh)
    rt.out.result(report, lambda: _summary_human(rt, report))
    if report.stale:
        rt.out.notice(f"warning: Xero could not be reached; these figures are from the cache "
                      f"({report.problem})")
    return report


def _summary_human(rt: Runtime, report: SummaryReport) -> None:
    from xerolink.services import summary as definitions

    base = report.base_currency
    rows: list[dict[str, Any]] = []
    for name in (*definitions.FIGURES, *SETTLEMENT_KEYS):
        figure = report.figures[name] if name in report.figures else report.settled[name]
        if name in report.unavailable:
            rows.append({"figure": definitions.LABELS[name], "count": None,
                         "total": None, "by_currency": "unavailable"})
            continue
        others = {c: v for c, v in figure.by_currency.items() if c != base}
        rows.append({"figure": definitions.LABELS[name], "count": figure.count,
                     "total": figure.total if base else None,
                     "by_currency": ", ".join(f"{v:,.2f} {c}" for c, v in
                                              sorted(figure.by_currency.items()))
                     if others else ""})
    rt.out.heading(f"{report.title} ({report.record}) in {report.tenant_name}")
    overdue = {definitions.LABELS[n] for n in ("overdue_invoices", "overdue_bills")}
    columns = [Column("figure", "Summary"), Column("count", "Count", justify="right"),
               Column("total", f"Total {base}" if base else "Total (base unknown)",
                      justify="right"),
               Column("by_currency", "By currency", wrap=True, keep=", ")]
    rt.out.records(rows, columns, row_style=lambda r: "bold red"
                   if r["figure"] in overdue and r["count"] else None)
    rt.out.line(_freshness(report))
    if report.paid_since is not None:
        rt.out.line(f"Paid: payments dated from {report.paid_since} on; credit: what is left "
                    "of credit notes, overpayments and prepayments.")
    expired = report.expired
    if expired is not None and expired.count and "open_quotes" not in report.unavailable:
        verb = "has" if expired.count == 1 else "have"
        rt.out.line(f"Of the open quotes, {expired.count} {verb} expired "
                    f"({_amounts(expired.by_currency)}): past their expiry date, still open "
                    "in Xero.")
    if report.deal is not None:
        _deal_value_human(rt, report)
    for note in report.notes:
        rt.out.line(f"Note: {note}.")
    if report.members:
        rt.out.records(report.members, [Column("ref", "Member"),
                                        Column("name", "Name", wrap=True),
                                        Column("linked", "Linked"),
                                        Column("xero_name", "Xero contact", wrap=True)],
                       title="Members")
    if report.record.startswith("deal:"):
        rt.out.records([_marked(d) for d in report.documents], [Column("type", "Type"),
                                          Column("number", "Number"),
                                          Column("status", "Status"),
                                          Column("total", "Total", justify="right"),
                                          Column("amount_due", "Amount due", justify="right"),
                                          Column("currency", "Currency")],
                       title="Deal documents", empty="No documents are attached to "
                       "this deal: xerolink deal suggest " + report.record)


def _amounts(by_currency: dict[str, Any]) -> str:
    return ", ".join(f"{v:,.2f} {c}" for c, v in sorted(by_currency.items())) or "0.00"


def _deal_value_human(rt: Runtime, report: SummaryReport) -> None:
    """The deal's CRM value beside what its documents quote and invoice."""
    deal = report.deal
    assert deal is not None
    value = ("not set" if deal.value is None else
             f"{deal.value:,.2f} {deal.currency or '(no currency)'}")
    rt.out.key_values([("Deal value (CRM)", value),
                       ("Quoted", f"{plural(deal.quoted.count, 'quote')}: "
                                  f"{_amounts(deal.quoted.by_currency)}"),
                       ("Invoiced", f"{plural(deal.invoiced.count, 'invoice')}: "
                                    f"{_amounts(deal.invoiced.by_currency)}")],
                      title="Deal value")


def _freshness(report: SummaryReport) -> str:
    now = report.now
    if report.as_of is None or now is None:
        return "No figures yet."
    minutes = int((now - report.as_of).total_seconds() // 60)
    age = "just now" if minutes < 1 else (f"{minutes} min ago" if minutes < 120
                                          else f"{minutes // 60} h ago")
    source = "STALE (Xero unreachable)" if report.stale else (
        "from the cache" if report.cached else "fetched from Xero")
    return f"Figures as of {report.as_of:%Y-%m-%d %H:%M} UTC ({age}), {source}."


# -- refresh -----------------------------------------------------------------------------
def refresh(
    rt: Runtime,
    ref: Annotated[str | None, typer.Argument(help="contact:ID, company:ID or deal:ID.",
                                              autocompletion=completion.any_ref)] = None,
    all_records: Annotated[bool, typer.Option("--all", help="Every linked contact.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With --all: start even if the job looks larger than what is left "
        "of Xero's daily call allowance.")] = False,
) -> None:
    """Fetch the documents behind summaries from Xero now.

    With --all, the job's calls are estimated first; if that is more than what is left
    of today's allowance (from Xero's X-DayLimit-Remaining), it stops before the first
    call with exit 6.
    """
    if all_records and ref:
        raise UsageError("give a record to refresh or --all, not both")
    if not all_records and not ref:
        raise UsageError("give a record to refresh, or --all")
    if force and not all_records:
        raise UsageError("--force goes with --all")
    if all_records:
        with rt.out.progress("Refreshing linked contacts") as progress:
            result = rt.app.refresh_all(force=force, progress=progress)
    else:
        result = rt.app.refresh(ref or "")
    what = "all linked contacts" if all_records else result.refreshed
    rt.out.result(result, lambda: rt.out.line(
        f"Refreshed {what}: {plural(result.contacts, 'Xero contact')} in "
        f"{plural(result.xero_calls, 'Xero call')}"))


# -- details and view --------------------------------------------------------------------
def details(
    rt: Runtime,
    ref: REF,
    quotes: Annotated[bool, typer.Option("--quotes", help="Quotes.")] = False,
    invoices: Annotated[bool, typer.Option("--invoices", help="Sales invoices.")] = False,
    bills: Annotated[bool, typer.Option("--bills", help="Bills.")] = False,
    status: Annotated[str | None, typer.Option(
        "--status", metavar="S", help="Only this status (DRAFT, SENT, SUBMITTED, "
        "AUTHORISED).")] = None,
    refresh_first: Annotated[bool, typer.Option("--refresh", help="Fetch first.")] = False,
    paid: Annotated[bool, typer.Option(
        "--paid", help="Invoices and bills paid instead, with their payments (since "
        "--since, or the last 90 days).")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="With --paid: payments dated from this day on "
        "(YYYY-MM-DD).")] = None,
) -> Result:
    """The open documents behind the summary, with their View in Xero links.

    The cache keeps open quotes (DRAFT, SENT) and unpaid invoices and bills (DRAFT,
    SUBMITTED, AUTHORISED); paid, voided and declined documents are not listed.
    With --paid: the invoices and bills paid from --since on (default: 90 days before
    today), each with its payments' dates and amounts (Xero's Payments: one call
    when the cache is current).
    """
    kinds = {k for k, on in zip(DOCUMENT_KINDS, (quotes, invoices, bills), strict=True) if on}
    if paid or since is not None:
        return _paid(rt, ref, kinds, status, since, paid, refresh_first)
    allowed = OPEN_STATUSES
    if status and status.upper() == "PAID":
        raise UsageError("details lists open documents; for paid invoices and bills use "
                         "--paid (and --since DATE)")
    if status and status.upper() not in allowed:
        raise UsageError(f"--status must be one of {', '.join(allowed)}: details lists open "
                         "documents only (paid ones: --paid)")
    found = rt.app.details(ref, kinds=kinds or ALL_KINDS, status=status,
                           refresh=refresh_first)
    rows = [_marked(_addressable(r)) for r in found.rows] if rt.out.is_human else found.rows
    # CSV's last: the id, which names a document without a number (a bill), kept after
    # the columns scripts already read by position
    columns = DOC_COLUMNS if rt.out.is_human else [*DOC_COLUMNS, EXPIRED, CSV_DOC_ID]
    rt.out.records(rows, columns if found.per_contact else
                   [CONTACT, *columns])  # whose each document is
    if found.rows and rt.out.is_human and rt.out.console.width < WIDE:
        rt.out.line("Numbers link to Xero in terminals that support links; --json and --csv "
                    "include the View in Xero links, and `xerolink view NUMBER` (or the "
                    "short id shown for a document without a number) prints one.")
    if found.stale:
        rt.out.notice(f"warning: Xero could not be reached; listed from the cache "
                      f"({found.problem})")
    return found


PAID_COLUMNS = [Column("type", "Type", drop=2),
                Column("number", "Number", link_key="link"),
                Column("paid_on", "Paid on", wrap=True),
                Column("paid", "Paid", justify="right"),
                Column("currency", "Currency"),
                Column("link", "View in Xero", wide_only=True)]
PAID_CSV = [Column("type", "Type"), Column("number", "Number"),
            Column("last_paid_on", "Last paid on"), Column("payment_count", "Payments"),
            Column("paid", "Paid"), Column("currency", "Currency"),
            Column("link", "View in Xero")]


def _paid(rt: Runtime, ref: str, kinds: set[str], status: str | None, since: str | None,
          paid: bool, refresh_first: bool) -> Result:
    """``details --paid``: refused with the options it does not take, before any call."""
    if not paid:
        raise UsageError("--since goes with --paid")
    if status:
        raise UsageError("--status is for open documents; --paid lists paid ones")
    if DocumentKind.QUOTE in kinds:
        raise UsageError("--quotes cannot go with --paid: quotes are never paid")
    first = _day(since) if since is not None else None
    found = rt.app.paid(ref, since=first, kinds=kinds or {DocumentKind.INVOICE,
                                                          DocumentKind.BILL},
                        refresh=refresh_first)
    if rt.out.is_human:
        rows = [{**r, "paid_on": ", ".join(f"{p['date']} ({p['amount']:,.2f})"
                                           for p in r["payments"])} for r in found.rows]
        columns = PAID_COLUMNS
    else:
        rows = [{**r, "payment_count": len(r["payments"])} for r in found.rows]
        columns = PAID_CSV
    rt.out.records(rows, columns if found.per_contact else [CONTACT, *columns],
                   empty=f"Nothing was paid from {found.since} on.",
                   json_data=found.to_json())
    if found.stale:
        rt.out.notice(f"warning: Xero could not be reached; listed from the cache "
                      f"({found.problem})")
    return found


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text[:30]!r} is not a date (YYYY-MM-DD)") from None


def view(
    rt: Runtime,
    target: Annotated[str, typer.Argument(metavar="REF|DOC_ID",
                                          help="A linked contact, or a document's id.")],
    open_browser: Annotated[bool, typer.Option("--open", help="Open it in the browser.")] = False,
    online: Annotated[bool, typer.Option(
        "--online", help="The customer's online invoice link instead (approved sales "
        "invoices only; one Xero call).")] = False,
) -> None:
    """Print (or open) the View in Xero link of a linked contact or a document.

    With --online, the link Xero gives the customer for a sales invoice
    (OnlineInvoice). Xero has none for quotes, bills or drafts: those are refused
    before any call, exit 6, saying why; Xero's own refusal is exit 6 too.
    """
    link: ViewLink | OnlineInvoice = (rt.app.online_invoice(target) if online
                                      else rt.app.view(target))
    if open_browser:
        import webbrowser

        if not webbrowser.open(link.url):
            rt.out.notice("could not open a browser; here is the link")
    rt.out.result(link, lambda: rt.out.line(link.url))


def pdf(
    rt: Runtime,
    document: Annotated[str, typer.Argument(
        metavar="DOC", help="An invoice, bill, quote or credit note: its number or id "
        "(as `view` takes them).")],
    output: Annotated[str | None, typer.Option(
        "-o", "--output", metavar="FILE",
        help="Where to write it: a file, a folder, or - for stdout (the PDF's bytes). "
        "Default: NUMBER.pdf in the current folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")
                     ] = False,
) -> None:
    """Save a document's PDF from Xero and print where (one Xero call for a cached
    document).

    The file is written whole or not at all (a temporary file beside it, then renamed)
    and never over an existing file without --force (exit 2, nothing written, no Xero
    call). With -o - the PDF's bytes go to stdout (not to a terminal) and nothing else
    does. An unknown document exits 5.
    """
    if output == "-":
        if force or not rt.out.is_human:
            raise UsageError("-o - writes the PDF itself to stdout: it takes no --force "
                             "and no --json")
        if not rt.out.takes_bytes():
            raise UsageError("stdout is a terminal: redirect it (-o - > file.pdf) or give "
                             "-o FILE")
        rt.out.binary(rt.app.pdf(document).data)
        return
    if output and output.endswith(("/", os.sep)) and not Path(output).is_dir():
        # a trailing slash names a folder, which Path() forgets: never a file named so
        raise UsageError(f"there is no folder {output}; nothing was written")
    saved = rt.app.save_pdf(document, Path(output) if output else None, force=force)
    rt.out.result(saved, lambda: rt.out.line(saved.path))


# -- create --------------------------------------------------------------------------------
def _create_examples(kind: str) -> list[str]:
    base = f"xerolink create-{kind} contact:42 --line \"Consulting;3;150\""
    if kind == DocumentKind.QUOTE:
        return [base + " --title Proposal --expiry-date 2026-12-31",
                "xerolink create-quote contact:42 --file quote.json --deal 9"]
    return [base + " --due-date 2026-12-20",
            f"xerolink create-{kind} contact:42 --line \"Widgets;10;12.50;200;OUTPUT2\" --json"]


def _creator(kind: str) -> Any:
    def create_document(
        rt: Runtime,
        ref: Annotated[str, typer.Argument(help="A linked CRM contact: contact:ID.")],
        line: Annotated[list[str] | None, typer.Option(
            "--line", help="\"description;quantity;unit_amount[;account_code[;tax_type]]\" "
            "(repeat for more lines).")] = None,
        file: Annotated[Path | None, typer.Option(
            "--file", help="A JSON document: {\"lines\": [{\"description\", \"quantity\", "
            "\"unit_amount\", \"account_code\", \"tax_type\"}], \"date\", ...}.")] = None,
        date_: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default "
                                                  "today).")] = None,
        due_date: Annotated[str | None, typer.Option(
            "--due-date", help="YYYY-MM-DD (invoices and bills).")] = None,
        expiry_date: Annotated[str | None, typer.Option(
            "--expiry-date", help="YYYY-MM-DD (quotes).")] = None,
        title: Annotated[str | None, typer.Option("--title", help="Quote title.")] = None,
        reference: Annotated[str | None, typer.Option(
            "--reference", help="Your reference on it: a purchase order number, say.")
        ] = None,
        currency: Annotated[str | None, typer.Option("--currency", help="e.g. USD.")] = None,
        deal: Annotated[str | None, typer.Option(
            "--deal", help="Also attach the new document to this deal (deal:ID or ID).")
        ] = None,
        approve: Annotated[bool, typer.Option(
            "--approve", help="Approve it once created (an invoice: AUTHORISED; a quote: "
            "SENT). Admins.")] = False,
        send: Annotated[bool, typer.Option(
            "--send", help="Approve it and email it to the contact through Xero "
            "(invoices only). Admins.")] = False,
        yes: Annotated[bool, typer.Option(
            "--yes", help="With --approve or --send: go ahead without asking.")] = False,
    ) -> None:
        from xerolink.services.create import draft_from

        draft = draft_from(kind, lines=line, file=file, date_=date_, due_date=due_date,
                           expiry_date=expiry_date, title=title, reference=reference,
                           currency=currency)
        created = rt.app.create(ref, draft, deal=deal, approve=approve, send=send,
                                confirm=_create_question(rt, yes))
        _created_notices(rt, created)
        rt.out.result(created, lambda: _created_human(rt, created))

    if kind == DocumentKind.BILL:  # a bill is approved in Xero, and never emailed
        _leave_out(create_document, ("approve", "send", "yes"))
    create_document.__name__ = f"create_{kind}"
    create_document.__doc__ = CREATE_HELP[DocumentKind(kind)] + (
               "\n\n    Lines from --line or --file; amounts are decimals (at most 4 places); "
               "the account code and tax type default to the config's; nothing is sent "
               "until every field checks out. The create carries an Idempotency-Key, "
               "and a note in the document's Xero history says who made it from what."
               + ("" if kind == DocumentKind.BILL else
                  "\n\n    --approve approves it once made; --send (invoices) also emails "
                  "it to the contact through Xero. Either asks first (--yes to skip); a "
                  "rerun after an interruption makes no second document or email."))
    return create_document


def _leave_out(function: Any, names: tuple[str, ...]) -> None:
    """The command without these options: its signature, as Typer reads it, less
    them. eval_str: this module's annotations are strings (``from __future__ import
    annotations``); a signature of strings loses each option's Annotated metadata,
    and Typer made ``date_`` into ``--date-``, with no help on any option."""
    signature = inspect.signature(function, eval_str=True)
    function.__signature__ = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.name not in names])


def _create_question(rt: Runtime, yes: bool) -> Callable[[Creating], None]:
    """Asked before anything is created, when the create goes on to approve or send."""
    def ask(plan: Creating) -> None:
        then = (f", approve it and email it to {plan.send_to}"
                + (f" (cc {', '.join(plan.cc)})" if plan.cc else "") if plan.send_to
                else ", and approve it" if plan.approve else "")
        article = "an" if plan.kind[0] in "aeiou" else "a"
        confirm(rt, f"Create the {plan.kind}{then}?", yes=yes, default=False,
                nothing_done="nothing was created",
                preamble=f"About to create {article} {plan.kind} for {plan.contact} "
                         f"({plural(plan.lines, 'line')}, {plan.subtotal:,.2f} "
                         f"{plan.currency} before tax){then}")

    return ask


def _created_notices(rt: Runtime, created: Created) -> None:
    if created.resumed:
        rt.out.notice(f"note: {created.resumed}")
    if created.sent is not None and created.sent.sending.resumed:
        rt.out.notice(f"note: {created.sent.sending.resumed}")
    if created.already_sent:
        rt.out.notice(f"note: not emailed again: {created.already_sent}")
    problems = [("its history note", created.problem),
                ("the approval's history note", created.approved.problem
                 if created.approved else ""),
                ("the email's history note", created.sent.problem if created.sent else "")]
    for what, problem in problems:
        if problem:
            rt.out.notice(f"warning: {what} was not added ({problem})")


def _created_human(rt: Runtime, created: Created) -> None:
    doc = created.document
    state = "draft " if doc.status == Status.DRAFT else ""
    rt.out.line(f"Created {state}{doc.kind} {doc.number or doc.document_id} for "
                f"{doc.total:,.2f} {doc.currency}"
                + (f", attached to deal:{created.deal}" if created.deal else "")
                + (f", {doc.status}" if created.approved else ""))
    if created.sent is not None:
        rt.out.line(f"Emailed to {created.sent.sending.to}" if created.sent.emailed else
                    f"Emailed to {created.sent.sending.to} by the interrupted run")
    rt.out.line(f"View in Xero: {created.link}")


# -- deals ---------------------------------------------------------------------------------
DEAL = Annotated[str, typer.Argument(help="deal:ID (or a bare deal id).",
                                     autocompletion=completion.deal_ref)]
DOC_IDS = Annotated[list[str], typer.Argument(metavar="DOC_ID...", help="Document ids.")]


@command(deal_app, "suggest", lists=True, examples=["xerolink deal suggest deal:9"])
def deal_suggest(
    rt: Runtime, deal: DEAL,
    refresh_first: Annotated[bool, typer.Option("--refresh", help="Fetch first.")] = False,
) -> None:
    """The open documents of the deal's primary contact and participants (those linked)."""
    found = rt.app.deal_suggest(deal, refresh=refresh_first)
    shown = [c for c in DOC_COLUMNS[:8] if c.key != "amount_due"]
    rt.out.records(found.rows, [DOC_ID, CONTACT, *shown, Column("attached", "Attached")])
    if found.unlinked:
        rt.out.notice(f"not linked, so not included: {', '.join(found.unlinked)}")


@command(deal_app, "attach", examples=["xerolink deal attach deal:9 7d0c6b3e-... 1a2b3c4d-..."])
def deal_attach(rt: Runtime, deal: DEAL, document_ids: DOC_IDS) -> None:
    """Attach documents (of the deal's linked people) to the deal."""
    _deal_result(rt, rt.app.deal_attach(deal, document_ids))


@command(deal_app, "detach", examples=["xerolink deal detach deal:9 7d0c6b3e-..."])
def deal_detach(rt: Runtime, deal: DEAL, document_ids: DOC_IDS) -> None:
    """Detach documents from the deal."""
    _deal_result(rt, rt.app.deal_detach(deal, document_ids))


@command(deal_app, "docs", lists=True, examples=["xerolink deal docs deal:9 --json"])
def deal_docs(rt: Runtime, deal: DEAL) -> None:
    """The documents attached to the deal."""
    rt.out.records(rt.app.deal_documents(deal).rows, [DOC_ID, *DOC_COLUMNS],
                   empty="No documents are attached")


def _marked(row: dict[str, Any]) -> dict[str, Any]:
    """An expired quote's status reads "SENT (expired)": still open, but lapsed."""
    return {**row, "status": f"{row['status']} (expired)"} if row.get("expired") else row


def _addressable(row: dict[str, Any]) -> dict[str, Any]:
    """A draft bill may have no number: its row shows the short id instead, which
    `view` and `deal attach` accept, so that no two rows read the same."""
    if row.get("number"):
        return row
    return {**row, "number": str(row["document_id"])[:SHORT_ID]}


def _deal_result(rt: Runtime, change: DealChange) -> None:
    def human() -> None:
        preposition = "to" if change.verb == "attached" else "from"
        rt.out.line(f"{plural(change.count, 'document')} {change.verb} {preposition} "
                    f"{change.deal}")

    rt.out.result(change, human)

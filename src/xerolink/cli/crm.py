"""``xerolink crm``: the CRM contacts, companies and deals xerolink knows, from files
or from a live CRM source (Salesmate)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xerolink.cli import completion
from xerolink.cli._runtime import Runtime, command, confirm
from xerolink.errors import CrmRefusedError, UsageError
from xerolink.render import Column, plural
from xerolink.vocabulary import PLURALS, RECORD_PLURALS, SINGULARS, RecordKind

if TYPE_CHECKING:  # the services load when a command runs, not for --help
    from xerolink.services.crmpush import PushReport
    from xerolink.services.lease import LeaseBusy

app = typer.Typer(no_args_is_help=True)

# Emails, references and phone numbers are shown whole; names wrap between words. At
# a narrow terminal "Gone", then the phone, then the company give way (drop rank).
CONTACT_COLUMNS = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
                   Column("email", "Email"),
                   Column("phone", "Phone", drop=2), Column("company_id", "Company", drop=1),
                   Column("xero_contact", "Xero contact", wrap=True),
                   Column("source", "Source", wide_only=True),
                   Column("gone", "Gone", drop=3)]
COMPANY_COLUMNS = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
                   Column("members", "Members", justify="right"),
                   Column("linked_members", "Linked", justify="right"),
                   Column("gone", "Gone", optional=True)]
DEAL_COLUMNS = [Column("ref", "Reference"), Column("title", "Title", wrap=True),
                Column("value", "Value", justify="right"), Column("currency", "Currency"),
                Column("primary_contact_id", "Primary contact", wrap=True),
                Column("participant_ids", "Participants", wrap=True),
                Column("gone", "Gone", drop=1)]


@command(app, "import", examples=[
    "xerolink crm import contacts.csv",
    "xerolink crm import deals.json --kind deals",
    "xerolink crm import export.ndjson --skip-invalid --json",
])
def import_records(
    rt: Runtime,
    file: Annotated[Path, typer.Argument(help="CSV (any common dialect), JSON or NDJSON.")],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="contacts, companies or deals (detected from the columns if not "
        "given).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip bad rows and report them instead of rejecting the "
        "file.")] = False,
) -> None:
    """Import CRM records, upserting by id, the whole file in one transaction.

    Columns: contacts id, first_name, last_name, email, phone, company_id; companies
    id, name; deals id, title, value, currency, primary_contact_id, participant_ids
    (separated by ';' in CSV, a list in JSON).
    """
    result = rt.app.crm_import(file, kind=kind, skip_invalid=skip_invalid)

    def human() -> None:
        one = SINGULARS[result.kind]
        skipped = f"; skipped {plural(len(result.skipped), 'invalid row')}" \
            if result.skipped else ""
        rt.out.line(f"Imported {plural(result.imported, one)} from {result.file_name}{skipped}")
        if result.skipped:
            rt.out.records(result.skipped, [Column("row", "Row", justify="right"),
                                            Column("reason", "Why it was skipped", wrap=True)])

    rt.out.result(result, human)


@command(app, "list", lists=True, examples=[
    "xerolink crm list", "xerolink crm list companies", "xerolink crm list deals --csv"])
def list_records(
    rt: Runtime,
    kind: Annotated[str, typer.Argument(
        help="contacts, companies or deals.")] = RecordKind.CONTACT.plural,
) -> None:
    """List CRM records of one kind."""
    columns = dict(zip(RECORD_PLURALS, (CONTACT_COLUMNS, COMPANY_COLUMNS, DEAL_COLUMNS),
                       strict=True))
    if kind not in columns:
        raise UsageError("list contacts, companies or deals")
    rt.out.records(rt.app.crm_list(kind).rows, columns[kind])


@command(app, "show", examples=["xerolink crm show contact:42", "xerolink crm show company:7",
                                "xerolink crm show deal:9 --json"])
def show(rt: Runtime, ref: Annotated[str, typer.Argument(
        help="contact:ID, company:ID, deal:ID, or a bare contact id.",
        autocompletion=completion.any_ref)]) -> None:
    """Show one CRM record, with its link or members."""
    record = rt.app.crm_show(ref)
    if record.kind == RecordKind.COMPANY:
        def human() -> None:
            rt.out.line(f"{record.row['name']} ({record.ref})")
            for label, value in _crm_fields(rt, record.kind, record.row):
                rt.out.line(f"{label}: {value}")
            rt.out.records(record.members, CONTACT_COLUMNS, empty="No member contacts")

        rt.out.result(record, human)
        return
    columns = CONTACT_COLUMNS if record.kind == RecordKind.CONTACT else DEAL_COLUMNS
    extra = [("Xero ContactID", record.row["xero_contact_id"])] \
        if record.kind == RecordKind.CONTACT else []
    extra += _crm_fields(rt, record.kind, record.row)
    if not rt.out.is_human:
        rt.out.key_values([], json_data=record.to_json())
        return
    named = _with_names(rt, record.row)
    if "source" in record.row and not record.row["source"]:
        named["source"] = "file (crm import)"  # the store keeps no file name
    rt.out.key_values([(c.header, named.get(c.key, record.row[c.key])) for c in columns]
                      + extra)


def _with_names(rt: Runtime, row: dict[str, Any]) -> dict[str, str]:
    """A contact's company and a deal's people by name beside their ids:
    ``summit (Summit Partners)``, ``c2 (Sam Reid), c4 (Aroha Turner)``."""
    from xerolink.errors import NotFoundError

    def named(kind: str, ident: str | None) -> str:
        if not ident:
            return ""
        try:
            found = rt.app.crm_show(f"{kind}:{ident}").row
        except NotFoundError:
            return f"{ident} (not in xerolink)"
        name = found.get("name") or found.get("email")
        return f"{ident} ({name})" if name else ident

    shown: dict[str, str] = {}
    if "company_id" in row:
        shown["company_id"] = named("company", row.get("company_id"))
    if "primary_contact_id" in row:
        shown["primary_contact_id"] = named("contact", row.get("primary_contact_id"))
        shown["participant_ids"] = ", ".join(named("contact", i)
                                             for i in row.get("participant_ids") or [])
    return shown


def _crm_fields(rt: Runtime, kind: str, row: dict[str, Any]) -> list[tuple[str, str]]:
    """The source's pushed fields, each labelled with the figure xerolink writes there:
    ``Salesmate textCustomField1 (xero_contact)``."""
    from xerolink.config import PUSH_FIGURES, push_key

    source = str(row.get("source") or "")
    fields = row.get("crm_fields") or {}
    if not fields:
        return []
    figures = {}
    for figure in PUSH_FIGURES[kind]:
        chosen = rt.config.get(push_key(source, kind, figure))
        if chosen:
            figures[str(chosen)] = figure
    return [(f"{source.capitalize()} {name}" + (f" ({figures[name]})" if name in figures
                                                else ""), value or "(empty)")
            for name, value in fields.items()]


@command(app, "remove", examples=["xerolink crm remove contact:42",
                                  "xerolink crm remove deal:9 --yes"])
def remove(rt: Runtime, ref: Annotated[str, typer.Argument(
        help="contact:ID, company:ID or deal:ID.", autocompletion=completion.any_ref)],
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
           ) -> None:
    """Remove a CRM record. A contact's links and a deal's attached documents go too.

    Asks on a terminal; with no terminal (a script, a pipe) it needs --yes.
    """
    record = rt.app.crm_show(ref)  # refused or unknown: said before anything is asked
    name = record.row.get("name") or record.row.get("title")
    what = record.ref + (f" ({name})" if name else "")
    if record.kind == RecordKind.CONTACT and record.row.get("xero_contact_id"):
        what += f" and its link to {record.row['xero_contact']}"
    confirm(rt, f"Remove {what}?", yes=yes, default=False, nothing_done="nothing was removed")
    removed = rt.app.crm_remove(ref)
    rt.out.result(removed, lambda: rt.out.line(f"Removed {removed.removed}"))


# -- a live CRM source ----------------------------------------------------------------
@command(app, "connect", examples=[
    "XEROLINK_SALESMATE_TOKEN=... xerolink crm connect salesmate --linkname acme",
    "printf '%s\\n' \"$TOKEN\" | xerolink crm connect salesmate --linkname acme --token-stdin",
])
def connect(
    rt: Runtime,
    source: Annotated[str, typer.Argument(help="The CRM: salesmate.")],
    linkname: Annotated[str, typer.Option(
        "--linkname", help="Your Salesmate account: the NAME in https://NAME.salesmate.io.")],
    token_stdin: Annotated[bool, typer.Option(
        "--token-stdin", help="Read the access token from stdin [else "
        "XEROLINK_SALESMATE_TOKEN].")] = False,
    salesmate_url: Annotated[str | None, typer.Option(
        "--salesmate-url", help="A Salesmate-compatible server instead of "
        "https://NAME.salesmate.io, e.g. the sandbox [env: XEROLINK_SALESMATE_URL].")] = None,
) -> None:
    """Connect a live CRM source (admins): one call checks the account and the token,
    which is then kept like Xero's tokens (OS keyring, or the opt-in token file; the
    team database in team mode) and never printed.

    The token is Salesmate's access token (My Account > Access Key). Exits 8 when
    Salesmate refuses the token or the linkname, 9 when it cannot be reached.
    """
    import sys

    from xerolink.redact import register_secret

    if token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = (rt.env.get("XEROLINK_SALESMATE_TOKEN") or "").strip()
    register_secret(token)
    if not token:
        raise UsageError("no Salesmate access token: pipe it to --token-stdin or set "
                         "XEROLINK_SALESMATE_TOKEN (Salesmate: My Account > Access Key)")
    state = rt.app.crm_connect(source.strip().lower(), linkname=linkname, token=token,
                               url=salesmate_url)

    def human() -> None:
        rt.out.line(f"Connected {state.source} account {state.account} "
                    f"({plural(state.contacts_at_source or 0, 'contact')} there); next: "
                    "xerolink crm pull")

    rt.out.result(state, human)


@command(app, "disconnect", examples=["xerolink crm disconnect"])
def disconnect(rt: Runtime) -> None:
    """Forget the CRM source and its token (admins). Pulled records and their links
    stay; connecting the same account again carries on from them."""
    state = rt.app.crm_disconnect()
    rt.out.result(state, lambda: rt.out.line(
        f"Disconnected {state.disconnected}; pulled records and links are kept"))


WAIT_HELP = ("If another pull, push or update is running (this profile, or any machine "
             "of the team), wait for it (at most 15 minutes) instead of stopping at once.")


def _not_run(rt: Runtime, busy: LeaseBusy) -> None:
    """Another pass holds the CRM lease: say whose, and exit 0 (the work is being done)."""
    rt.out.result(busy.result, lambda: rt.out.line(busy.result.message))


@command(app, "pull", examples=["xerolink crm pull", "xerolink crm pull --full",
                                "xerolink crm pull --json"])
def pull(
    rt: Runtime,
    full: Annotated[bool, typer.Option(
        "--full", help="Read every record again, not only what changed (after choosing "
        "new push fields, or to check for deletions at once).")] = False,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
) -> None:
    """Read the CRM source's contacts, companies and deals (with their primary contact
    and participants) into xerolink: everything the first time, then only what changed.

    References are the source's ids (contact:1234), so links survive every pull.
    Records deleted in the CRM are marked gone. Nothing is written unless the whole
    pull was read. Once Xero is connected, an admin runs it (it uses the CRM account's
    token, an admin's); everyone granted reads what was pulled.
    """
    from xerolink.services.lease import LeaseBusy

    try:
        with rt.out.progress("Pulling from the CRM") as progress:
            def step(kind: str, done: int, total: int | None) -> None:
                progress(done, total, f"Reading {PLURALS[kind]}")

            report = rt.app.crm_pull(full=full, progress=step, wait=wait)
    except LeaseBusy as busy:
        return _not_run(rt, busy)

    def human() -> None:
        rows = [{"kind": PLURALS[k], "read": v.read, "written": v.written,
                 "gone": len(v.gone), "full": "full" if v.full else "changes only",
                 "calls": v.calls} for k, v in report.kinds.items()]
        rt.out.records(rows, [Column("kind", "Records"),
                              Column("full", "Read"),
                              Column("read", "Received", justify="right"),
                              Column("written", "New or changed", justify="right"),
                              Column("gone", "Gone", justify="right"),
                              Column("calls", "Calls", justify="right")])
        gone = [f"{k}:{i}" for k, v in report.kinds.items() for i in v.gone]
        if gone:
            rt.out.line(f"Marked gone (deleted in {report.source}): {', '.join(gone[:20])}"
                        + (f" and {len(gone) - 20} more" if len(gone) > 20 else ""))
        unconfirmed = [plural(v.unconfirmed, k, PLURALS[k])
                       for k, v in report.kinds.items() if v.unconfirmed]
        if unconfirmed:
            rt.out.line(f"Missing from {report.source}'s answer but not yet confirmed gone: "
                        f"{', '.join(unconfirmed)} (kept; asked for by id at the next pull)")

    rt.out.result(report, human)


@command(app, "push", examples=["xerolink crm push --dry-run --verbose", "xerolink crm push",
                                "xerolink crm push --concurrency 8 --json"])
def push(
    rt: Runtime,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would change; write nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", help="Records written at once, 1 to 16 (each is a read and "
        "an update; the next records are read beside the updates; a rate limit pauses "
        "them all).")] = 4,
) -> None:
    """Write the linked Xero contact (name and View in Xero link) and the summary
    figures into the CRM's fields, only where a value changed.

    Choose the fields first: `xerolink config set salesmate.fields.open_quotes
    decimalCustomField1` (and salesmate.company_fields.*, salesmate.deal_fields.*).
    Figures come from xerolink's cache: `xerolink refresh --all` reads Xero.
    An admin runs it (it uses the CRM account's token, an admin's).
    Prints one summary line; --verbose lists every field changed (--json always does).
    """
    from xerolink.services.lease import LeaseBusy

    try:
        with rt.out.progress("Writing to the CRM") as progress:
            def step(kind: str, done: int, total: int | None) -> None:
                progress(done, total, f"Writing {PLURALS[kind]}")

            report = rt.app.crm_push(dry_run=dry_run, progress=step, wait=wait,
                                     concurrency=concurrency)
    except LeaseBusy as busy:
        return _not_run(rt, busy)
    for note in report.notes:
        rt.out.notice(f"note: {note}")

    def human() -> None:
        if rt.verbose and report.changes:  # --verbose: every field, then the line
            rt.out.records([c.to_json() for c in report.changes],
                           [Column("record", "Record"), Column("field", "Field"),
                            Column("figure", "Figure"), Column("from", "From", wrap=True),
                            Column("to", "To", wrap=True)])
        rt.out.line(push_summary(report))
        if report.refused:
            rt.out.records(report.refused, [Column("record", "Refused"),
                                            Column("reason", "Why", wrap=True)])

    rt.out.result(report, human)
    if report.refused:
        raise CrmRefusedError(f"{report.source} refused {plural(len(report.refused), 'record')}"
                              f" (the others were written): {report.refused[0]['reason']}")


def push_summary(report: PushReport) -> str:
    """``crm push``'s one line: ``Wrote 12 records in salesmate (36 fields); 176 already
    up to date; 2 edited in salesmate since the pull (their edits kept)``."""
    written = sum(report.records_written.values())
    unchanged = sum(report.unchanged.values())
    verb = "Would write" if report.dry_run else "Wrote"
    line = (f"{verb} {plural(written, 'record')} in {report.source} "
            f"({plural(len(report.changes), 'field')}); {unchanged} already up to date")
    edited = sum(report.changed_since_pull.values())
    if edited:
        line += (f"; {plural(edited, 'record')} edited in {report.source} since the pull "
                 "(their edits kept)")
    if report.refused:
        line += f"; {len(report.refused)} refused"
    return line


def _register_update() -> None:
    from xerolink.cli import crmupdate

    crmupdate.register(app)


_register_update()  # `crm update` lives in its own module

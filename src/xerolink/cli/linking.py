"""``suggest``, ``search``, ``link``, ``unlink``, ``links`` and ``create-contact``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli import completion
from xerolink.cli._runtime import Runtime, command, confirm
from xerolink.errors import UsageError
from xerolink.formats import natural
from xerolink.render import Column
from xerolink.vocabulary import RecordKind

if TYPE_CHECKING:
    from xerolink.services.outcomes import AutoLinked

REF = Annotated[str, typer.Argument(help="A CRM contact: contact:ID or a bare id.",
                                    autocompletion=completion.contact_ref)]
XERO_COLUMNS = [Column("name", "Name", wrap=True), Column("email", "Email"),
                Column("xero_contact_id", "ContactID", short_id=True)]
LINK_COLUMNS = [Column("crm", "CRM record"), Column("crm_name", "CRM name", wrap=True),
                Column("crm_email", "CRM email", optional=True),
                Column("xero_name", "Xero contact", wrap=True),
                Column("xero_contact_id", "Xero ContactID", short_id=True),
                Column("linked_by", "Linked by", wide_only=True),
                Column("linked_at", "Linked at", wide_only=True)]


def register(app: typer.Typer) -> None:
    command(app, "suggest", lists=True, examples=[
        "xerolink suggest contact:42", "xerolink suggest 42 --json"])(suggest)
    command(app, "search", lists=True, examples=[
        "xerolink search Ngata", "xerolink search --first Aroha --last Ngata"])(search)
    command(app, "link", examples=[
        "xerolink link contact:42 3f1c9d2e-0b7a-4c41-9a51-2f6a4b0c7d11",
        "xerolink link contact:42 --first",
        "xerolink link --auto --dry-run",
        "xerolink link --auto --json"])(link)
    command(app, "unlink", examples=["xerolink unlink contact:42"])(unlink)
    command(app, "links", lists=True, examples=["xerolink links", "xerolink links --csv"])(links)
    command(app, "create-contact", examples=[
        "xerolink create-contact contact:42",
        "xerolink create-contact contact:42 --name 'Ngata Design Ltd' --yes"])(create_contact)


def suggest(rt: Runtime, ref: REF) -> None:
    """Xero contacts that may be this CRM contact: by email (including contact
    persons'), then by name, ranked, each with why it matched."""
    found = rt.app.suggest(ref)
    rt.out.records(found.rows, [*XERO_COLUMNS, Column("score", "Score", justify="right"),
                                Column("reason", "Why", wrap=True)], title=found.title)


def search(
    rt: Runtime,
    text: Annotated[str | None, typer.Argument(help="Text to look for in names and "
                                               "emails.")] = None,
    first: Annotated[str | None, typer.Option("--first", help="First name.")] = None,
    last: Annotated[str | None, typer.Option("--last", help="Last name.")] = None,
) -> None:
    """Search Xero contacts by name (one Xero call)."""
    rt.out.records(rt.app.search(text, first=first, last=last).rows, XERO_COLUMNS)


def link(
    rt: Runtime,
    ref: Annotated[str | None, typer.Argument(help="A CRM contact: contact:ID or a bare "
                                              "id.", autocompletion=completion.contact_ref)
                   ] = None,
    xero_contact_id: Annotated[str | None, typer.Argument(
        metavar="XERO_CONTACT_ID", help="The Xero ContactID to link.")] = None,
    first: Annotated[bool, typer.Option("--first", help="Link the top suggestion.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace an existing link to another Xero contact.")] = False,
    auto: Annotated[bool, typer.Option(
        "--auto", help="Link every unlinked CRM contact whose email matches exactly one "
        "Xero contact.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --auto: report, link nothing.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With --auto: start even if the job looks larger than what is left "
        "of Xero's daily call allowance.")] = False,
) -> None:
    """Link a CRM contact to one Xero contact (checked to exist first)."""
    if auto:
        if ref or xero_contact_id or first or replace:
            raise UsageError("--auto takes no reference, ContactID, --first or --replace")
        _auto(rt, dry_run, force)
        return
    if dry_run or force:
        raise UsageError("--dry-run and --force go with --auto")
    if not ref:
        raise UsageError("name the CRM contact to link (or use --auto)")
    result = rt.app.link(ref, xero_contact_id, first=first, replace=replace)
    new = result.link

    def human() -> None:
        if result.unchanged:
            rt.out.line(f"{result.crm} is already linked to {new.xero_name} "
                        f"({new.xero_contact_id})")
        else:
            rt.out.line(f"Linked {result.crm} to {new.xero_name} ({new.xero_contact_id})"
                        + (f", replacing {result.replaced.xero_name}"
                           if result.replaced else ""))

    rt.out.result(result, human)


def _auto(rt: Runtime, dry_run: bool, force: bool) -> None:
    with rt.out.progress("Reading Xero contacts") as progress:
        report = rt.app.auto_link(dry_run=dry_run, progress=progress, force=force)
    rt.out.result(report, lambda: _auto_human(rt, report))


def _auto_human(rt: Runtime, report: AutoLinked) -> None:
    dry_run = report.dry_run
    verb = "Would link" if dry_run else "Linked"
    rt.out.key_values([
        (verb, len(report.linked)),
        ("Ambiguous (several Xero contacts share the email)", len(report.ambiguous)),
        ("Unmatched", len(report.unmatched)),
        ("Already linked before this run", report.already_linked),
        ("Xero calls", report.xero_calls),
    ], title="Auto-link" + (" (dry run)" if dry_run else ""))
    shown = 20
    if report.ambiguous:
        rows = [{"crm": a["crm"] if n == 0 else "", "email": a["email"] if n == 0 else "",
                 "candidate": f"{c['xero_contact_id'][:8]} {c['xero_name']}",
                 "command": f"xerolink link {a['crm']} {c['xero_contact_id'][:8]}"}
                for a in sorted(report.ambiguous, key=lambda a: natural(a["crm"]))[:shown]
                for n, c in enumerate(a["candidates"])]
        rt.out.records(rows, [Column("crm", "CRM record"), Column("email", "Email"),
                              Column("candidate", "Xero candidate", wrap=True),
                              Column("command", "To link it")],
                       title="Ambiguous: several Xero contacts share the email; choose one")
        if len(report.ambiguous) > shown:
            rt.out.line(f"... and {len(report.ambiguous) - shown} more; --json lists them all")
    if report.unmatched:
        rows = sorted(report.unmatched, key=lambda u: natural(u["crm"]))[:shown]
        rt.out.records(rows, [Column("crm", "CRM record"), Column("email", "Email"),
                              Column("reason", "Why", wrap=True)],
                       title="Unmatched: find them with `xerolink suggest REF`, or create "
                             "them with `xerolink create-contact REF`")
        if len(report.unmatched) > shown:
            rt.out.line(f"... and {len(report.unmatched) - shown} more; --json lists them all")


def unlink(rt: Runtime, ref: REF) -> None:
    """Remove a CRM contact's link to Xero."""
    result = rt.app.unlink(ref)
    rt.out.result(result, lambda: rt.out.line(
        f"Unlinked {result.crm} from {result.link.xero_name} ({result.link.xero_contact_id})"))


def links(rt: Runtime) -> None:
    """Every link in the connected organisation: CRM record, Xero contact, who, when."""
    rt.out.records(rt.app.links().rows, LINK_COLUMNS)


def create_contact(
    rt: Runtime,
    ref: REF,
    name: Annotated[str | None, typer.Option("--name", help="Xero contact name (unique "
                                             "in Xero).")] = None,
    first_name: Annotated[str | None, typer.Option(
        "--first-name", help="First name (default: the CRM record's).")] = None,
    last_name: Annotated[str | None, typer.Option(
        "--last-name", help="Last name (default: the CRM record's).")] = None,
    email: Annotated[str | None, typer.Option(
        "--email", help="Email address (default: the CRM record's).")] = None,
    phone: Annotated[str | None, typer.Option(
        "--phone", help="Phone number (default: the CRM record's).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Link the new contact even if one is linked already.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Create the Xero contact from the CRM record (flags override fields) and link it.

    Shows what will be sent and asks on a terminal; with no terminal (a script, a
    pipe) it needs --yes. If Xero refuses (a duplicate name, say), nothing is linked.
    """
    fields = {"name": name, "first_name": first_name, "last_name": last_name,
              "email": email, "phone": phone}
    record = rt.app.crm_show(ref)
    if record.kind == RecordKind.CONTACT and record.row.get("xero_contact_id") and not replace:
        raise UsageError(f"{record.ref} is already linked to {record.row['xero_contact']} "
                         f"({record.row['xero_contact_id']}); pass --replace to link a new one")
    new = rt.app.contact_preview(ref, **fields)  # not connected: said before asking
    tenant = new.tenant_name
    confirm(rt, "Create this Xero contact?", yes=yes, default=True,
            nothing_done="nothing was created",
            preamble=f"About to create in {tenant}: Name={new.name!r} "
                     f"FirstName={new.first_name!r} LastName={new.last_name!r} "
                     f"EmailAddress={new.email!r} Phone={new.phone!r}")
    result = rt.app.create_contact(ref, replace=replace, **fields)
    rt.out.result(result, lambda: rt.out.line(
        f"Created Xero contact {result.link.xero_name} ({result.link.xero_contact_id}) "
        f"and linked it to {result.crm}"))

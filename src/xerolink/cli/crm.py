"""``xerolink crm``: the CRM contacts, companies and deals xerolink knows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xerolink.cli import completion
from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError
from xerolink.render import Column, plural

app = typer.Typer(no_args_is_help=True)

CONTACT_COLUMNS = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
                   Column("email", "Email", wrap=True),
                   Column("phone", "Phone"), Column("company_id", "Company"),
                   Column("xero_contact", "Xero contact")]
COMPANY_COLUMNS = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
                   Column("members", "Members", justify="right"),
                   Column("linked_members", "Linked", justify="right")]
DEAL_COLUMNS = [Column("ref", "Reference"), Column("title", "Title", wrap=True),
                Column("value", "Value", justify="right"), Column("currency", "Currency"),
                Column("primary_contact_id", "Primary contact"),
                Column("participant_ids", "Participants")]


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
        one = {"contacts": "contact", "companies": "company", "deals": "deal"}[result.kind]
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
    kind: Annotated[str, typer.Argument(help="contacts, companies or deals.")] = "contacts",
) -> None:
    """List CRM records of one kind."""
    columns = {"contacts": CONTACT_COLUMNS, "companies": COMPANY_COLUMNS,
               "deals": DEAL_COLUMNS}
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
    if record.kind == "company":
        def human() -> None:
            rt.out.line(f"{record.row['name']} ({record.ref})")
            rt.out.records(record.members, CONTACT_COLUMNS, empty="No member contacts")

        rt.out.result(record, human)
        return
    columns = CONTACT_COLUMNS if record.kind == "contact" else DEAL_COLUMNS
    extra = [("Xero ContactID", record.row["xero_contact_id"])] \
        if record.kind == "contact" else []
    rt.out.key_values([(c.header, record.row[c.key]) for c in columns] + extra,
                      json_data=record.to_json())


@command(app, "remove", examples=["xerolink crm remove contact:42"])
def remove(rt: Runtime, ref: Annotated[str, typer.Argument(
        help="contact:ID, company:ID or deal:ID.", autocompletion=completion.any_ref)]
           ) -> None:
    """Remove a CRM record. A contact's links and a deal's attached documents go too."""
    removed = rt.app.crm_remove(ref)
    rt.out.result(removed, lambda: rt.out.line(f"Removed {removed.removed}"))

"""``xerolink crm``: the CRM contacts, companies and deals xerolink knows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from xerolink.cli import completion
from xerolink.cli._runtime import Runtime, command
from xerolink.errors import NotFoundError, UsageError
from xerolink.render import Column, natural, plural

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
    from xerolink.services import access
    from xerolink.services.crm import KINDS, import_file

    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
    access.require_viewer_if_connected(rt.store, rt.user)
    result = import_file(rt.store, file, kind=kind, skip_invalid=skip_invalid,
                         at=rt.clock.now())
    if rt.out.is_human:
        one = {"contacts": "contact", "companies": "company", "deals": "deal"}[result.kind]
        skipped = f"; skipped {plural(len(result.skipped), 'invalid row')}" \
            if result.skipped else ""
        rt.out.line(f"Imported {plural(result.imported, one)} from {file.name}{skipped}")
        if result.skipped:
            rt.out.records(result.skipped, [Column("row", "Row", justify="right"),
                                            Column("reason", "Why it was skipped", wrap=True)])
    else:
        rt.out.json({"kind": result.kind, "format": result.fmt, "imported": result.imported,
                     "skipped": result.skipped})


@command(app, "list", lists=True, examples=[
    "xerolink crm list", "xerolink crm list companies", "xerolink crm list deals --csv"])
def list_records(
    rt: Runtime,
    kind: Annotated[str, typer.Argument(help="contacts, companies or deals.")] = "contacts",
) -> None:
    """List CRM records of one kind."""
    from xerolink.services import access

    connection = access.require_viewer_if_connected(rt.store, rt.user)
    links = {} if connection is None else {
        v.link.crm_contact_id: v.link for v in rt.store.list_link_views(connection.tenant_id)}
    if kind == "contacts":
        rows = [_contact_row(c, links.get(c.id)) for c in rt.store.list_crm_contacts()]
        rt.out.records(sorted(rows, key=lambda r: natural(r["ref"])), CONTACT_COLUMNS)
    elif kind == "companies":
        rows = []
        for company in rt.store.list_crm_companies():
            members = rt.store.company_members(company.id)
            rows.append({"ref": f"company:{company.id}", "id": company.id, "name": company.name,
                         "members": len(members),
                         "linked_members": sum(1 for m in members if m.id in links)})
        rt.out.records(rows, COMPANY_COLUMNS)
    elif kind == "deals":
        rt.out.records([_deal_row(d) for d in rt.store.list_crm_deals()], DEAL_COLUMNS)
    else:
        raise UsageError("list contacts, companies or deals")


def _contact_row(contact: Any, link: Any) -> dict[str, Any]:
    return {"ref": f"contact:{contact.id}", "id": contact.id, "name": contact.name,
            "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email, "phone": contact.phone, "company_id": contact.company_id,
            "xero_contact": link.xero_name if link else None,
            "xero_contact_id": link.xero_contact_id if link else None}


def _deal_row(deal: Any) -> dict[str, Any]:
    return {"ref": f"deal:{deal.id}", "id": deal.id, "title": deal.title, "value": deal.value,
            "currency": deal.currency, "primary_contact_id": deal.primary_contact_id,
            "participant_ids": list(deal.participant_ids)}


@command(app, "show", examples=["xerolink crm show contact:42", "xerolink crm show company:7",
                                "xerolink crm show deal:9 --json"])
def show(rt: Runtime, ref: Annotated[str, typer.Argument(
        help="contact:ID, company:ID, deal:ID, or a bare contact id.",
        autocompletion=completion.any_ref)]) -> None:
    """Show one CRM record, with its link or members."""
    from xerolink.services import access
    from xerolink.services.crm import parse_ref

    target = parse_ref(ref)
    connection = access.require_viewer_if_connected(rt.store, rt.user)
    tenant = connection.tenant_id if connection else None

    def link_of(contact_id: str) -> Any:
        return rt.store.get_link(tenant, contact_id) if tenant else None

    if target.kind == "contact":
        contact = rt.store.get_crm_contact(target.id)
        if contact is None:
            raise NotFoundError(f"no CRM contact {target}")
        row = _contact_row(contact, link_of(contact.id))
        rt.out.key_values([(c.header, row[c.key]) for c in CONTACT_COLUMNS]
                          + [("Xero ContactID", row["xero_contact_id"])], json_data=row)
    elif target.kind == "company":
        company = rt.store.get_crm_company(target.id)
        if company is None:
            raise NotFoundError(f"no CRM company {target}")
        members = [_contact_row(m, link_of(m.id)) for m in rt.store.company_members(company.id)]
        if rt.out.is_human:
            rt.out.line(f"{company.name} (company:{company.id})")
            rt.out.records(members, CONTACT_COLUMNS, empty="No member contacts")
        else:
            rt.out.json({"ref": str(target), "id": company.id, "name": company.name,
                         "members": members})
    else:
        deal = rt.store.get_crm_deal(target.id)
        if deal is None:
            raise NotFoundError(f"no CRM deal {target}")
        row = _deal_row(deal)
        rt.out.key_values([(c.header, row[c.key]) for c in DEAL_COLUMNS], json_data=row)


@command(app, "remove", examples=["xerolink crm remove contact:42"])
def remove(rt: Runtime, ref: Annotated[str, typer.Argument(
        help="contact:ID, company:ID or deal:ID.", autocompletion=completion.any_ref)]
           ) -> None:
    """Remove a CRM record. A contact's links and a deal's attached documents go too."""
    from xerolink.services import access
    from xerolink.services.crm import parse_ref

    target = parse_ref(ref)
    access.require_viewer_if_connected(rt.store, rt.user)
    if not rt.store.delete_crm_record(target.kind, target.id):
        raise NotFoundError(f"no CRM {target.kind} {target}")
    if rt.out.is_human:
        rt.out.line(f"Removed {target}")
    else:
        rt.out.json({"removed": str(target)})

"""CRM records as xerolink lists and shows them: each contact with its link, each
company with its members, each deal with its people."""

from __future__ import annotations

from xerolink.errors import NotFoundError, UsageError
from xerolink.formats import natural
from xerolink.services.crm import Ref
from xerolink.services.outcomes import CrmRecord, Removed, Row, Rows
from xerolink.store import Store
from xerolink.store.models import CrmContact, CrmDeal, Link
from xerolink.vocabulary import RECORD_PLURALS, RecordKind

KINDS = RECORD_PLURALS


def contact_row(contact: CrmContact, link: Link | tuple[str, str] | None) -> Row:
    """A CRM contact for listing; ``link`` is its Link or (Xero ContactID, name)."""
    xero = (link.xero_contact_id, link.xero_name) if isinstance(link, Link) else link
    return {"ref": f"contact:{contact.id}", "id": contact.id, "name": contact.name,
            "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email, "phone": contact.phone, "company_id": contact.company_id,
            "xero_contact": xero[1] if xero else None,
            "xero_contact_id": xero[0] if xero else None, "source": contact.source,
            "gone": contact.gone}


def deal_row(deal: CrmDeal) -> Row:
    return {"ref": f"deal:{deal.id}", "id": deal.id, "title": deal.title, "value": deal.value,
            "currency": deal.currency, "primary_contact_id": deal.primary_contact_id,
            "participant_ids": list(deal.participant_ids), "source": deal.source,
            "gone": deal.gone}


def list_records(store: Store, tenant_id: str | None, kind: str) -> Rows:
    """Every record of one kind, contacts in natural order of their references."""
    if kind not in KINDS:
        raise UsageError("list contacts, companies or deals")
    if kind == RecordKind.CONTACT.plural:
        rows = [{"ref": f"contact:{cid}", "id": cid,
                 "name": " ".join(p for p in (first, last) if p), "first_name": first,
                 "last_name": last, "email": email, "phone": phone, "company_id": company,
                 "xero_contact": xero_name, "xero_contact_id": xero_id, "source": source,
                 "gone": bool(gone)}
                for cid, first, last, email, phone, company, xero_id, xero_name, source, gone
                in store.crm_contact_listing(tenant_id)]
        return Rows(sorted(rows, key=lambda r: natural(r["ref"])))
    if kind == RecordKind.COMPANY.plural:
        links = {} if tenant_id is None else store.linked_xero_contacts(tenant_id)
        companies = []
        for company in store.list_crm_companies():
            members = store.company_members(company.id)
            companies.append({"ref": f"company:{company.id}", "id": company.id,
                              "name": company.name, "members": len(members),
                              "linked_members": sum(1 for m in members if m.id in links),
                              "source": company.source, "gone": company.gone})
        return Rows(companies)
    return Rows([deal_row(d) for d in store.list_crm_deals()])


def show_record(store: Store, tenant_id: str | None, ref: Ref) -> CrmRecord:
    record = _show(store, tenant_id, ref)
    source = record.row.get("source")
    if source:  # the fields xerolink writes, as the source last held them
        known = store.source_record(source, ref.kind, ref.id)
        record.row["crm_fields"] = dict(sorted(known.fields.items())) if known else {}
    return record


def _show(store: Store, tenant_id: str | None, ref: Ref) -> CrmRecord:
    def link_of(contact_id: str) -> Link | None:
        return store.get_link(tenant_id, contact_id) if tenant_id else None

    if ref.kind == RecordKind.CONTACT:
        contact = store.get_crm_contact(ref.id)
        if contact is None:
            raise NotFoundError(f"no CRM contact {ref}")
        return CrmRecord(str(ref), ref.kind, contact_row(contact, link_of(contact.id)))
    if ref.kind == RecordKind.COMPANY:
        company = store.get_crm_company(ref.id)
        if company is None:
            raise NotFoundError(f"no CRM company {ref}")
        members = [contact_row(m, link_of(m.id)) for m in sorted(
            store.company_members(company.id), key=lambda m: natural(m.id))]
        return CrmRecord(str(ref), ref.kind, {"ref": str(ref), "id": company.id,
                                              "name": company.name, "source": company.source,
                                              "gone": company.gone}, members)
    deal = store.get_crm_deal(ref.id)
    if deal is None:
        raise NotFoundError(f"no CRM deal {ref}")
    return CrmRecord(str(ref), ref.kind, deal_row(deal))


def remove_record(store: Store, ref: Ref) -> Removed:
    if not store.delete_crm_record(ref.kind, ref.id):
        raise NotFoundError(f"no CRM {ref.kind} {ref}")
    return Removed(str(ref))


def link_rows(store: Store, tenant_id: str) -> Rows:
    rows = [{"crm": f"contact:{v.link.crm_contact_id}", "crm_name": v.crm_name,
             "crm_email": v.crm_email, "xero_contact_id": v.link.xero_contact_id,
             "xero_name": v.link.xero_name, "linked_by": v.link.linked_by,
             "linked_at": v.link.linked_at} for v in store.list_link_views(tenant_id)]
    return Rows(sorted(rows, key=lambda r: natural(r["crm"])))

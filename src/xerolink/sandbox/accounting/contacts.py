"""Contacts: reading (paged, searched, filtered) and writing, with names unique as
Xero keeps them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from xerolink.sandbox.accounting.common import (
    BadRequest,
    Base,
    NotFound,
    elements_of,
)
from xerolink.sandbox.accounting.validation import CONTACT_FIELDS, PUT_CREATES, validate_contact
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import Response
from xerolink.sandbox.where import WhereError
from xerolink.sandbox.xerojson import ms_date


class Contacts(Base):
    def _contact_resolver(self, tenant: Tenant) -> Callable[[Any, list[str]], Any]:
        def resolve(record: dict[str, Any], path: list[str]) -> Any:
            value: Any = record
            for key in path:
                if not isinstance(value, dict) or key not in CONTACT_FIELDS | {"FirstName"}:
                    raise WhereError(f"unknown field {'.'.join(path)}")
                value = value.get(key)
            return value.lower() if path[-1] == "ContactID" and isinstance(value, str) else value

        return resolve

    def contact_json(self, tenant: Tenant, c: dict[str, Any], *, summary: bool,
                     balances: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ContactID": c["ContactID"],
            "ContactNumber": c.get("ContactNumber", ""),
            "ContactStatus": c["ContactStatus"],
            "Name": c["Name"],
            "FirstName": c.get("FirstName", ""),
            "LastName": c.get("LastName", ""),
            "EmailAddress": c.get("EmailAddress", ""),
            "IsSupplier": c.get("IsSupplier", False),
            "IsCustomer": c.get("IsCustomer", False),
            "UpdatedDateUTC": ms_date(c["UpdatedDateUTC"]),
            "HasAttachments": c.get("HasAttachments", False),
            "HasValidationErrors": False,
        }
        if c.get("DefaultCurrency"):
            out["DefaultCurrency"] = c["DefaultCurrency"]
        if not summary:
            out["ContactPersons"] = c.get("ContactPersons", [])
            out["Addresses"] = c.get("Addresses", [])
            out["Phones"] = c.get("Phones", [])
            out["ContactGroups"] = []
        if balances:
            out["Balances"] = self.balances(tenant, c["ContactID"])
        return out

    def balances(self, tenant: Tenant, contact_id: str) -> dict[str, Any]:
        """Raw (unconverted) outstanding and overdue amounts, as Xero reports them."""
        today = self.today(tenant)
        sums = {"ACCREC": [Decimal("0"), Decimal("0")], "ACCPAY": [Decimal("0"), Decimal("0")]}
        for invoice_id in tenant.invoices_by_contact.get(contact_id, []):
            inv = tenant.invoices[invoice_id]
            if inv["Status"] == "AUTHORISED" and inv["AmountDue"] > 0:
                sums[inv["Type"]][0] += inv["AmountDue"]
                if inv["DueDate"] and inv["DueDate"] < today:
                    sums[inv["Type"]][1] += inv["AmountDue"]
        return {
            "AccountsReceivable": {"Outstanding": sums["ACCREC"][0], "Overdue": sums["ACCREC"][1]},
            "AccountsPayable": {"Outstanding": sums["ACCPAY"][0], "Overdue": sums["ACCPAY"][1]},
        }

    def get_contacts(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                     item: str | None) -> Response:
        if item is not None:
            contact = tenant.contacts.get(item.lower()) or next(
                (c for c in tenant.contacts.values() if c.get("ContactNumber") == item), None)
            if contact is None:
                raise NotFound
            return self.envelope("Contacts", [self.contact_json(tenant, contact, summary=False,
                                                                balances=True)])
        page, size = self._page(q, 100)
        ids = self._guids(q.get("ids"), "IDs")
        include_archived = q.get("includearchived", "").lower() == "true"
        summary = q.get("summaryonly", "").lower() == "true"
        since = self._modified_since(headers)
        term = (q.get("searchterm") or "").strip().lower()
        if ids is not None:
            items = [tenant.contacts[i] for i in ids if i in tenant.contacts]
        else:
            items = list(tenant.contacts.values())
        if not include_archived and ids is None:
            items = [c for c in items if c["ContactStatus"] == "ACTIVE"]
        if since is not None:
            items = [c for c in items if c["UpdatedDateUTC"] >= since]
        if term:
            items = [c for c in items if any(
                term in (c.get(f) or "").lower()
                for f in ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"))]
        resolve = self._contact_resolver(tenant)
        items = list(self._where(items, q.get("where"), resolve))
        items = self._order(items, q.get("order"), resolve)
        chosen, meta = self._paginate(items, page, size)
        return self.envelope(
            "Contacts",
            [self.contact_json(tenant, c, summary=summary, balances=False) for c in chosen],
            meta,
        )

    def write_contacts(self, tenant: Tenant, method: str, body: bytes, item: str | None
                       ) -> Response:
        elements = elements_of(body, "Contacts")
        prepared: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
        failures, names_taken = False, dict[str, bool]()
        for element in elements:
            existing = None
            contact_id = (item or element.get("ContactID") or "").lower()
            if contact_id:
                existing = tenant.contacts.get(contact_id)
                if existing is None:
                    raise NotFound
                if method == "PUT":
                    raise BadRequest([PUT_CREATES], {"ContactID": contact_id})
            errors, fields = validate_contact(element, existing)
            name_key = (fields.get("Name") or (existing or {}).get("Name", "")).lower()
            owner = tenant.names.get(name_key)
            if name_key and ((owner and (existing is None or owner != existing["ContactID"]))
                             or names_taken.get(name_key)):
                errors.append(
                    f"The contact name {fields.get('Name')} is already assigned to another "
                    "contact. The contact name must be unique across all active contacts.")
            names_taken[name_key] = True
            element_out = dict(element)
            element_out["ValidationErrors"] = [{"Message": m} for m in errors]
            failures = failures or bool(errors)
            prepared.append((existing, fields if not errors else element_out))
        if failures:
            raise BadRequest(["validation failed"],
                             elements=[e for _, e in prepared])

        def create(fields: dict[str, Any]) -> dict[str, Any]:
            contact = {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE",
                       "ContactNumber": "", "IsCustomer": False, "IsSupplier": False,
                       "ContactPersons": [], "Phones": [], "Addresses": [],
                       "HasAttachments": False, **fields}
            tenant.contacts[contact["ContactID"]] = contact
            tenant.invoices_by_contact[contact["ContactID"]] = []
            tenant.quotes_by_contact[contact["ContactID"]] = []
            return contact

        def update(existing: dict[str, Any], fields: dict[str, Any]) -> None:
            tenant.names.pop(existing["Name"].lower(), None)
            existing.update(fields)

        written = []
        for contact in self.commit(prepared, create, update, tenant=tenant):
            tenant.names[contact["Name"].lower()] = contact["ContactID"]
            written.append(self.contact_json(tenant, contact, summary=False, balances=False))
        return self.envelope("Contacts", written)


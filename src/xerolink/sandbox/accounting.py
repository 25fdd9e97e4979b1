"""Xero's Accounting API, per tenant: the resources xerolink uses, with Xero's query
parameters, paging, validation messages and JSON shapes."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from xerolink.sandbox.seed import CURRENCY_NAMES, Tenant, line_amounts
from xerolink.sandbox.state import APP_NAME
from xerolink.sandbox.where import WhereError, compile_where
from xerolink.sandbox.xerojson import date_string, dumps, ms_date, parse_date

Response = tuple[int, bytes, dict[str, str]]
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PAGE_SIZE = 1000
QUOTES_PER_PAGE = 100

# Xero's Windows-style organisation timezones, to find "today" for the organisation.
TIMEZONES = {"NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
             "AUSEASTERNSTANDARDTIME": "Australia/Sydney"}


class BadRequest(Exception):
    """A request Xero would answer with 400: a list of (element, messages)."""

    def __init__(self, messages: list[str], element: dict[str, Any] | None = None,
                 elements: list[dict[str, Any]] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.elements = elements if elements is not None else [
            {**(element or {}), "ValidationErrors": [{"Message": m} for m in messages]}
        ]


class NotFound(Exception):
    pass


class QueryParseError(Exception):
    """A ``where`` or ``order`` Xero cannot parse: its QueryParseException (16)."""


# What an error element echoes back: the identifiers the spec's Element defines.
_ELEMENT_KEYS = ("ContactID", "InvoiceID", "CreditNoteID", "BankTransactionID",
                 "BatchPaymentID", "ItemID", "PurchaseOrderID", "ValidationErrors")


def _validation_response(exc: BadRequest) -> Response:
    elements = [{k: e[k] for k in _ELEMENT_KEYS if e.get(k)} for e in exc.elements]
    body = {"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred", "Elements": elements}
    return 400, dumps(body), dict(JSON_HEADERS)


def _not_found() -> Response:
    """Xero answers an unknown id (or a route it does not have) in plain text."""
    return 404, b"The resource you're looking for cannot be found", {
        "Content-Type": "text/plain; charset=utf-8"}


def _query_parse_response(exc: QueryParseError) -> Response:
    body = {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
    return 400, json.dumps(body).encode(), dict(JSON_HEADERS)


def _unit_places(q: dict[str, str]) -> int:
    """``unitdp=4`` opts in to four decimal places for unit amounts; otherwise Xero
    rounds them to two, on the way in and on the way out."""
    return 4 if q.get("unitdp", "").strip() == "4" else 2


class Accounting:
    def __init__(self, tenants: dict[str, Tenant], now: Callable[[], float]) -> None:
        self.tenants = tenants
        self.now_epoch = now

    # -- plumbing --------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_epoch(), UTC)

    def today(self, tenant: Tenant) -> date:
        from zoneinfo import ZoneInfo

        zone = TIMEZONES.get(tenant.timezone, "UTC")
        return self.now().astimezone(ZoneInfo(zone)).date()

    def envelope(self, key: str, items: list[dict[str, Any]],
                 pagination: dict[str, int] | None = None) -> Response:
        body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK",
                                "ProviderName": APP_NAME, "DateTimeUTC": ms_date(self.now())}
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = items
        return 200, dumps(body), dict(JSON_HEADERS)

    def handle(self, method: str, parts: list[str], query: dict[str, list[str]],
               headers: dict[str, str], body: bytes, tenant_id: str) -> Response:
        tenant = self.tenants[tenant_id]
        q = {k.lower(): v[-1] for k, v in query.items()}
        resource = parts[0].lower() if parts else ""
        item = parts[1] if len(parts) > 1 else None
        try:
            if len(parts) > 2:
                raise NotFound
            if resource == "organisation" and method == "GET" and item is None:
                return self.envelope("Organisations", [self.organisation_json(tenant)])
            if resource == "currencies" and method == "GET" and item is None:
                return self.envelope("Currencies", [
                    {"Code": code, "Description": CURRENCY_NAMES.get(code, code)}
                    for code in tenant.rates])
            if resource == "contacts":
                if method == "GET":
                    return self.get_contacts(tenant, q, headers, item)
                if method in ("PUT", "POST"):
                    return self.write_contacts(tenant, method, body, item)
            if resource == "invoices":
                if method == "GET":
                    return self.get_invoices(tenant, q, headers, item)
                if method in ("PUT", "POST"):
                    return self.write_invoices(tenant, method, body, item, _unit_places(q))
            if resource == "quotes":
                if method == "GET":
                    return self.get_quotes(tenant, q, headers, item)
                if method in ("PUT", "POST"):
                    return self.write_quotes(tenant, method, body, item, _unit_places(q))
            raise NotFound
        except BadRequest as exc:
            return _validation_response(exc)
        except QueryParseError as exc:
            return _query_parse_response(exc)
        except NotFound:
            return _not_found()

    # -- organisation -------------------------------------------------------------------
    @staticmethod
    def organisation_json(tenant: Tenant) -> dict[str, Any]:
        return {
            "OrganisationID": tenant.organisation_id,
            "APIKey": "",
            "Name": tenant.name,
            "LegalName": tenant.name,
            "PaysTax": True,
            "Version": tenant.country_code,
            "OrganisationType": "COMPANY",
            "BaseCurrency": tenant.base_currency,
            "CountryCode": tenant.country_code,
            "IsDemoCompany": True,
            "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 3,
            "SalesTaxBasis": "INVOICE",
            "SalesTaxPeriod": "TWOMONTHS",
            "DefaultSalesTax": "Tax Exclusive",
            "DefaultPurchasesTax": "Tax Exclusive",
            "CreatedDateUTC": ms_date(tenant.created),
            "Timezone": tenant.timezone,
            "OrganisationEntityType": "COMPANY",
            "ShortCode": tenant.short_code,
            "Class": "PREMIUM",
            "Edition": "BUSINESS",
            "LineOfBusiness": "Trading",
            "Addresses": [],
            "Phones": [],
            "ExternalLinks": [],
            "PaymentTerms": {},
        }

    # -- shared list helpers ----------------------------------------------------------
    @staticmethod
    def _page(q: dict[str, str], default_size: int | None) -> tuple[int | None, int]:
        page_text = q.get("page")
        size_text = q.get("pagesize")
        try:
            page = None if page_text in (None, "") else int(page_text)
            size = default_size if size_text in (None, "") else int(size_text)
        except ValueError:
            raise BadRequest(["page and pageSize must be whole numbers"]) from None
        if page is not None and page < 1:
            raise BadRequest(["page must be 1 or more"])
        if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest([f"pageSize must be between 1 and {MAX_PAGE_SIZE}"])
        if size_text not in (None, "") and page is None:
            page = 1
        return page, size or 100

    @staticmethod
    def _guids(text: str | None, name: str) -> list[str] | None:
        if text is None or text == "":
            return None
        values = [v.strip().lower() for v in text.split(",") if v.strip()]
        bad = [v for v in values if not _GUID.match(v)]
        if bad:
            raise BadRequest([f"{name} contains an invalid identifier: {bad[0][:40]}"])
        return values

    @staticmethod
    def _modified_since(headers: dict[str, str]) -> datetime | None:
        raw = headers.get("if-modified-since")
        if not raw:
            return None
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            try:
                moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            except ValueError:
                raise BadRequest(["If-Modified-Since is not a valid date"]) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @staticmethod
    def _order(items: list[dict[str, Any]], order: str | None,
               resolve: Callable[[Any, list[str]], Any]) -> list[dict[str, Any]]:
        if not order:
            return items
        for clause in reversed([c.strip() for c in order.split(",") if c.strip()]):
            words = clause.split()
            if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
                raise QueryParseError(f"cannot order by {clause!r}")
            path = words[0].split(".")
            descending = len(words) == 2 and words[1].upper() == "DESC"
            try:
                items = sorted(
                    items,
                    key=lambda r: (resolve(r, path) is None, _sort_key(resolve(r, path))),
                    reverse=descending,
                )
            except WhereError as exc:
                raise QueryParseError(str(exc)) from None
        return items

    @staticmethod
    def _where(items: Iterable[dict[str, Any]], where: str | None,
               resolve: Callable[[Any, list[str]], Any]) -> Iterable[dict[str, Any]]:
        if not where:
            return items
        try:
            predicate = compile_where(where, resolve)
            return [r for r in items if predicate(r)]
        except WhereError as exc:
            raise QueryParseError(str(exc)) from None

    @staticmethod
    def _paginate(items: list[dict[str, Any]], page: int | None, size: int
                  ) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        if page is None:
            return items, None
        start = (page - 1) * size
        meta = {"page": page, "pageSize": size,
                "pageCount": math.ceil(len(items) / size), "itemCount": len(items)}
        return items[start:start + size], meta

    # -- contacts -----------------------------------------------------------------------
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
        elements = _elements(body, "Contacts")
        prepared: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
        failures, names_taken = False, {}
        for element in elements:
            existing = None
            contact_id = (item or element.get("ContactID") or "").lower()
            if contact_id:
                existing = tenant.contacts.get(contact_id)
                if existing is None:
                    raise NotFound
                if method == "PUT":
                    raise BadRequest([_PUT_CREATES], {"ContactID": contact_id})
            errors, fields = _validate_contact(element, existing)
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
        written = []
        now = self.now()
        for existing, fields in prepared:
            if existing is None:
                contact = {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE",
                           "ContactNumber": "", "IsCustomer": False, "IsSupplier": False,
                           "ContactPersons": [], "Phones": [], "Addresses": [],
                           "HasAttachments": False, **fields, "UpdatedDateUTC": now}
                tenant.contacts[contact["ContactID"]] = contact
                tenant.invoices_by_contact[contact["ContactID"]] = []
                tenant.quotes_by_contact[contact["ContactID"]] = []
            else:
                tenant.names.pop(existing["Name"].lower(), None)
                existing.update(fields)
                existing["UpdatedDateUTC"] = now
                contact = existing
            tenant.names[contact["Name"].lower()] = contact["ContactID"]
            written.append(self.contact_json(tenant, contact, summary=False, balances=False))
        return self.envelope("Contacts", written)

    # -- invoices ---------------------------------------------------------------------
    def _document_resolver(self, tenant: Tenant) -> Callable[[Any, list[str]], Any]:
        def resolve(record: dict[str, Any], path: list[str]) -> Any:
            if path[0] == "Contact":
                contact = tenant.contacts.get(record["ContactID"], {})
                if len(path) == 2 and path[1] in ("ContactID", "Name", "ContactNumber"):
                    value = contact.get(path[1])
                    return value.lower() if path[1] == "ContactID" else value
                raise WhereError(f"unknown field {'.'.join(path)}")
            if len(path) != 1 or path[0] not in DOCUMENT_FIELDS:
                raise WhereError(f"unknown field {'.'.join(path)}")
            value = record.get(path[0])
            return value.lower() if isinstance(value, str) and path[0].endswith("ID") else value

        return resolve

    def invoice_json(self, tenant: Tenant, inv: dict[str, Any], *, lines: bool,
                     places: int = 4) -> dict[str, Any]:
        contact = tenant.contacts.get(inv["ContactID"], {})
        out: dict[str, Any] = {
            "Type": inv["Type"],
            "InvoiceID": inv["InvoiceID"],
            "InvoiceNumber": inv["InvoiceNumber"],
            "Reference": inv.get("Reference", ""),
            "Contact": {"ContactID": inv["ContactID"], "Name": contact.get("Name", ""),
                        "HasValidationErrors": False},
            "Date": ms_date(inv["Date"]),
            "DateString": date_string(inv["Date"]),
            "Status": inv["Status"],
            "LineAmountTypes": inv["LineAmountTypes"],
            "SubTotal": inv["SubTotal"],
            "TotalTax": inv["TotalTax"],
            "Total": inv["Total"],
            "TotalDiscount": Decimal("0"),
            "AmountDue": inv["AmountDue"],
            "AmountPaid": inv["AmountPaid"],
            "AmountCredited": inv["AmountCredited"],
            "CurrencyCode": inv["CurrencyCode"],
            "CurrencyRate": inv["CurrencyRate"],
            "SentToContact": inv.get("SentToContact", False),
            "IsDiscounted": False,
            "HasAttachments": False,
            "HasErrors": False,
            "UpdatedDateUTC": ms_date(inv["UpdatedDateUTC"]),
        }
        if inv.get("DueDate"):
            out["DueDate"] = ms_date(inv["DueDate"])
            out["DueDateString"] = date_string(inv["DueDate"])
        if inv.get("FullyPaidOnDate"):
            out["FullyPaidOnDate"] = ms_date(inv["FullyPaidOnDate"])
        if lines:
            out["LineItems"] = [_line_json(line, places) for line in inv["LineItems"]]
            out["Payments"] = []
            out["CreditNotes"] = []
            out["Prepayments"] = []
            out["Overpayments"] = []
        return out

    def get_invoices(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                     item: str | None) -> Response:
        if item is not None:
            inv = tenant.invoices.get(item.lower()) or next(
                (i for i in tenant.invoices.values() if i["InvoiceNumber"] == item), None)
            if inv is None:
                raise NotFound
            return self.envelope("Invoices", [self.invoice_json(tenant, inv, lines=True,
                                                                places=_unit_places(q))])
        page, size = self._page(q, 100)
        summary = q.get("summaryonly", "").lower() == "true"
        ids = self._guids(q.get("ids"), "IDs")
        contact_ids = self._guids(q.get("contactids"), "ContactIDs")
        numbers = [n.strip() for n in q.get("invoicenumbers", "").split(",") if n.strip()]
        statuses = [s.strip().upper() for s in q.get("statuses", "").split(",") if s.strip()]
        unknown = [s for s in statuses if s not in INVOICE_STATUSES]
        if unknown:
            raise BadRequest([f"Statuses contains an invalid status: {unknown[0][:30]}"])
        since = self._modified_since(headers)
        if ids is not None:
            items = [tenant.invoices[i] for i in ids if i in tenant.invoices]
        elif contact_ids is not None:
            items = [tenant.invoices[i] for c in dict.fromkeys(contact_ids)
                     for i in tenant.invoices_by_contact.get(c, [])]
        else:
            items = list(tenant.invoices.values())
        if contact_ids is not None and ids is not None:
            wanted = set(contact_ids)
            items = [i for i in items if i["ContactID"] in wanted]
        if numbers:
            wanted_numbers = set(numbers)
            items = [i for i in items if i["InvoiceNumber"] in wanted_numbers]
        if statuses:
            wanted_statuses = set(statuses)
            items = [i for i in items if i["Status"] in wanted_statuses]
        if since is not None:
            items = [i for i in items if i["UpdatedDateUTC"] >= since]
        term = (q.get("searchterm") or "").strip().lower()
        if term:
            items = [i for i in items if term in i["InvoiceNumber"].lower()
                     or term in (i.get("Reference") or "").lower()]
        resolve = self._document_resolver(tenant)
        items = list(self._where(items, q.get("where"), resolve))
        items = self._order(items, q.get("order"), resolve)
        chosen, meta = self._paginate(items, page, size)
        lines = page is not None and not summary
        return self.envelope("Invoices",
                             [self.invoice_json(tenant, i, lines=lines, places=_unit_places(q))
                              for i in chosen], meta)

    def write_invoices(self, tenant: Tenant, method: str, body: bytes, item: str | None,
                       places: int) -> Response:
        numbers_seen: set[str] = set()
        staged = _stage(method, _elements(body, "Invoices"), item, "InvoiceID",
                        tenant.invoices, INVOICE_TRANSITIONS,
                        lambda e: self._validate_invoice(tenant, e, numbers_seen, places))
        now, results = self.now(), []
        for existing, fields in staged:
            if existing is None:
                invoice = {**fields, "InvoiceID": str(uuid.uuid4()), "UpdatedDateUTC": now}
                if invoice["Type"] == "ACCREC" and not invoice["InvoiceNumber"]:
                    invoice["InvoiceNumber"] = f"INV-{tenant.next_invoice_number:05d}"
                    tenant.next_invoice_number += 1
                for line in invoice["LineItems"]:
                    line["LineItemID"] = str(uuid.uuid4())
                tenant.invoices[invoice["InvoiceID"]] = invoice
                tenant.invoices_by_contact[invoice["ContactID"]].append(invoice["InvoiceID"])
            else:
                existing.update(fields)
                if existing["Status"] in ("VOIDED", "DELETED"):
                    existing["AmountDue"] = Decimal("0")
                existing["UpdatedDateUTC"] = now
                invoice = existing
            results.append(self.invoice_json(tenant, invoice, lines=True, places=places))
        return self.envelope("Invoices", results)

    def _validate_invoice(self, tenant: Tenant, element: dict[str, Any],
                          numbers_seen: set[str], places: int
                          ) -> tuple[list[str], dict[str, Any]]:
        errors: list[str] = []
        kind = element.get("Type")
        if kind not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be specified as ACCREC or ACCPAY")
        status = (element.get("Status") or "DRAFT").upper()
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Invoice status {status} is not valid when creating an invoice")
        contact_id = self._contact_for(tenant, element, errors)
        issued, due = _dates(element, ("Date", "DueDate"), errors)
        issued = issued or self.today(tenant)
        if status != "DRAFT" and due is None:
            errors.append("Due Date must be specified for an approved invoice")
        if due is not None and due < issued:
            errors.append("Due Date must not be before the invoice Date")
        amount_types = element.get("LineAmountTypes") or "Exclusive"
        if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
            amount_types = "Exclusive"
        sales = kind != "ACCPAY"
        lines = self._lines(tenant, element.get("LineItems"), errors, sales=sales,
                            require_account=status != "DRAFT", places=places)
        if status != "DRAFT" and not lines:
            errors.append("At least one line item is required for an approved invoice")
        currency, rate = self._currency(tenant, element, contact_id, errors)
        number = str(element.get("InvoiceNumber") or "").strip()
        if number and kind == "ACCREC":
            taken = number in numbers_seen or any(
                i["InvoiceNumber"] == number and i["Type"] == "ACCREC"
                for i in tenant.invoices.values())
            if taken:
                errors.append("Invoice # must be unique.")
            numbers_seen.add(number)
        reference = str(element.get("Reference") or "")
        if len(reference) > 255:
            errors.append("Reference must be 255 characters or fewer")
        if errors:
            return errors, {}
        sub_total, total_tax, total = line_amounts(lines, tenant.tax_rates, amount_types)
        if total < 0:
            return ["Invoice total must not be negative"], {}
        return [], {
            "Type": kind, "InvoiceNumber": number,
            "Reference": reference, "ContactID": contact_id, "Date": issued, "DueDate": due,
            "Status": status, "LineAmountTypes": amount_types, "LineItems": lines,
            "SubTotal": sub_total, "TotalTax": total_tax, "Total": total, "AmountDue": total,
            "AmountPaid": Decimal("0"), "AmountCredited": Decimal("0"),
            "CurrencyCode": currency, "CurrencyRate": rate, "SentToContact": False,
            "FullyPaidOnDate": None,
        }

    def _contact_for(self, tenant: Tenant, element: dict[str, Any], errors: list[str]
                     ) -> str | None:
        ref = element.get("Contact")
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            errors.append("A Contact must be specified for this type of transaction")
            return None
        contact_id = str(ref.get("ContactID") or "").lower()
        if contact_id:
            contact = tenant.contacts.get(contact_id)
            if contact is None:
                errors.append(f"The contact with ContactID {contact_id[:36]} could not be found")
                return None
        else:
            found = tenant.names.get(str(ref["Name"]).strip().lower())
            if found is None:
                errors.append(f"The contact {str(ref['Name'])[:80]} could not be found")
                return None
            contact = tenant.contacts[found]
        if contact["ContactStatus"] != "ACTIVE":
            errors.append("This contact has been archived and cannot be used on new transactions")
        return str(contact["ContactID"])

    def _lines(self, tenant: Tenant, raw: Any, errors: list[str], *, sales: bool,
               require_account: bool, places: int) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            errors.append("LineItems must be a list")
            return []
        default_tax = next(t for t in tenant.tax_rates.values() if t.rate > 0
                           and (t.tax_type.startswith("OUTPUT") == sales))
        lines = []
        for number, line in enumerate(raw, start=1):
            if not isinstance(line, dict):
                errors.append(f"Line {number} is not an object")
                continue
            description = str(line.get("Description") or "").strip()
            if not description:
                errors.append("Description cannot be empty")
            if len(description) > 4000:
                errors.append("Description must be 4000 characters or fewer")
            quantity = _decimal(line.get("Quantity", 1), f"Line {number} Quantity", errors)
            unit = _decimal(line.get("UnitAmount", 0), f"Line {number} UnitAmount", errors)
            account = line.get("AccountCode")
            if account is not None and str(account) not in tenant.accounts:
                errors.append(f"Account code '{str(account)[:20]}' is not a valid code for "
                              "this document.")
            if account is None and require_account:
                errors.append("Account code must be specified for each line")
            tax_type = line.get("TaxType") or default_tax.tax_type
            if tax_type not in tenant.tax_rates:
                errors.append(f"The TaxType code '{str(tax_type)[:30]}' does not exist or "
                              "cannot be used for this type of transaction.")
                tax_type = default_tax.tax_type
            if quantity is not None and unit is not None:
                if quantity.as_tuple().exponent < -4 or unit.as_tuple().exponent < -4:  # type: ignore[operator]
                    errors.append(f"Line {number}: at most 4 decimal places are allowed")
                # Without unitdp=4 Xero keeps the unit amount to two places, and the
                # line amount follows from what it kept.
                unit = unit.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
                lines.append({"Description": description, "Quantity": quantity,
                              "UnitAmount": unit, "AccountCode": None if account is None
                              else str(account), "TaxType": tax_type})
        return lines

    def _currency(self, tenant: Tenant, element: dict[str, Any], contact_id: str | None,
                  errors: list[str]) -> tuple[str, Decimal]:
        contact = tenant.contacts.get(contact_id or "", {})
        code = str(element.get("CurrencyCode") or contact.get("DefaultCurrency")
                   or tenant.base_currency).upper()
        if code not in tenant.rates:
            errors.append(f"The currency {code[:10]} is not enabled for this organisation")
            return tenant.base_currency, Decimal("1")
        if code == tenant.base_currency:
            return code, Decimal("1")
        rate = element.get("CurrencyRate")
        if rate is None:
            return code, tenant.rates[code]
        value = _decimal(rate, "CurrencyRate", errors)
        if value is not None and value <= 0:
            errors.append("CurrencyRate must be greater than zero")
        return code, value or tenant.rates[code]

    # -- quotes -----------------------------------------------------------------------
    def quote_json(self, tenant: Tenant, quote: dict[str, Any], *, places: int = 4
                   ) -> dict[str, Any]:
        contact = tenant.contacts.get(quote["ContactID"], {})
        out = {
            "QuoteID": quote["QuoteID"],
            "QuoteNumber": quote["QuoteNumber"],
            "Reference": quote.get("Reference", ""),
            "Terms": quote.get("Terms", ""),
            "Contact": {"ContactID": quote["ContactID"], "Name": contact.get("Name", ""),
                        "HasValidationErrors": False},
            "LineItems": [_line_json(line, places) for line in quote["LineItems"]],
            "Date": ms_date(quote["Date"]),
            "DateString": date_string(quote["Date"]),
            "Status": quote["Status"],
            "CurrencyCode": quote["CurrencyCode"],
            "CurrencyRate": quote["CurrencyRate"],
            "SubTotal": quote["SubTotal"],
            "TotalTax": quote["TotalTax"],
            "Total": quote["Total"],
            "TotalDiscount": Decimal("0"),
            "Title": quote.get("Title", ""),
            "Summary": quote.get("Summary", ""),
            "UpdatedDateUTC": ms_date(quote["UpdatedDateUTC"]),
            "LineAmountTypes": quote["LineAmountTypes"],
        }
        if quote.get("ExpiryDate"):
            out["ExpiryDate"] = ms_date(quote["ExpiryDate"])
            out["ExpiryDateString"] = date_string(quote["ExpiryDate"])
        return out

    def get_quotes(self, tenant: Tenant, q: dict[str, str], headers: dict[str, str],
                   item: str | None) -> Response:
        if item is not None:
            quote = tenant.quotes.get(item.lower())
            if quote is None:
                raise NotFound
            return self.envelope("Quotes", [self.quote_json(tenant, quote,
                                                            places=_unit_places(q))])
        if "pagesize" in q:
            raise BadRequest(["pageSize is not supported for Quotes; pages hold 100 quotes"])
        page, _ = self._page(q, None)
        contact_ids = self._guids(q.get("contactid"), "ContactID")
        if contact_ids is not None and len(contact_ids) != 1:
            raise BadRequest(["ContactID takes one contact"])
        status = (q.get("status") or "").strip().upper()
        if status and status not in QUOTE_STATUSES:
            raise BadRequest([f"Status {status[:20]} is not a valid quote status"])
        bounds = {}
        for key in ("datefrom", "dateto", "expirydatefrom", "expirydateto"):
            if q.get(key):
                try:
                    bounds[key] = parse_date(q[key])
                except ValueError:
                    raise BadRequest([f"{key} is not a valid date"]) from None
        if contact_ids:
            items = [tenant.quotes[i] for i in tenant.quotes_by_contact.get(contact_ids[0], [])]
        else:
            items = list(tenant.quotes.values())
        if status:
            items = [x for x in items if x["Status"] == status]
        if q.get("quotenumber"):
            items = [x for x in items if x["QuoteNumber"] == q["quotenumber"]]
        if "datefrom" in bounds:
            items = [x for x in items if x["Date"] >= bounds["datefrom"]]
        if "dateto" in bounds:
            items = [x for x in items if x["Date"] <= bounds["dateto"]]
        if "expirydatefrom" in bounds:
            items = [x for x in items if x.get("ExpiryDate") and
                     x["ExpiryDate"] >= bounds["expirydatefrom"]]
        if "expirydateto" in bounds:
            items = [x for x in items if x.get("ExpiryDate") and
                     x["ExpiryDate"] <= bounds["expirydateto"]]
        since = self._modified_since(headers)
        if since is not None:
            items = [x for x in items if x["UpdatedDateUTC"] >= since]
        items = self._order(items, q.get("order"), self._document_resolver(tenant))
        if page is not None:
            items = items[(page - 1) * QUOTES_PER_PAGE: page * QUOTES_PER_PAGE]
        return self.envelope("Quotes", [self.quote_json(tenant, x, places=_unit_places(q))
                                        for x in items])

    def write_quotes(self, tenant: Tenant, method: str, body: bytes, item: str | None,
                     places: int) -> Response:
        staged = _stage(method, _elements(body, "Quotes"), item, "QuoteID", tenant.quotes,
                        QUOTE_TRANSITIONS, lambda e: self._validate_quote(tenant, e, places))
        now, results = self.now(), []
        for existing, fields in staged:
            if existing is None:
                quote = {**fields, "QuoteID": str(uuid.uuid4()), "UpdatedDateUTC": now,
                         "QuoteNumber": f"QU-{tenant.next_quote_number:04d}"}
                tenant.next_quote_number += 1
                for line in quote["LineItems"]:
                    line["LineItemID"] = str(uuid.uuid4())
                tenant.quotes[quote["QuoteID"]] = quote
                tenant.quotes_by_contact[quote["ContactID"]].append(quote["QuoteID"])
            else:
                existing.update(fields)
                existing["UpdatedDateUTC"] = now
                quote = existing
            results.append(self.quote_json(tenant, quote, places=places))
        return self.envelope("Quotes", results)

    def _validate_quote(self, tenant: Tenant, element: dict[str, Any], places: int
                        ) -> tuple[list[str], dict[str, Any]]:
        errors: list[str] = []
        contact_id = self._contact_for(tenant, element, errors)
        if not element.get("Date"):
            errors.append("Date cannot be empty")
        issued, expiry = _dates(element, ("Date", "ExpiryDate"), errors)
        if issued and expiry and expiry < issued:
            errors.append("Expiry date must not be before the quote date")
        status = (element.get("Status") or "DRAFT").upper()
        if status not in ("DRAFT", "SENT"):
            errors.append(f"Quote status {status[:20]} is not valid when creating a quote")
        amount_types = (element.get("LineAmountTypes") or "EXCLUSIVE").upper()
        if amount_types not in ("EXCLUSIVE", "INCLUSIVE", "NOTAX"):
            errors.append("LineAmountTypes must be EXCLUSIVE, INCLUSIVE or NOTAX")
            amount_types = "EXCLUSIVE"
        lines = self._lines(tenant, element.get("LineItems"), errors, sales=True,
                            require_account=False, places=places)
        if not lines and not errors:
            errors.append("At least one line item is required")
        currency, rate = self._currency(tenant, element, contact_id, errors)
        for key, limit in (("Title", 100), ("Summary", 3000), ("Terms", 4000), ("Reference", 4000)):
            if len(str(element.get(key) or "")) > limit:
                errors.append(f"{key} must be {limit} characters or fewer")
        if errors:
            return errors, {}
        mode = {"EXCLUSIVE": "Exclusive", "INCLUSIVE": "Inclusive", "NOTAX": "NoTax"}[amount_types]
        sub_total, total_tax, total = line_amounts(lines, tenant.tax_rates, mode)
        return [], {
            "Reference": str(element.get("Reference") or ""),
            "Title": str(element.get("Title") or ""),
            "Summary": str(element.get("Summary") or ""),
            "Terms": str(element.get("Terms") or ""),
            "ContactID": contact_id, "Date": issued, "ExpiryDate": expiry, "Status": status,
            "LineAmountTypes": amount_types, "LineItems": lines, "SubTotal": sub_total,
            "TotalTax": total_tax, "Total": total, "CurrencyCode": currency,
            "CurrencyRate": rate,
        }

    # -- raw data for independent checks ----------------------------------------------
    def raw(self, tenant_id: str) -> dict[str, Any]:
        tenant = self.tenants[tenant_id]
        return {
            "organisation": self.organisation_json(tenant),
            "today": self.today(tenant).isoformat(),
            "contacts": [self.contact_json(tenant, c, summary=False, balances=False)
                         for c in tenant.contacts.values()],
            "invoices": [self.invoice_json(tenant, i, lines=True)
                         for i in tenant.invoices.values()],
            "quotes": [self.quote_json(tenant, x) for x in tenant.quotes.values()],
        }


_PUT_CREATES = ("PUT creates new records only; this one exists already: use POST to update "
                "it")
CONTACT_FIELDS = {"ContactID", "ContactNumber", "ContactStatus", "Name", "FirstName", "LastName",
                  "EmailAddress", "IsSupplier", "IsCustomer", "UpdatedDateUTC", "DefaultCurrency"}
DOCUMENT_FIELDS = {"InvoiceID", "QuoteID", "Type", "Status", "InvoiceNumber", "QuoteNumber",
                   "Reference", "Date", "DueDate", "ExpiryDate", "AmountDue", "AmountPaid",
                   "Total", "SubTotal", "CurrencyCode", "UpdatedDateUTC"}
INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
QUOTE_STATUSES = ("DRAFT", "SENT", "DECLINED", "ACCEPTED", "INVOICED", "DELETED")
INVOICE_TRANSITIONS = {"DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"},
                       "SUBMITTED": {"AUTHORISED", "DRAFT", "DELETED"},
                       "AUTHORISED": {"VOIDED"}, "PAID": set(), "VOIDED": set(), "DELETED": set()}
QUOTE_TRANSITIONS = {"DRAFT": {"SENT", "DELETED"}, "SENT": {"ACCEPTED", "DECLINED", "DRAFT",
                                                            "DELETED"},
                     "ACCEPTED": {"INVOICED", "SENT"}, "DECLINED": {"SENT", "DELETED"},
                     "INVOICED": set(), "DELETED": set()}


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.toordinal()
    return value if value is not None else 0


def _line_json(line: dict[str, Any], places: int) -> dict[str, Any]:
    unit = line["UnitAmount"].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    out = {"LineItemID": line.get("LineItemID"), "Description": line["Description"],
           "Quantity": line["Quantity"], "UnitAmount": unit,
           "TaxType": line["TaxType"], "TaxAmount": line["TaxAmount"],
           "LineAmount": line["LineAmount"], "Tracking": []}
    if line.get("AccountCode"):
        out["AccountCode"] = line["AccountCode"]
    return out


def _elements(body: bytes, key: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(body or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(["The request body is not valid JSON"]) from None
    if isinstance(data, dict) and key in data:
        data = data[key]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) for i in items):
        raise BadRequest([f"The request must contain {key}"])
    if len(items) > 50:
        raise BadRequest(["At most 50 elements may be sent in one request"])
    return items


Validator = Callable[[dict[str, Any]], tuple[list[str], dict[str, Any]]]


def _stage(method: str, elements: list[dict[str, Any]], item: str | None, id_key: str,
           existing_by_id: dict[str, dict[str, Any]], transitions: dict[str, set[str]],
           validate_new: Validator) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """Validate every element before anything changes: Xero's summarizeErrors, where one
    bad element fails the whole request. Returns (existing or None, fields) pairs. PUT
    only creates; POST creates or updates."""
    staged: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
    failed = False
    for element in elements:
        document_id = (item or element.get(id_key) or "").lower()
        existing = existing_by_id.get(document_id) if document_id else None
        if document_id and existing is None:
            raise NotFound
        if existing is not None and method == "PUT":
            raise BadRequest([_PUT_CREATES], {id_key: document_id})
        if existing is not None:
            errors, fields = _validate_document_update(element, existing, transitions)
        else:
            errors, fields = validate_new(element)
        failed = failed or bool(errors)
        staged.append((existing, fields if not errors else
                       {**element, "ValidationErrors": [{"Message": m} for m in errors]}))
    if failed:
        raise BadRequest(["validation failed"], elements=[e for _, e in staged])
    return staged


def _decimal(value: Any, label: str, errors: list[str]) -> Decimal | None:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(f"{label} must be a number")
        return None
    if not number.is_finite():
        errors.append(f"{label} must be a finite number")
        return None
    if abs(number) >= Decimal("1e12"):
        errors.append(f"{label} is too large")
        return None
    return number


def _dates(element: dict[str, Any], keys: tuple[str, ...], errors: list[str]
           ) -> tuple[date | None, ...]:
    out = []
    for key in keys:
        try:
            out.append(parse_date(element.get(key)))
        except ValueError:
            errors.append(f"{key} is not a valid date")
            out.append(None)
    return tuple(out)


def _validate_contact(element: dict[str, Any], existing: dict[str, Any] | None
                      ) -> tuple[list[str], dict[str, Any]]:
    errors: list[str] = []
    fields: dict[str, Any] = {}
    if existing is None or "Name" in element:
        name = str(element.get("Name") or "").strip()
        if not name:
            errors.append("The contact name must be specified")
        elif len(name) > 255:
            errors.append("The contact name must be 255 characters or fewer")
        fields["Name"] = name
    for key in ("FirstName", "LastName"):
        if key in element:
            value = str(element.get(key) or "").strip()
            if len(value) > 255:
                errors.append(f"{key} must be 255 characters or fewer")
            fields[key] = value
    if "EmailAddress" in element:
        email = str(element.get("EmailAddress") or "").strip()
        if email and (len(email) > 255 or not _EMAIL.match(email)):
            errors.append("The Email Address must be valid.")
        fields["EmailAddress"] = email
    if "ContactPersons" in element:
        persons = element["ContactPersons"]
        if not isinstance(persons, list) or not all(isinstance(p, dict) for p in persons):
            errors.append("ContactPersons must be a list")
        else:
            cleaned = []
            for person in persons:
                email = str(person.get("EmailAddress") or "").strip()
                if email and not _EMAIL.match(email):
                    errors.append("The Email Address must be valid.")
                cleaned.append({"FirstName": str(person.get("FirstName") or ""),
                                "LastName": str(person.get("LastName") or ""),
                                "EmailAddress": email,
                                "IncludeInEmails": bool(person.get("IncludeInEmails"))})
            fields["ContactPersons"] = cleaned
    if "ContactStatus" in element:
        status = str(element["ContactStatus"]).upper()
        if status not in ("ACTIVE", "ARCHIVED"):
            errors.append("ContactStatus must be ACTIVE or ARCHIVED")
        fields["ContactStatus"] = status
    for key in ("IsCustomer", "IsSupplier"):
        if key in element:
            fields[key] = bool(element[key])
    if "Phones" in element and isinstance(element["Phones"], list):
        fields["Phones"] = [p for p in element["Phones"] if isinstance(p, dict)]
    if element.get("DefaultCurrency"):
        fields["DefaultCurrency"] = str(element["DefaultCurrency"]).upper()
    return errors, fields


def _validate_document_update(element: dict[str, Any], existing: dict[str, Any],
                              transitions: dict[str, set[str]]
                              ) -> tuple[list[str], dict[str, Any]]:
    """Updates the sandbox supports: a status change along Xero's allowed transitions,
    and Reference."""
    errors: list[str] = []
    fields: dict[str, Any] = {}
    if "Status" in element:
        status = str(element["Status"]).upper()
        if status != existing["Status"] and status not in transitions.get(existing["Status"],
                                                                          set()):
            errors.append(f"A document with status {existing['Status']} cannot be changed "
                          f"to {status[:20]}")
        fields["Status"] = status
    if "Reference" in element:
        fields["Reference"] = str(element["Reference"] or "")[:255]
    if not fields:
        errors.append("Nothing to update: the sandbox updates Status and Reference")
    return errors, fields


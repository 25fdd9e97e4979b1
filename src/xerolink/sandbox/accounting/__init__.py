"""Xero's Accounting API, per tenant, as the sandbox serves it: routing here (a
Werkzeug ``Map``), each resource in its own module (contacts, invoices, quotes), the
shared query, paging and commit machinery in ``common``, validation in
``validation``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from xerolink.sandbox.accounting.common import (
    BadRequest,
    NotFound,
    QueryParseError,
    not_found,
    query_parse_response,
    unit_places,
    validation_response,
)
from xerolink.sandbox.accounting.quotes import Quotes
from xerolink.sandbox.names import CURRENCY_NAMES
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import Response
from xerolink.sandbox.xerojson import ms_date

__all__ = ["Accounting", "Response"]

# Xero's resource names are case-insensitive; the router sees them lower-cased.
_READ, _WRITE = ["GET"], ["PUT", "POST"]
ROUTES = Map([
    Rule("/organisation", methods=_READ, endpoint="organisation"),
    Rule("/currencies", methods=_READ, endpoint="currencies"),
    Rule("/contacts", methods=_READ, endpoint="get_contacts"),
    Rule("/contacts/<item>", methods=_READ, endpoint="get_contacts"),
    Rule("/contacts", methods=_WRITE, endpoint="write_contacts"),
    Rule("/contacts/<item>", methods=_WRITE, endpoint="write_contacts"),
    Rule("/invoices", methods=_READ, endpoint="get_invoices"),
    Rule("/invoices/<item>", methods=_READ, endpoint="get_invoices"),
    Rule("/invoices", methods=_WRITE, endpoint="write_invoices"),
    Rule("/invoices/<item>", methods=_WRITE, endpoint="write_invoices"),
    Rule("/quotes", methods=_READ, endpoint="get_quotes"),
    Rule("/quotes/<item>", methods=_READ, endpoint="get_quotes"),
    Rule("/quotes", methods=_WRITE, endpoint="write_quotes"),
    Rule("/quotes/<item>", methods=_WRITE, endpoint="write_quotes"),
], strict_slashes=False)


class Accounting(Quotes):
    """Every resource of the Accounting API the sandbox serves, for its tenants."""

    def __init__(self, tenants: dict[str, Tenant], now: Callable[[], float]) -> None:
        self.tenants = tenants
        self.now_epoch = now

    def handle(self, method: str, parts: list[str], query: dict[str, list[str]],
               headers: dict[str, str], body: bytes, tenant_id: str) -> Response:
        tenant = self.tenants[tenant_id]
        q = {k.lower(): v[-1] for k, v in query.items()}
        path = "/" + "/".join([parts[0].lower(), *parts[1:]]) if parts else "/"
        try:
            endpoint, args = ROUTES.bind("sandbox").match(path, method=method)
        except HTTPException:  # no such route, or not with this method
            return not_found()
        item = args.get("item")
        try:
            if endpoint == "organisation":
                return self.envelope("Organisations", [self.organisation_json(tenant)])
            if endpoint == "currencies":
                return self.envelope("Currencies", [
                    {"Code": code, "Description": CURRENCY_NAMES.get(code, code)}
                    for code in tenant.rates])
            if endpoint == "get_contacts":
                return self.get_contacts(tenant, q, headers, item)
            if endpoint == "write_contacts":
                return self.write_contacts(tenant, method, body, item)
            if endpoint == "get_invoices":
                return self.get_invoices(tenant, q, headers, item)
            if endpoint == "write_invoices":
                return self.write_invoices(tenant, method, body, item, unit_places(q))
            if endpoint == "get_quotes":
                return self.get_quotes(tenant, q, headers, item)
            return self.write_quotes(tenant, method, body, item, unit_places(q))
        except BadRequest as exc:
            return validation_response(exc, self.forms())
        except QueryParseError as exc:
            return query_parse_response(exc, self.forms())
        except NotFound:
            return not_found()

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


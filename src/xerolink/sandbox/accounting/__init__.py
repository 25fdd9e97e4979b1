"""Xero's Accounting API, per tenant, as the sandbox serves it: routing here (a
Werkzeug ``Map``), each resource in its own module (contacts, invoices, quotes), the
shared query, paging and commit machinery in ``common``, validation in
``validation``."""

from __future__ import annotations

from collections.abc import Callable, Collection
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
from xerolink.sandbox.accounting.sending import Sending, accepts_pdf
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
    Rule("/creditnotes", methods=_READ, endpoint="get_credit_notes"),
    Rule("/creditnotes/<item>", methods=_READ, endpoint="get_credit_notes"),
    *(Rule(f"/{kind}/<item>/allocations", methods=["PUT"], endpoint=f"allocate_{kind}")
      for kind in ("creditnotes", "overpayments", "prepayments")),
    Rule("/invoices/<item>/email", methods=["POST"], endpoint="email"),
    Rule("/invoices/<item>/onlineinvoice", methods=_READ, endpoint="online_invoice"),
    *(Rule(f"/{kind}/<item>/history", methods=["GET", "PUT"], endpoint=f"history_{kind}")
      for kind in ("invoices", "quotes", "creditnotes")),
    Rule("/payments", methods=_READ, endpoint="get_payments"),
    Rule("/payments/<item>", methods=_READ, endpoint="get_payments"),
    Rule("/payments", methods=_WRITE, endpoint="create_payments"),
    Rule("/payments/<item>", methods=["POST"], endpoint="delete_payment"),
    Rule("/overpayments", methods=_READ, endpoint="get_overpayments"),
    Rule("/overpayments/<item>", methods=_READ, endpoint="get_overpayments"),
    Rule("/prepayments", methods=_READ, endpoint="get_prepayments"),
    Rule("/prepayments/<item>", methods=_READ, endpoint="get_prepayments"),
], strict_slashes=False)
_SENDING = {"email", "online_invoice", "history_invoices", "history_quotes",
            "history_creditnotes", "allocate_creditnotes", "allocate_overpayments",
            "allocate_prepayments", "create_payments", "delete_payment", "get_payments",
            "get_overpayments", "get_prepayments"}
_PDF_OF = {"get_invoices": "invoices", "get_quotes": "quotes",
           "get_credit_notes": "creditnotes"}


class Accounting(Sending):
    """Every resource of the Accounting API the sandbox serves, for its tenants."""

    def __init__(self, tenants: dict[str, Tenant], now: Callable[[], float]) -> None:
        self.tenants = tenants
        self.now_epoch = now

    def handle(self, method: str, parts: list[str], query: dict[str, list[str]],
               headers: dict[str, str], body: bytes, tenant_id: str) -> Response:
        tenant = self.tenants[tenant_id]
        q = {k.lower(): v[-1] for k, v in query.items()}
        # The resource and any sub-resource (Email, History...) are case-insensitive.
        segments = [parts[0].lower(), *parts[1:2], *(p.lower() for p in parts[2:])]
        path = "/" + "/".join(segments) if parts else "/"
        try:
            endpoint, args = ROUTES.bind("sandbox").match(path, method=method)
        except HTTPException:  # no such route, or not with this method
            return not_found()
        item = args.get("item")
        try:
            if item is not None and endpoint in _PDF_OF and accepts_pdf(headers):
                return self.document_pdf(tenant, _PDF_OF[endpoint], item)
            if endpoint in _SENDING:
                return self._sending(endpoint, tenant, method, q, headers, body, item)
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
            if endpoint == "get_credit_notes":
                return self.get_credit_note_list(tenant, q, headers, item)
            return self.write_quotes(tenant, method, body, item, unit_places(q))
        except BadRequest as exc:
            return validation_response(exc, self.forms())
        except QueryParseError as exc:
            return query_parse_response(exc, self.forms())
        except NotFound:
            return not_found()

    def _sending(self, endpoint: str, tenant: Tenant, method: str, q: dict[str, str],
                 headers: dict[str, str], body: bytes, item: str | None) -> Response:
        """Email, online invoices, history, payments and credit (``sending`` and
        ``settlements``)."""
        if endpoint == "email" and item is not None:
            return self.email_invoice(tenant, item, headers, body)
        if endpoint == "online_invoice" and item is not None:
            return self.online_invoice(tenant, item)
        if endpoint.startswith("history_") and item is not None:
            document = self.document_for_history(tenant, endpoint[8:], item)
            if method == "GET":
                return self.get_history(tenant, document)
            return self.put_history(tenant, document, body)
        if endpoint.startswith("allocate_") and item is not None:
            return self.allocate(tenant, endpoint[9:], item, body)
        if endpoint == "delete_payment" and item is not None:
            return self.delete_payment(tenant, item, body)
        if endpoint == "create_payments":
            return self.create_payments(tenant, body)
        if endpoint == "get_payments":
            return self.get_payments(tenant, q, headers, item)
        if endpoint == "get_overpayments":
            return self.get_overpayments(tenant, q, headers, item)
        return self.get_prepayments(tenant, q, headers, item)

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
    RAW_PARTS = ("organisation", "today", "contacts", "invoices", "quotes", "payments",
                 "credit_notes", "overpayments", "prepayments", "outbox")

    def raw(self, tenant_id: str, only: Collection[str] | None = None) -> dict[str, Any]:
        """The organisation's records as Xero's JSON; ``only``: just these parts (a
        test that needs the contacts need not wait for every invoice's)."""
        tenant = self.tenants[tenant_id]
        parts: dict[str, Callable[[], Any]] = {
            "organisation": lambda: self.organisation_json(tenant),
            "today": lambda: self.today(tenant).isoformat(),
            "contacts": lambda: [self.contact_json(tenant, c, summary=False, balances=False)
                                 for c in tenant.contacts.values()],
            "invoices": lambda: [self.invoice_json(tenant, i, lines=True)
                                 for i in tenant.invoices.values()],
            "quotes": lambda: [self.quote_json(tenant, x) for x in tenant.quotes.values()],
            "payments": lambda: [self.payment_json(tenant, p)
                                 for p in tenant.payments.values()],
            "credit_notes": lambda: [self.credit_note_json(tenant, n)
                                     for n in tenant.credit_notes.values()],
            "overpayments": lambda: [self.credit_json(tenant, r, "OverpaymentID")
                                     for r in tenant.overpayments.values()],
            "prepayments": lambda: [self.credit_json(tenant, r, "PrepaymentID")
                                    for r in tenant.prepayments.values()],
            "outbox": lambda: list(tenant.outbox),
        }
        return {name: make() for name, make in parts.items() if only is None or name in only}


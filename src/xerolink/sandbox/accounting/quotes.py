"""Quotes: reading (100 a page, no pageSize, as Xero) and writing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xerolink.sandbox.accounting.common import (
    QUOTES_PER_PAGE,
    BadRequest,
    NotFound,
    elements_of,
    line_json,
    unit_places,
)
from xerolink.sandbox.accounting.invoices import Invoices
from xerolink.sandbox.accounting.validation import (
    QUOTE_STATUSES,
    QUOTE_TRANSITIONS,
    dates_of,
    stage,
)
from xerolink.sandbox.seed import Tenant, line_amounts
from xerolink.sandbox.state import Response
from xerolink.sandbox.xerojson import date_string, ms_date, parse_date


class Quotes(Invoices):
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
            "LineItems": [line_json(line, places) for line in quote["LineItems"]],
            "Date": ms_date(quote["Date"]),
            "DateString": date_string(quote["Date"]),
            "Status": quote["Status"],
            "CurrencyCode": quote["CurrencyCode"],
            "SubTotal": quote["SubTotal"],
            "TotalTax": quote["TotalTax"],
            "Total": quote["Total"],
            "TotalDiscount": Decimal("0"),
            "Title": quote.get("Title", ""),
            "Summary": quote.get("Summary", ""),
            "UpdatedDateUTC": ms_date(quote["UpdatedDateUTC"]),
            "LineAmountTypes": quote["LineAmountTypes"],
        }
        if self.forms().currency_rate or quote["CurrencyCode"] != tenant.base_currency:
            out["CurrencyRate"] = quote["CurrencyRate"]
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
                                                            places=unit_places(q))])
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
        return self.envelope("Quotes", [self.quote_json(tenant, x, places=unit_places(q))
                                        for x in items])

    def write_quotes(self, tenant: Tenant, method: str, body: bytes, item: str | None,
                     places: int) -> Response:
        staged = stage(method, elements_of(body, "Quotes"), item, "QuoteID", tenant.quotes,
                        QUOTE_TRANSITIONS, lambda e: self._validate_quote(tenant, e, places))

        def create(fields: dict[str, Any]) -> dict[str, Any]:
            quote = {**fields, "QuoteID": str(uuid.uuid4()),
                     "QuoteNumber": f"QU-{tenant.next_quote_number:04d}"}
            tenant.next_quote_number += 1
            for line in quote["LineItems"]:
                line["LineItemID"] = str(uuid.uuid4())
            tenant.quotes[quote["QuoteID"]] = quote
            tenant.quotes_by_contact[quote["ContactID"]].append(quote["QuoteID"])
            return quote

        results = [self.quote_json(tenant, quote, places=places)
                   for quote in self.commit(staged, create)]
        return self.envelope("Quotes", results)

    def _validate_quote(self, tenant: Tenant, element: dict[str, Any], places: int
                        ) -> tuple[list[str], dict[str, Any]]:
        errors: list[str] = []
        contact_id = self._contact_for(tenant, element, errors)
        if not element.get("Date"):
            errors.append("Date cannot be empty")
        issued, expiry = dates_of(element, ("Date", "ExpiryDate"), errors)
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


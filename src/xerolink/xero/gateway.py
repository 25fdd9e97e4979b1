"""The Xero gateway: the accounting and connections resources xerolink reads and
writes, each one call (or one page) through ``Transport.call``, and the paging
iterators that own Xero's page sizes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xerolink.errors import NotFoundError, XeroUnreachableError
from xerolink.xero.answers import (
    CallLog,
    EndpointUnavailable,
    OrganisationInfo,
    ScopeMissing,
    TenantInfo,
    TokenProvider,
    UriTooLong,
    validation_message,
)
from xerolink.xero.http import MAX_IN_FLIGHT
from xerolink.xero.jsonutil import text
from xerolink.xero.transport import MAX_URL, UNIT_DP, Transport, id_batch_size

__all__ = ["MAX_URL", "CallLog", "EndpointUnavailable", "OrganisationInfo", "Page",
           "ScopeMissing",
           "TenantInfo", "TokenProvider", "UriTooLong", "XeroGateway", "id_batch_size",
           "validation_message"]

# Xero's page sizes: Contacts and Invoices take pageSize (up to 1,000); Quotes has no
# pageSize and answers 100 a page (docs/xero-fidelity.md).
CONTACTS_PAGE = 1000
INVOICES_PAGE = 1000
QUOTES_PAGE = 100
MAX_PAGES = 1000  # a bound on any paging loop: a million contacts or documents


@dataclass(frozen=True)
class Page:
    """One page of a paged read: its number, Xero's page count (when it says), items."""

    number: int
    count: int | None
    items: list[dict[str, Any]]


class XeroGateway(Transport):
    def connections(self) -> list[TenantInfo]:
        api = self.identity_api()
        data = self.call("GET connections",
                         lambda: api.get_connections(**self.raw), idempotent=True)
        if not isinstance(data, list):
            raise XeroUnreachableError("Xero's connections answer was not a list")
        return [TenantInfo(text(c.get("tenantId")).lower(), text(c.get("tenantName")),
                           text(c.get("tenantType")), text(c.get("id"))) for c in data]

    def organisation(self) -> OrganisationInfo:
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET Organisation",
                         lambda: api.get_organisations(tenant, **self.raw),
                         idempotent=True)
        try:
            org = data["Organisations"][0]
        except (KeyError, IndexError, TypeError):
            raise XeroUnreachableError("Xero's Organisation answer had no organisation") from None
        return OrganisationInfo(text(org.get("Name")), text(org.get("ShortCode")),
                                text(org.get("BaseCurrency")), text(org.get("Timezone")),
                                text(org.get("CountryCode")))

    def contacts_page(self, page: int, *, modified_since: datetime | None = None,
                      page_size: int = CONTACTS_PAGE) -> tuple[list[dict[str, Any]], int]:
        """One page of the organisation's contacts, archived included, with contact
        persons (so no summaryOnly). Returns the contacts and Xero's page count."""
        api, tenant = self.accounting_api(), self._tenant()
        extra: dict[str, Any] = {}
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        data = self.call("GET Contacts", lambda: api.get_contacts(
            tenant, page=page, page_size=page_size, include_archived=True,
            **self.raw, **extra), idempotent=True)
        contacts = list(data.get("Contacts") or [])
        pages = (data.get("pagination") or {}).get("pageCount")
        return contacts, int(pages) if pages is not None else page

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        api, tenant = self.accounting_api(), self._tenant()
        missing = NotFoundError(f"no Xero contact with ContactID {contact_id}")
        try:
            data = self.call("GET Contacts/{id}", lambda: api.get_contact(
                tenant, contact_id, **self.raw), idempotent=True)
            return dict(data["Contacts"][0])
        except NotFoundError:
            raise missing from None
        except (KeyError, IndexError, TypeError):
            raise missing from None

    def contacts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """Contacts by ContactID (Xero's ``IDs``), archived included; an unknown id
        is simply absent from the answer."""
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET Contacts", lambda: api.get_contacts(
            tenant, i_ds=ids, include_archived=True, **self.raw), idempotent=True,
            many_ids=len(ids) > 1)
        return list(data.get("Contacts") or [])

    def search_contacts(self, term: str, *, page_size: int = 100) -> list[dict[str, Any]]:
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET Contacts", lambda: api.get_contacts(
            tenant, search_term=term, page=1, page_size=page_size, **self.raw),
            idempotent=True)
        return list(data.get("Contacts") or [])

    def create_contact(self, fields: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """PUT one contact. The key is the same across retries, so a retry after a lost
        answer cannot create a second contact."""
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("PUT Contacts", lambda: api.create_contacts(
            tenant, {"Contacts": [fields]}, idempotency_key=idempotency_key,
            **self.raw), idempotent=True)
        return dict(data["Contacts"][0])

    def invoices_page(self, page: int, *, contact_ids: list[str] | None = None,
                      statuses: tuple[str, ...] | None = None, ids: list[str] | None = None,
                      modified_since: datetime | None = None,
                      numbers: list[str] | None = None
                      ) -> tuple[list[dict[str, Any]], int]:
        """A page of up to 1,000 invoices and bills, summaryOnly, filtered by Xero.
        Returns the documents and Xero's page count."""
        api, tenant = self.accounting_api(), self._tenant()
        extra: dict[str, Any] = {}
        if numbers:
            extra["invoice_numbers"] = numbers
        if contact_ids:
            extra["contact_i_ds"] = contact_ids
        if statuses:
            extra["statuses"] = list(statuses)
        if ids:
            extra["i_ds"] = ids
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        many = len(contact_ids or ()) > 1 or len(ids or ()) > 1
        data = self.call("GET Invoices", lambda: api.get_invoices(
            tenant, page=page, page_size=INVOICES_PAGE, summary_only=True, _preload_content=False,
            _request_timeout=self.timeout, **extra), idempotent=True, many_ids=many)
        pages = (data.get("pagination") or {}).get("pageCount")
        return list(data.get("Invoices") or []), int(pages) if pages is not None else page

    def quotes_page(self, page: int, *, contact_id: str | None = None,
                    status: str | None = None, modified_since: datetime | None = None,
                    number: str | None = None) -> list[dict[str, Any]]:
        """A page of up to 100 quotes (Xero's Quotes endpoint has no pageSize)."""
        api, tenant = self.accounting_api(), self._tenant()
        extra: dict[str, Any] = {}
        if number:
            extra["quote_number"] = number
        if contact_id:
            extra["contact_id"] = contact_id
        if status:
            extra["status"] = status
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        data = self.call("GET Quotes", lambda: api.get_quotes(
            tenant, page=page, **self.raw, **extra), idempotent=True)
        return list(data.get("Quotes") or [])

    # -- paged reads: each page one call, bounded by MAX_PAGES ------------------------
    def contact_pages(self, *, start: int = 1, modified_since: datetime | None = None
                      ) -> Iterator[Page]:
        """The organisation's contacts page by page from ``start``, in order; a short
        page (or Xero's page count) ends it. Once the first page has told the page
        count, the rest are read five at a time (Xero's limit in flight) while the
        caller works on the pages already here."""
        items, count = self.contacts_page(start, modified_since=modified_since)
        yield Page(start, count, items)
        if len(items) < CONTACTS_PAGE or start >= count:
            return
        if count > start:  # Xero said how many: read ahead
            from concurrent.futures import ThreadPoolExecutor

            def read(number: int) -> Page:
                found, pages = self.contacts_page(number, modified_since=modified_since)
                return Page(number, pages, found)

            last = min(count, start + MAX_PAGES - 1)
            pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT)
            try:
                yield from pool.map(read, range(start + 1, last + 1))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            return
        for number in range(start + 1, start + MAX_PAGES):  # no page count: one by one
            items, count = self.contacts_page(number, modified_since=modified_since)
            yield Page(number, count, items)
            if len(items) < CONTACTS_PAGE:
                return

    def invoice_pages(self, *, contact_ids: list[str] | None = None,
                      statuses: tuple[str, ...] | None = None, ids: list[str] | None = None,
                      modified_since: datetime | None = None) -> Iterator[Page]:
        """Invoices and bills matching the filters, page by page."""
        for number in range(1, MAX_PAGES + 1):
            items, count = self.invoices_page(number, contact_ids=contact_ids,
                                              statuses=statuses, ids=ids,
                                              modified_since=modified_since)
            yield Page(number, count, items)
            if len(items) < INVOICES_PAGE or number >= count:
                return

    def quote_pages(self, *, contact_id: str | None = None, status: str | None = None,
                    modified_since: datetime | None = None) -> Iterator[Page]:
        """Quotes matching the filters, page by page (Xero gives no page count)."""
        for number in range(1, MAX_PAGES + 1):
            items = self.quotes_page(number, contact_id=contact_id, status=status,
                                     modified_since=modified_since)
            yield Page(number, None, items)
            if len(items) < QUOTES_PAGE:
                return

    def get_quote(self, quote_id: str) -> dict[str, Any]:
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET Quotes/{id}", lambda: api.get_quote(
            tenant, quote_id, **self.raw), idempotent=True)
        try:
            return dict(data["Quotes"][0])
        except (KeyError, IndexError, TypeError):
            raise NotFoundError(f"Xero has no quote {quote_id}") from None

    def create_invoice(self, fields: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """PUT one invoice or bill with ``unitdp=4``: without it Xero rounds unit
        amounts to two places (1000 x 0.1648 would become a 160.00 line)."""
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("PUT Invoices", lambda: api.create_invoices(
            tenant, {"Invoices": [fields]}, unitdp=UNIT_DP, idempotency_key=idempotency_key,
            **self.raw), idempotent=True)
        return dict(data["Invoices"][0])

    def create_quote(self, fields: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """PUT one quote with ``unitdp=4``. xero-python's ``create_quotes`` has no
        ``unitdp`` argument, so this request is built on the SDK's own client."""
        api, tenant = self.accounting_api(), self._tenant()
        client = api.api_client
        headers = {"xero-tenant-id": tenant, "Idempotency-Key": idempotency_key,
                   "Accept": "application/json", "Content-Type": "application/json"}
        data = self.call("PUT Quotes", lambda: client.call_api(
            api.get_resource_url("/Quotes"), "PUT", {}, [("unitdp", UNIT_DP)], headers,
            body={"Quotes": [fields]}, post_params=[], files={}, response_type="Quotes",
            response_model_finder=api.get_model_finder(), auth_settings=["OAuth2"],
            _return_http_data_only=True, collection_formats={}, **self.raw), idempotent=True)
        return dict(data["Quotes"][0])


"""The Xero gateway: the accounting and connections resources xerolink reads and
writes, each one call (or one page) through ``Transport.call``, and the paging
iterators that own Xero's page sizes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from xerolink.errors import NotFoundError, XeroUnreachableError
from xerolink.money import cents
from xerolink.store.models import CachedCredit, CachedDocument, CachedPayment, XeroContact
from xerolink.vocabulary import OPEN_INVOICE_STATUSES, DocumentKind
from xerolink.xero import drafts, models, outgoing
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
from xerolink.xero.drafts import Draft, NewContact
from xerolink.xero.http import MAX_IN_FLIGHT
from xerolink.xero.jsonutil import text
from xerolink.xero.outgoing import CreditNote, Outgoing
from xerolink.xero.transport import MAX_URL, UNIT_DP, id_batch_size

__all__ = [
    "MAX_URL",
    "CallLog",
    "EndpointUnavailable",
    "OrganisationInfo",
    "ScopeMissing",
    "TenantInfo",
    "TokenProvider",
    "UriTooLong",
    "XeroGateway",
    "XeroPage",
    "id_batch_size",
    "validation_message",
]

# Xero's page sizes: Contacts and Invoices take pageSize (up to 1,000); Quotes has no
# pageSize and answers 100 a page (docs/xero-fidelity.md).
CONTACTS_PAGE = 1000
INVOICES_PAGE = 1000
QUOTES_PAGE = 100
SETTLEMENTS_PAGE = 1000  # Payments, CreditNotes, Overpayments, Prepayments: pageSize
MAX_PAGES = 1000  # a bound on any paging loop: a million contacts or documents


@dataclass(frozen=True)
class XeroPage:
    """One page of a paged read: its number, Xero's page count (when it says), items."""

    number: int
    count: int | None
    items: list[dict[str, Any]]


class XeroGateway(Outgoing):
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
                      page_size: int = CONTACTS_PAGE
                      ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the organisation's contacts, archived included, with contact
        persons (so no summaryOnly). Returns the contacts and Xero's page count (None
        when the answer has no ``pagination``, as older answers do)."""
        api, tenant = self.accounting_api(), self._tenant()
        extra: dict[str, Any] = {}
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        data = self.call("GET Contacts", lambda: api.get_contacts(
            tenant, page=page, page_size=page_size, include_archived=True,
            **self.raw, **extra), idempotent=True)
        return list(data.get("Contacts") or []), page_count(data)

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
                      ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of up to 1,000 invoices and bills, summaryOnly, filtered by Xero.
        Returns the documents and Xero's page count (None without ``pagination``)."""
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
        return list(data.get("Invoices") or []), page_count(data)

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

    def payments_page(self, page: int, *, since: date, status: str | None = None,
                      modified_since: datetime | None = None
                      ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of up to 1,000 payments dated ``since`` or later (``where`` on Date,
        and on Status when given), oldest first."""
        api, tenant = self.accounting_api(), self._tenant()
        where = f"Date>=DateTime({since.year},{since.month},{since.day})"
        if status:
            where += f'&&Status=="{status}"'
        extra: dict[str, Any] = {}
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        data = self.call("GET Payments", lambda: api.get_payments(
            tenant, where=where, order="Date", page=page, page_size=SETTLEMENTS_PAGE,
            **self.raw, **extra), idempotent=True)
        return list(data.get("Payments") or []), page_count(data)

    def credits_page(self, source: str, page: int, *, status: str | None = None,
                     modified_since: datetime | None = None
                     ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of up to 1,000 credit notes, overpayments or prepayments
        (``source``), with ``where`` on Status when given."""
        api, tenant = self.accounting_api(), self._tenant()
        read, key, label = CREDIT_READS[source]
        extra: dict[str, Any] = {}
        if status:
            extra["where"] = f'Status=="{status}"'
        if modified_since is not None:
            extra["if_modified_since"] = modified_since
        data = self.call(label, lambda: getattr(api, read)(
            tenant, page=page, page_size=SETTLEMENTS_PAGE, **self.raw, **extra),
            idempotent=True)
        return list(data.get(key) or []), page_count(data)

    # -- paged reads: each page one call, bounded by MAX_PAGES ------------------------
    def contact_pages(self, *, start: int = 1, modified_since: datetime | None = None
                      ) -> Iterator[XeroPage]:
        """The organisation's contacts page by page from ``start``, in order; a short
        page (or Xero's page count) ends it. Once the first page has told the page
        count, the rest are read five at a time (Xero's limit in flight) while the
        caller works on the pages already here; without one, one by one until a
        short page."""
        items, count = self.contacts_page(start, modified_since=modified_since)
        yield XeroPage(start, count, items)
        if len(items) < CONTACTS_PAGE or (count is not None and start >= count):
            return
        if count is not None:  # Xero said how many: read ahead
            from concurrent.futures import ThreadPoolExecutor

            def read(number: int) -> XeroPage:
                found, pages = self.contacts_page(number, modified_since=modified_since)
                return XeroPage(number, pages, found)

            last = min(count, start + MAX_PAGES - 1)
            pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT)
            try:
                yield from pool.map(read, range(start + 1, last + 1))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            return
        yield from _pages_until_short(
            lambda number: XeroPage(number, None, self.contacts_page(
                number, modified_since=modified_since)[0]),
            start + 1, CONTACTS_PAGE, items, "ContactID", "GET Contacts")

    def invoice_pages(self, *, contact_ids: list[str] | None = None,
                      statuses: tuple[str, ...] | None = None, ids: list[str] | None = None,
                      modified_since: datetime | None = None) -> Iterator[XeroPage]:
        """Invoices and bills matching the filters, page by page: to Xero's page
        count, or without one to a short page."""
        def read(number: int) -> XeroPage:
            found, pages = self.invoices_page(number, contact_ids=contact_ids,
                                              statuses=statuses, ids=ids,
                                              modified_since=modified_since)
            return XeroPage(number, pages, found)

        first = read(1)
        yield first
        if len(first.items) < INVOICES_PAGE or first.count == 1:
            return
        yield from _pages_until_short(read, 2, INVOICES_PAGE, first.items, "InvoiceID",
                                      "GET Invoices")

    def quote_pages(self, *, contact_id: str | None = None, status: str | None = None,
                    modified_since: datetime | None = None) -> Iterator[XeroPage]:
        """Quotes matching the filters, page by page (Xero gives no page count)."""
        def read(number: int) -> XeroPage:
            return XeroPage(number, None, self.quotes_page(
                number, contact_id=contact_id, status=status, modified_since=modified_since))

        first = read(1)
        yield first
        if len(first.items) < QUOTES_PAGE:
            return
        yield from _pages_until_short(read, 2, QUOTES_PAGE, first.items, "QuoteID",
                                      "GET Quotes")

    def get_quote(self, quote_id: str) -> dict[str, Any]:
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET Quotes/{id}", lambda: api.get_quote(
            tenant, quote_id, **self.raw), idempotent=True)
        try:
            return dict(data["Quotes"][0])
        except (KeyError, IndexError, TypeError):
            raise NotFoundError(f"Xero has no quote {quote_id}") from None

    def get_credit_note(self, credit_note_id: str) -> dict[str, Any]:
        """One credit note with its Allocations (Xero's CreditNotes take no ``IDs``)."""
        api, tenant = self.accounting_api(), self._tenant()
        data = self.call("GET CreditNotes/{id}", lambda: api.get_credit_note(
            tenant, credit_note_id, **self.raw), idempotent=True)
        try:
            return dict(data["CreditNotes"][0])
        except (KeyError, IndexError, TypeError):
            raise NotFoundError(f"Xero has no credit note {credit_note_id}") from None

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

    # -- typed reads: Xero's answers as xerolink's records ---------------------------------
    def contact(self, contact_id: str) -> XeroContact:
        return models.contact(self.get_contact(contact_id))

    def contacts(self, ids: list[str]) -> list[XeroContact]:
        """Contacts by ContactIDs, one call (the caller keeps the list short)."""
        return [models.contact(c) for c in self.contacts_by_ids(ids)]

    def find_contacts(self, term: str) -> list[XeroContact]:
        """Contacts whose name, first name, last name or email holds ``term``."""
        return [models.contact(c) for c in self.search_contacts(term)]

    def contact_copy_pages(self, *, start: int = 1, modified_since: datetime | None = None
                           ) -> Iterator[tuple[XeroPage, list[XeroContact]]]:
        """``contact_pages``, each page with its contacts parsed."""
        for page in self.contact_pages(start=start, modified_since=modified_since):
            yield page, [models.contact(c) for c in page.items]

    def invoices(self, fetched_at: datetime, base_currency: str | None, *,
                 contact_ids: list[str] | None = None,
                 statuses: tuple[str, ...] | None = None, ids: list[str] | None = None,
                 modified_since: datetime | None = None) -> list[CachedDocument]:
        """Every page of ``invoice_pages``, as cached documents."""
        return [models.invoice(d, fetched_at, base_currency=base_currency)
                for page in self.invoice_pages(contact_ids=contact_ids, statuses=statuses,
                                               ids=ids, modified_since=modified_since)
                for d in page.items]

    def quotes(self, fetched_at: datetime, base_currency: str | None, *,
               contact_id: str | None = None, status: str | None = None,
               modified_since: datetime | None = None) -> list[CachedDocument]:
        """Every page of ``quote_pages``, as cached documents."""
        return [models.quote(q, fetched_at, base_currency=base_currency)
                for page in self.quote_pages(contact_id=contact_id, status=status,
                                             modified_since=modified_since)
                for q in page.items]

    def quote(self, quote_id: str, fetched_at: datetime, base_currency: str | None
              ) -> CachedDocument:
        return models.quote(self.get_quote(quote_id), fetched_at, base_currency=base_currency)

    def numbered(self, number: str, fetched_at: datetime, base_currency: str | None
                 ) -> list[CachedDocument]:
        """Invoices and bills by InvoiceNumber; if none, quotes by QuoteNumber."""
        invoices, _ = self.invoices_page(1, numbers=[number])
        found = [models.invoice(d, fetched_at, base_currency=base_currency) for d in invoices]
        return found or [models.quote(q, fetched_at, base_currency=base_currency)
                         for q in self.quotes_page(1, number=number)]

    def open_invoices(self, fetched_at: datetime, base_currency: str | None, *,
                      fewer_pages_than: int) -> list[CachedDocument] | None:
        """The organisation's open invoices and bills, read only if that takes fewer
        than ``fewer_pages_than`` pages; None when it would not. The first page's
        ``pagination.pageCount`` decides (a full first page without one leaves the
        count unknown, so None): at worst that one call is spent."""
        from concurrent.futures import ThreadPoolExecutor

        first, count = self.invoices_page(1, statuses=OPEN_INVOICE_STATUSES)
        if count is None:  # no pagination block: one page if short, else unknown
            if len(first) >= INVOICES_PAGE:
                return None
            count = 1
        if count >= fewer_pages_than:
            return None

        def page(number: int) -> list[dict[str, Any]]:
            return self.invoices_page(number, statuses=OPEN_INVOICE_STATUSES)[0]

        raw = list(first)
        if count > 1:
            with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
                for items in pool.map(page, range(2, count + 1)):
                    raw += items
        return [models.invoice(d, fetched_at, base_currency=base_currency) for d in raw]

    def payments(self, fetched_at: datetime, base_currency: str | None, *, since: date,
                 status: str | None = None, modified_since: datetime | None = None
                 ) -> list[CachedPayment]:
        """Every page of payments dated ``since`` or later, those that settle an
        invoice or bill (a credit's refund settles none)."""
        def read(number: int) -> XeroPage:
            items, count = self.payments_page(number, since=since, status=status,
                                              modified_since=modified_since)
            return XeroPage(number, count, items)

        found = (models.payment(p, fetched_at, base_currency=base_currency)
                 for page in _all_pages(read, "PaymentID", "GET Payments") for p in page.items)
        return [p for p in found if p is not None]

    def credits(self, source: str, fetched_at: datetime, base_currency: str | None, *,
                status: str | None = None, modified_since: datetime | None = None
                ) -> list[CachedCredit]:
        """Every page of one credit list, as cached credit."""
        def read(number: int) -> XeroPage:
            items, count = self.credits_page(source, number, status=status,
                                             modified_since=modified_since)
            return XeroPage(number, count, items)

        id_key = models.CREDIT_SOURCES[source][0]
        return [models.credit(source, c, fetched_at, base_currency=base_currency)
                for page in _all_pages(read, id_key, CREDIT_READS[source][2])
                for c in page.items]

    def allocated_invoices(self, credit_note_id: str) -> list[str]:
        """The InvoiceIDs one credit note is allocated to."""
        return models.allocated_invoices(self.get_credit_note(credit_note_id))

    def credit_note(self, credit_note_id: str) -> CreditNote:
        """One credit note's id, number and status (a PDF's name)."""
        return outgoing.credit_note(self.get_credit_note(credit_note_id))

    # -- typed writes: drafts in, models out ----------------------------------------------
    def put_contact(self, new: NewContact, idempotency_key: str) -> XeroContact:
        """Create one Xero contact from a typed draft."""
        return models.contact(self.create_contact(new.as_xero(), idempotency_key))

    def put_document(self, draft: Draft, contact_id: str, idempotency_key: str,
                     fetched_at: datetime) -> CachedDocument:
        """Create one quote, draft invoice or draft bill; the document as cached."""
        fields = drafts.payload(draft, contact_id)
        if draft.kind == DocumentKind.QUOTE:
            return models.quote(self.create_quote(fields, idempotency_key), fetched_at)
        return models.invoice(self.create_invoice(fields, idempotency_key), fetched_at)

    def find_document_made(self, draft: Draft, contact_id: str, since: datetime,
                           fetched_at: datetime) -> CachedDocument | None:
        """The document this draft made, if Xero has it: the contact's documents
        changed since ``since``, newest first, matched by ``drafts.made_by`` (one call)."""
        if draft.kind == DocumentKind.QUOTE:
            candidates = self.quotes_page(1, contact_id=contact_id, modified_since=since)
        else:
            candidates, _ = self.invoices_page(1, contact_ids=[contact_id],
                                               modified_since=since)
        fields = drafts.payload(draft, contact_id)
        subtotal = sum((cents(line.quantity * line.unit_amount) for line in draft.lines),
                       Decimal("0"))
        for raw in reversed(candidates):
            if drafts.made_by(draft, fields, raw, subtotal):
                return (models.quote(raw, fetched_at) if draft.kind == DocumentKind.QUOTE
                        else models.invoice(raw, fetched_at))
        return None



# source -> (the SDK's list call, the answer's key, the call's label)
CREDIT_READS: dict[str, tuple[str, str, str]] = {
    "credit_note": ("get_credit_notes", "CreditNotes", "GET CreditNotes"),
    "overpayment": ("get_overpayments", "Overpayments", "GET Overpayments"),
    "prepayment": ("get_prepayments", "Prepayments", "GET Prepayments"),
}


def _all_pages(read: Callable[[int], XeroPage], key: str, label: str) -> Iterator[XeroPage]:
    """Page 1, then on to Xero's page count or a short page (at most MAX_PAGES)."""
    first = read(1)
    yield first
    if len(first.items) < SETTLEMENTS_PAGE or first.count == 1:
        return
    yield from _pages_until_short(read, 2, SETTLEMENTS_PAGE, first.items, key, label)


def page_count(data: Any) -> int | None:
    """``pagination.pageCount``, or None: older answers (and some live ones) have no
    ``pagination`` block, and a full page without one says nothing about the rest."""
    pagination = data.get("pagination") if isinstance(data, dict) else None
    pages = pagination.get("pageCount") if isinstance(pagination, dict) else None
    try:
        return None if pages is None else int(pages)
    except (TypeError, ValueError):
        return None


def _pages_until_short(read: Callable[[int], XeroPage], first: int, size: int,
                       previous: list[dict[str, Any]], key: str, label: str
                       ) -> Iterator[XeroPage]:
    """Pages from ``first`` on, until a short page or Xero's page count; at most
    ``MAX_PAGES``. A page that repeats the one before it means the server ignores
    ``page``: reading on would never end, so that is an error, not the end."""
    for number in range(first, first + MAX_PAGES):
        page = read(number)
        if page.items and previous and page.items[0].get(key) == previous[0].get(key):
            raise XeroUnreachableError(
                f"Xero answered {label} page {number} with the records of page "
                f"{number - 1}; it is not paging, so the list cannot be read in full")
        yield page
        if len(page.items) < size or (page.count is not None and number >= page.count):
            return
        previous = page.items

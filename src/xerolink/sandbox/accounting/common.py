"""What every Accounting resource of the sandbox shares: Xero's error answers, the
envelope, paging, ``where``/``order``, ``If-Modified-Since`` and the create-or-update
commit that follows validation."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from xerolink.formats import GUID, local_date
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import APP_NAME, Response
from xerolink.sandbox.where import WhereError, compile_where
from xerolink.sandbox.xerojson import Forms, ms_instant, wire, xml_api_exception

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
MAX_PAGE_SIZE = 1000
QUOTES_PER_PAGE = 100

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


def validation_response(exc: BadRequest, forms: Forms) -> Response:
    elements = [{k: e[k] for k in _ELEMENT_KEYS if e.get(k)} for e in exc.elements]
    body = {"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred", "Elements": elements}
    if forms.xml_errors:  # older answers, and some validation errors still (xero-facts)
        return 400, xml_api_exception(body), {"Content-Type": "text/xml; charset=utf-8"}
    return 400, wire(body, forms), dict(JSON_HEADERS)


def not_found() -> Response:
    """Xero answers an unknown id (or a route it does not have) with one sentence of
    text, labelled ``text/html`` (recorded live answers; docs/xero-fidelity.md)."""
    return 404, b"The resource you're looking for cannot be found", {
        "Content-Type": "text/html; charset=utf-8"}


def query_parse_response(exc: QueryParseError, forms: Forms) -> Response:
    body = {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
    return 400, wire(body, forms), dict(JSON_HEADERS)


def unit_places(q: dict[str, str]) -> int:
    """``unitdp=4`` opts in to four decimal places for unit amounts; otherwise Xero
    rounds them to two, on the way in and on the way out."""
    return 4 if q.get("unitdp", "").strip() == "4" else 2



Staged = list[tuple[dict[str, Any] | None, dict[str, Any]]]


class Base:
    """The tenants, the clock, and the helpers each resource's handlers use."""

    # The forms of the answers, read at each request (faults change them).
    forms: Callable[[], Forms] = staticmethod(Forms)

    def __init__(self, tenants: dict[str, Tenant], now: Callable[[], float]) -> None:
        self.tenants = tenants
        self.now_epoch = now

    # -- plumbing --------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_epoch(), UTC)

    def today(self, tenant: Tenant) -> date:
        return local_date(self.now(), tenant.timezone)

    def envelope(self, key: str, items: list[dict[str, Any]],
                 pagination: dict[str, int] | None = None) -> Response:
        forms = self.forms()
        body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK",
                                "ProviderName": APP_NAME, "DateTimeUTC": ms_instant(self.now())}
        if pagination is not None and forms.pagination:
            body["pagination"] = pagination
        body[key] = items
        return 200, wire(body, forms), dict(JSON_HEADERS)

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
        bad = [v for v in values if not GUID.match(v)]
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
                    key=lambda r: (resolve(r, path) is None, sort_key(resolve(r, path))),
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

    def commit(self, staged: Staged, create: Callable[[dict[str, Any]], dict[str, Any]],
               update: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
               ) -> list[dict[str, Any]]:
        """Write validated elements: ``create`` stores a new record (its fields carry
        UpdatedDateUTC), an existing one is updated in place (``update`` adds a
        resource's own rules). Returns the records written, in order."""
        now, written = self.now(), []
        for existing, fields in staged:
            if existing is None:
                record = create({**fields, "UpdatedDateUTC": now})
            else:
                if update is not None:
                    update(existing, fields)
                else:
                    existing.update(fields)
                existing["UpdatedDateUTC"] = now
                record = existing
            written.append(record)
        return written


def sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.toordinal()
    return value if value is not None else 0


def line_json(line: dict[str, Any], places: int) -> dict[str, Any]:
    unit = line["UnitAmount"].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    out = {"LineItemID": line.get("LineItemID"), "Description": line["Description"],
           "Quantity": line["Quantity"], "UnitAmount": unit,
           "TaxType": line["TaxType"], "TaxAmount": line["TaxAmount"],
           "LineAmount": line["LineAmount"], "Tracking": []}
    if line.get("AccountCode"):
        out["AccountCode"] = line["AccountCode"]
    return out


def elements_of(body: bytes, key: str) -> list[dict[str, Any]]:
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



"""Salesmate as a CRM source: the v4 search endpoints to read contacts, companies and
deals, and the v4 update endpoints to write fields back.

Every endpoint, field and limit used here, and its source, is in
``docs/salesmate-fidelity.md``. Where the public record is thin this module takes the
stricter reading: it accepts either shape Salesmate might answer in (a nested object or
a dotted key; ISO 8601 or epoch milliseconds), sends one request at a time, and treats
any answer it cannot read as a failure rather than as "no records".
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from xerolink.crmsource.base import Page, Pulled
from xerolink.errors import CrmRecordRefusedError, CrmRefusedError, CrmUnreachableError
from xerolink.redact import Secret, register_secret
from xerolink.store.records import CrmCompany, CrmContact, CrmDeal
from xerolink.xero.http import RetryPolicy, is_timeout, pool_manager, transport_errors

NAME = "salesmate"
PAGE_SIZE = 250  # "a maximum of 250 records can be fetched in one request"
# (path segment, moduleId, moduleName) per kind
MODULES = {"contact": ("contact", 1, "Contact"), "company": ("company", 5, "Company"),
           "deal": ("deal", 4, "Deal")}
FIELDS = {
    "contact": ("id", "firstName", "lastName", "email", "phone", "mobile", "company.id",
                "owner.id", "createdAt", "lastModifiedAt"),
    "company": ("id", "name", "owner.id", "createdAt", "lastModifiedAt"),
    "deal": ("id", "title", "dealValue", "currency", "primaryContact.id", "participants",
             "owner.id", "pipeline", "stage", "status", "createdAt", "lastModifiedAt"),
}
# Asked for, though not documented for search: an account that refuses it is asked again
# without it, and its deals keep only their primary contact.
UNDOCUMENTED = {"deal": "participants"}
# What an update must repeat, per kind (the update endpoints' required fields).
ECHO = {"contact": ("lastName", "owner"), "company": ("name", "owner"),
        "deal": ("title", "primaryContact", "owner", "pipeline", "status", "stage")}
# Salesmate's filter dates are written "Jan 01, 1970 05:30 AM", to the minute, in the
# account's own timezone (which xerolink does not know): callers leave a margin.
FILTER_DATE = "%b %d, %Y %I:%M %p"
EPOCH_FILTER = "Jan 01, 1970 12:00 AM"
RATE_LIMIT_ATTEMPTS = 5
SERVER_ERROR_ATTEMPTS = 3


def host_for(linkname: str) -> str:
    return f"{linkname}.salesmate.io"


class SalesmateSource:
    """One Salesmate account, reached with its access token."""

    name = NAME
    page_size = PAGE_SIZE

    def __init__(self, linkname: str, token: str, *, base_url: str | None = None,
                 timeouts: tuple[float, float] = (10.0, 60.0), max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 pool: Any = None, refused_fields: Sequence[str] = ()) -> None:
        register_secret(token)
        self.account = linkname
        self._token = Secret(token)  # no repr or vars() shows it
        self._base = (base_url or f"https://{host_for(linkname)}").rstrip("/")
        self._pool = pool or pool_manager(maxsize=1, timeout=timeouts)
        self._max_wait = max_wait
        self._sleep = sleep
        self._policy = RetryPolicy(base_delay=1.0, max_delay=16.0, sleep=sleep)
        self.calls: Counter[str] = Counter()
        # Undocumented fields this account refused (remembered between runs by the caller).
        self.refused_fields: set[str] = set(refused_fields)

    def close(self) -> None:
        self._pool.clear()

    # -- the interface ------------------------------------------------------------------
    def check(self) -> int:
        return self.count("contact")

    def count(self, kind: str) -> int:
        return self._search(kind, since=None, offset=0, rows=1, fields=()).total

    def changed(self, kind: str, since: datetime | None, offset: int,
                fields: Sequence[str] = ()) -> Page:
        try:
            return self._search(kind, since=since, offset=offset, rows=PAGE_SIZE,
                                fields=fields)
        except CrmRecordRefusedError:
            extra = UNDOCUMENTED.get(kind)
            if extra is None or f"{kind}.{extra}" in self.refused_fields:
                raise
            self.refused_fields.add(f"{kind}.{extra}")
            return self._search(kind, since=since, offset=offset, rows=PAGE_SIZE,
                                fields=fields)

    def update(self, kind: str, record_id: str, echo: dict[str, Any],
               values: dict[str, str]) -> None:
        segment = MODULES[kind][0]
        body: dict[str, Any] = {
            k: int(v) if k in ("owner", "primaryContact") and str(v).isdigit() else v
            for k, v in echo.items() if v not in (None, "")}
        body.update(values)
        self._call("PUT", f"/apis/{segment}/v4/{record_id}", body,
                   label=f"PUT /apis/{segment}/v4/{{id}}")

    # -- reading ----------------------------------------------------------------------
    def _search(self, kind: str, *, since: datetime | None, offset: int, rows: int,
                fields: Sequence[str]) -> Page:
        segment, module_id, module_name = MODULES[kind]
        incremental = since is not None
        watched = "lastModifiedAt" if incremental else "createdAt"
        rule = {"moduleName": module_name,
                "field": {"fieldName": f"{segment}.{watched}", "type": "DateTime"},
                "condition": "IS_AFTER",
                "data": since.astimezone(UTC).strftime(FILTER_DATE) if since else EPOCH_FILTER,
                "eventType": "DateTime"}
        body = {
            "displayingFields": [f"{segment}.{f}" for f in (*FIELDS[kind], *fields)
                                 if f"{segment}.{f}" not in self.refused_fields],
            "filterQuery": {"group": {"operator": "AND", "rules": [rule]}},
            "moduleId": module_id,
            "reportType": "get_data",
            "sort": {"fieldName": f"{segment}.{'lastModifiedAt' if incremental else 'id'}",
                     "order": "asc"},
            "getRecordsCount": True,
        }
        query = urlencode({"rows": rows, "from": offset})
        answer = self._call("POST", f"/apis/{segment}/v4/search?{query}", body,
                            label=f"POST /apis/{segment}/v4/search")
        data = answer.get("Data")
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise CrmUnreachableError("Salesmate's search answer has no Data.data list; "
                                      "nothing was changed")
        total = _whole(data.get("totalRows"))
        records = [_parse(kind, row, fields) for row in data["data"]]
        return Page(records, total if total is not None else offset + len(records))

    # -- HTTP -------------------------------------------------------------------------
    def _call(self, method: str, path_and_query: str, body: dict[str, Any],
              *, label: str) -> dict[str, Any]:
        headers = {"accessToken": self._token.reveal(), "x-linkname": host_for(self.account),
                   "Content-Type": "application/json", "Accept": "application/json"}
        payload = json.dumps(body).encode("utf-8")
        waited, limited, failed, timeouts = 0.0, 0, 0, 0
        while True:
            self.calls[label] += 1
            try:
                response = self._pool.request(method, self._base + path_and_query,
                                              body=payload, headers=headers,
                                              preload_content=True, redirect=False)
            except transport_errors() as exc:
                if "NameResolution" in type(exc).__name__ or "gaierror" in repr(exc):
                    raise CrmRefusedError(
                        f"there is no Salesmate account at {host_for(self.account)}: check "
                        "the linkname (the NAME in https://NAME.salesmate.io)") from None
                timeouts += 1
                if timeouts >= (2 if is_timeout(exc) else 3):
                    raise CrmUnreachableError(
                        f"Salesmate could not be reached ({type(exc).__name__}); nothing "
                        "more was changed; try again later") from None
                self._policy.pause(timeouts)
                continue
            status = response.status
            if status == 429:
                limited += 1
                delay = _retry_after(response.headers.get("Retry-After"))
                if delay is None:
                    delay = min(16.0, 2.0 ** limited)
                if limited >= RATE_LIMIT_ATTEMPTS or waited + delay > self._max_wait:
                    raise CrmUnreachableError(
                        "Salesmate's rate limit was reached and stayed reached (HTTP 429); "
                        "nothing more was changed; try again in a minute")
                waited += delay
                self._sleep(delay)
                continue
            if status >= 500:
                failed += 1
                if failed >= SERVER_ERROR_ATTEMPTS:
                    raise CrmUnreachableError(
                        f"Salesmate kept failing (HTTP {status}); nothing more was changed; "
                        "try again later")
                self._policy.pause(failed)
                continue
            return _answer(status, response.data, self.account,
                           record_call=method != "POST")


def _answer(status: int, raw: bytes, linkname: str, *, record_call: bool) -> dict[str, Any]:
    """The JSON of a successful answer; otherwise the error that says whose problem it
    is: the credentials or the account (exit 8, the command stops), one record (exit 8,
    a push goes on with the others), or Salesmate itself (exit 9)."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError):
        data = None
    host = host_for(linkname)
    if status in (401, 403):
        raise CrmRefusedError(
            f"Salesmate refused the access token for {host} (HTTP {status}): check the token "
            "(Salesmate: My Account > Access Key) and run `xerolink crm connect salesmate` "
            "again")
    found = data.get("Error") if isinstance(data, dict) else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(error.get("Name") or "")
    if 300 <= status < 400 or (status == 404 and not (record_call and
                                                      name == "ObjectNotFound")):
        raise CrmRefusedError(
            f"no Salesmate account answers at {host} (HTTP {status}): check the linkname "
            "(the NAME in https://NAME.salesmate.io)")
    if not isinstance(data, dict):
        raise CrmUnreachableError(f"Salesmate answered HTTP {status} with something other "
                                  "than JSON; nothing more was changed; try again later")
    if status < 300 and data.get("Status") == "success":
        return data
    message = _printable(str(error.get("Message") or data.get("message") or ""))
    if name.lower().startswith(("unauthor", "authentication", "invalidtoken",
                                "invalidlinkname", "invalidaccount")):
        raise CrmRefusedError(
            f"Salesmate refused the access token or linkname for {host} ({message or name}): "
            "check both and run `xerolink crm connect salesmate` again")
    if name == "ObjectNotFound":
        raise CrmRecordRefusedError(f"Salesmate has no such record ({message or name})")
    raise CrmRecordRefusedError(
        f"Salesmate refused the request (HTTP {status}{', ' + name if name else ''}): "
        f"{message or 'no reason given'}")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:200]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def pick(row: dict[str, Any], dotted: str) -> Any:
    """A field from a search row, whichever shape it comes in: ``{"company": {"id": 5}}``,
    ``{"company.id": 5}``, or ``{"company": 5}`` for ``company.id``."""
    if dotted in row:
        return row[dotted]
    head, _, rest = dotted.partition(".")
    value = row.get(head)
    if not rest:
        return value
    if isinstance(value, dict):
        return pick(value, rest)
    return value if rest == "id" and isinstance(value, int | str) else None


def _text(row: dict[str, Any], dotted: str) -> str:
    value = pick(row, dotted)
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return "".join(c for c in str(value).strip() if c.isprintable())[:1000]


def _ident(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, dict):
        return _ident(value.get("id"))
    text = str(value).strip()
    return text if text and len(text) <= 128 and text.isprintable() else None


def parse_time(value: Any) -> datetime | None:
    """Salesmate's timestamps: ISO 8601 (UTC when no offset is given) or epoch
    milliseconds."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse(kind: str, row: Any, fields: Sequence[str]) -> Pulled:
    if not isinstance(row, dict):
        raise CrmUnreachableError("Salesmate's search answer holds a record that is not an "
                                  "object; nothing was changed")
    record_id = _ident(row.get("id"))
    modified = parse_time(pick(row, "lastModifiedAt")) or parse_time(pick(row, "createdAt"))
    if record_id is None or modified is None:
        raise CrmUnreachableError(f"Salesmate's search answer holds a {kind} without an id "
                                  "or a lastModifiedAt; nothing was changed")
    record: CrmContact | CrmCompany | CrmDeal
    if kind == "contact":
        email = _text(row, "email").lower()
        record = CrmContact(id=record_id, first_name=_text(row, "firstName"),
                            last_name=_text(row, "lastName"),
                            email=email if "@" in email else "",
                            phone=_text(row, "phone") or _text(row, "mobile"),
                            company_id=_ident(pick(row, "company.id")), source=NAME)
    elif kind == "company":
        record = CrmCompany(id=record_id, name=_text(row, "name") or f"Company {record_id}",
                            source=NAME)
    else:
        participants = pick(row, "participants")
        ids = [i for i in (_ident(p) for p in participants)
               if i] if isinstance(participants, list) else []
        currency = _text(row, "currency").upper()
        record = CrmDeal(id=record_id, title=_text(row, "title") or f"Deal {record_id}",
                         value=_amount(pick(row, "dealValue")),
                         currency=currency if len(currency) == 3 and currency.isalpha()
                         else None,
                         primary_contact_id=_ident(pick(row, "primaryContact.id")),
                         participant_ids=tuple(dict.fromkeys(ids)), source=NAME)
    echo = {key: _ident(pick(row, f"{key}.id")) if key in ("owner", "primaryContact")
            else _text(row, key) for key in ECHO[kind]}
    values = {f: _text(row, f) for f in fields}
    return Pulled(kind, record, modified.astimezone(UTC), echo, values)


def _amount(value: Any) -> Decimal | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


"""Salesmate as a CRM source: the v4 search endpoints to read contacts, companies and
deals, and the v4 update endpoints to write fields back.

Every endpoint, field and limit used here, and its source, is in
``docs/salesmate-fidelity.md``. Where the public record is thin this module takes the
stricter reading: it accepts either shape Salesmate might answer in (a nested object or
a dotted key; ISO 8601 or epoch milliseconds), reads one request at a time (a push
writes with a few workers, which share one rate-limit pause), and treats
any answer it cannot read as a failure rather than as "no records": a malformed
count, time or page is Salesmate's fault (exit 9), never a bug. Every call has a
deadline for its whole answer, not only for each socket read.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from xerolink.crmsource.base import CrmPage, Pulled
from xerolink.crmsource.salesmate_rows import (
    ECHO,
    NAME,
    parse_row,
    parse_time,
    pick,
    printable,
    retry_after,
    whole,
)
from xerolink.crmsource.salesmate_wire import (
    NoSuchRecord,
    Sockets,
    answer,
    host_for,
    pool_with_sockets,
    where,
)
from xerolink.errors import CrmRecordRefusedError, CrmRefusedError, CrmUnreachableError
from xerolink.redact import Secret, register_secret
from xerolink.vocabulary import RecordKind
from xerolink.xero.http import (
    RetryPolicy,
    connection_failure,
    is_timeout,
    transport_errors,
)

__all__ = ["ECHO", "NAME", "SalesmateSource", "host_for", "parse_time", "pick"]

PAGE_SIZE = 250  # "a maximum of 250 records can be fetched in one request"
# (path segment, moduleId, moduleName) per kind
MODULES: dict[str, tuple[str, int, str]] = {RecordKind.CONTACT: ("contact", 1, "Contact"),
           RecordKind.COMPANY: ("company", 5, "Company"), RecordKind.DEAL: ("deal", 4, "Deal")}
FIELDS: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: ("id", "firstName", "lastName", "email", "phone", "mobile", "company.id",
                "owner.id", "createdAt", "lastModifiedAt"),
    RecordKind.COMPANY: ("id", "name", "owner.id", "createdAt", "lastModifiedAt"),
    RecordKind.DEAL: ("id", "title", "dealValue", "currency", "primaryContact.id", "participants",
             "owner.id", "pipeline", "stage", "status", "createdAt", "lastModifiedAt"),
}
# Asked for, though not documented for search: an account that refuses it is asked again
# without it, and its deals keep only their primary contact.
UNDOCUMENTED = {"deal": "participants"}
# Salesmate's filter dates are written "Jan 01, 1970 05:30 AM", to the minute, in the
# account's own timezone (which xerolink does not know): callers leave a margin.
FILTER_DATE = "%b %d, %Y %I:%M %p"
EPOCH_FILTER = "Jan 01, 1970 12:00 AM"
RATE_LIMIT_ATTEMPTS = 5
SERVER_ERROR_ATTEMPTS = 3
# More records of one kind than this is not a count a small business's CRM gives: the
# answer is taken as malformed rather than read for hours.
MAX_RECORDS = 1_000_000


class SalesmateSource:
    """One Salesmate account, reached with its access token."""

    name = NAME
    page_size = PAGE_SIZE

    def __init__(self, linkname: str, token: str, *, base_url: str | None = None,
                 timeouts: tuple[float, float] = (10.0, 60.0), max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 pool: Any = None, refused_fields: Sequence[str] = (),
                 connections: int = 4) -> None:
        register_secret(token)
        self.account = linkname
        self._token = Secret(token)  # no repr or vars() shows it
        self._base = (base_url or f"https://{host_for(linkname)}").rstrip("/")
        self._where = where(linkname, base_url)
        self._sockets = Sockets()
        # At most ``connections`` sockets: one per worker of a push (a pull uses one).
        self._pool = pool or pool_with_sockets(timeouts, self._sockets, connections)
        # The whole answer to one call must arrive within this (a server that drips a
        # byte a second never trips a per-read timeout).
        self.call_deadline = timeouts[0] + timeouts[1]
        self._max_wait = max_wait
        self._sleep = sleep
        self._policy = RetryPolicy(base_delay=1.0, max_delay=16.0, sleep=sleep)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()  # the call counts and the shared pause
        # A 429 pauses every thread calling through this source, not only the one it
        # answered: (monotonic time the pause ends, the thread that sleeps it itself).
        self._paused: tuple[float, int] = (0.0, 0)
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
                fields: Sequence[str] = ()) -> CrmPage:
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

    def current(self, kind: str, record_id: str, fields: Sequence[str] = ()
                ) -> Pulled | None:
        """The record as Salesmate holds it now (``GET /apis/{kind}/v4/{id}``), or None
        when Salesmate says it has no such record (``ObjectNotFound``, or the record
        flagged deleted); any other failure is raised, never read as "gone"."""
        segment = MODULES[kind][0]
        try:
            answer = self._call("GET", f"/apis/{segment}/v4/{quote(record_id, safe='')}",
                                None, label=f"GET /apis/{segment}/v4/{{id}}")
        except NoSuchRecord:
            return None
        data = answer.get("Data")
        if not isinstance(data, dict):
            raise CrmUnreachableError(f"Salesmate's answer for {kind} {record_id} has no "
                                      "Data object; nothing more was changed")
        if data.get("isDeleted") is True or data.get("deleted") is True:
            return None  # a record kept after deletion, flagged: as good as gone
        found = parse_row(kind, data, fields)
        if found.id != record_id:
            raise CrmUnreachableError(f"Salesmate answered for {kind} {found.id} when asked "
                                      f"for {kind} {record_id}; nothing more was changed")
        return found

    def update(self, kind: str, record_id: str, echo: dict[str, Any],
               values: dict[str, str]) -> None:
        """``echo``: the required fields as Salesmate holds them now (from ``current``,
        read just before), sent back unchanged because Salesmate requires them."""
        segment = MODULES[kind][0]
        body: dict[str, Any] = {
            k: int(v) if k in ("owner", "primaryContact") and str(v).isdigit() else v
            for k, v in echo.items() if k in ECHO[kind] and v not in (None, "")}
        body.update(values)
        self._call("PUT", f"/apis/{segment}/v4/{quote(record_id, safe='')}", body,
                   label=f"PUT /apis/{segment}/v4/{{id}}")

    # -- reading ----------------------------------------------------------------------
    def _search(self, kind: str, *, since: datetime | None, offset: int, rows: int,
                fields: Sequence[str]) -> CrmPage:
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
        total = whole(data.get("totalRows"))
        if total is None or total > MAX_RECORDS:
            raise CrmUnreachableError(
                f"Salesmate's search answer gives no usable count of {kind}s (totalRows "
                f"{printable(repr(data.get('totalRows')))[:40]}); nothing was changed")
        if len(data["data"]) > rows:
            raise CrmUnreachableError(
                f"Salesmate sent {len(data['data'])} {kind}s when asked for at most {rows}; "
                "nothing was changed")
        return CrmPage([parse_row(kind, row, fields) for row in data["data"]], total)

    # -- HTTP -------------------------------------------------------------------------
    def _call(self, method: str, path_and_query: str, body: dict[str, Any] | None,
              *, label: str) -> dict[str, Any]:
        headers = {"accessToken": self._token.reveal(), "x-linkname": host_for(self.account),
                   "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        payload = None if body is None else json.dumps(body).encode("utf-8")
        waited, limited, failed, timeouts = 0.0, 0, 0, 0
        while True:
            waited += self._wait_out_pause()
            with self._lock:
                self.calls[label] += 1
            try:
                response = self._request(method, path_and_query, payload, headers)
            except transport_errors() as exc:
                if "NameResolution" in type(exc).__name__ or "gaierror" in repr(exc):
                    raise CrmRefusedError(
                        f"there is no Salesmate account at {self._where}: check "
                        "the linkname (the NAME in https://NAME.salesmate.io)") from None
                timeouts += 1
                if timeouts >= (2 if is_timeout(exc) else 3):
                    why = connection_failure(exc) or type(exc).__name__
                    raise CrmUnreachableError(
                        f"Salesmate could not be reached ({why}); nothing more was "
                        "changed; try again later") from None
                self._policy.pause(timeouts)
                continue
            status = response.status
            if status == 429:
                limited += 1
                delay = retry_after(response.headers.get("Retry-After"))
                if delay is None:
                    delay = min(16.0, 2.0 ** limited)
                if limited >= RATE_LIMIT_ATTEMPTS or waited + delay > self._max_wait:
                    raise CrmUnreachableError(
                        "Salesmate's rate limit was reached and stayed reached (HTTP 429); "
                        "nothing more was changed; try again in a minute")
                waited += delay
                self._pause_all(delay)
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
            return answer(status, response.data, self._where,
                           record_call=method != "POST")

    def _pause_all(self, delay: float) -> None:
        """After a 429: no thread sends again before ``delay`` has passed (the one
        answered sleeps it itself; the others wait at ``_wait_out_pause``)."""
        until = time.monotonic() + delay
        with self._lock:
            if until > self._paused[0]:
                self._paused = (until, threading.get_ident())

    def _wait_out_pause(self) -> float:
        """Wait until a pause another thread's 429 began has passed; the seconds
        waited. Bounded: a pause is at most max_wait, and each wait sleeps it out."""
        waited = 0.0
        for _ in range(RATE_LIMIT_ATTEMPTS * 8):
            with self._lock:
                until, owner = self._paused
            left = until - time.monotonic()
            if left <= 0 or owner == threading.get_ident():
                break
            self._sleep(min(left, self._max_wait))
            waited += left
        return waited

    def _request(self, method: str, path_and_query: str, payload: bytes | None,
                 headers: dict[str, str]) -> Any:
        """One HTTP exchange, cut off when its whole answer has not arrived by the
        call's deadline."""
        expired = threading.Event()
        caller = threading.get_ident()

        def expire() -> None:
            expired.set()
            self._sockets.cut(caller)

        timer = threading.Timer(self.call_deadline, expire)
        timer.daemon = True
        timer.start()
        try:
            return self._pool.request(method, self._base + path_and_query, body=payload,
                                      headers=headers, preload_content=True,
                                      redirect=False)
        except transport_errors():
            if expired.is_set():
                raise CrmUnreachableError(
                    f"Salesmate's answer did not arrive within {self.call_deadline:g} s "
                    "(connect_timeout + read_timeout); nothing more was changed; try again "
                    "later") from None
            raise
        finally:
            timer.cancel()

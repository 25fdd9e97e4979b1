"""A Salesmate-compatible slice: the v4 search, update and delete endpoints for
contacts, companies and deals, with Salesmate's limits and answer shapes
(``docs/salesmate-fidelity.md`` gives each one's source).

Its people are the first organisation's Xero contacts (the same names and emails, so
auto-link finds them), plus people Xero has never heard of when asked for more. Faults
(429s, 5xxs, an outage after so many updates) and a latency of its own are set
through the control API, ``/_sandbox/salesmate/...``; it records the requests it was
sent (when, and what it answered) and any two that were in flight for one record at
once, so that a test can see a client's concurrency for itself.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from xerolink.sandbox.names import FIRST_NAMES, LAST_NAMES
from xerolink.sandbox.salesmate_control import SliceControl, stamp
from xerolink.sandbox.state import Response

MAX_ROWS = 250
MODULES = {"contact": (1, "Contact"), "company": (5, "Company"), "deal": (4, "Deal")}  # moduleId
SORTABLE = ("id", "createdAt", "lastModifiedAt", "name", "firstName", "lastName")
STANDARD = {
    "contact": {"id", "firstName", "lastName", "name", "email", "phone", "mobile", "company",
                "owner", "createdAt", "lastModifiedAt"},
    "company": {"id", "name", "owner", "createdAt", "lastModifiedAt"},
    "deal": {"id", "title", "dealValue", "currency", "primaryContact", "participants",
             "owner", "pipeline", "stage", "status", "createdAt", "lastModifiedAt"},
}
REQUIRED = {"contact": ("lastName", "owner"), "company": ("name", "owner"),
            "deal": ("title", "primaryContact", "owner", "pipeline", "status", "stage")}
WRITABLE = {"contact": {"firstName", "lastName", "email", "phone", "mobile", "owner", "company"},
            "company": {"name", "owner"},
            "deal": {"title", "primaryContact", "owner", "pipeline", "status", "stage",
                     "dealValue", "currency"}}
CUSTOM = re.compile(r"^(text|decimal|number|url|email|date)CustomField([1-9][0-9]?)$")
FILTER_DATE = "%b %d, %Y %I:%M %p"
ACCOUNT_TZ = ZoneInfo("Asia/Kolkata")  # the public examples' epoch reads 05:30 AM
OWNERS = (101, 102, 103)
TRAFFIC_KEPT = 50_000  # requests remembered for /_sandbox/salesmate/traffic


def _failure(status: int, name: str, message: str, code: str = "4001",
             headers: dict[str, str] | None = None) -> Response:
    body = {"Status": "failure", "Error": {"Code": code, "Name": name, "Message": message}}
    return status, json.dumps(body).encode("utf-8"), {
        "Content-Type": "application/json; charset=utf-8", **(headers or {})}


def _success(data: Any) -> Response:
    return 200, json.dumps({"Status": "success", "Data": data}).encode("utf-8"), {
        "Content-Type": "application/json; charset=utf-8"}


class SalesmateSlice(SliceControl):
    """One Salesmate account (``linkname``) and its records, in memory."""

    def __init__(self, people: list[dict[str, str]], *, contacts: int, seed: int,
                 now: datetime, linkname: str = "demo", token: str | None = None,
                 currency: str = "NZD", latency_ms: int = 0) -> None:
        self.linkname = linkname
        self.token = token or secrets.token_urlsafe(24)
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.faults: list[tuple[int, str | None]] = []  # (status, Retry-After) to answer next
        self.faults_after = 0  # requests answered normally before the faults begin
        self.latency_ms = latency_ms  # slept by each request, outside the lock
        # after this many more accepted updates, every request answers 503 (None: never)
        self.outage_after: int | None = None
        # (arrived, answered: monotonic seconds; call; record or None; status answered)
        self.traffic: deque[tuple[float, float, str, str | None, int]] = deque(
            maxlen=TRAFFIC_KEPT)
        self.in_flight: Counter[str] = Counter()  # "contact:12" -> requests in flight
        self.overlapping: list[str] = []  # records with two requests in flight at once
        self.active = self.peak_active = 0
        self.records: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in MODULES}
        self.next_id = {"contact": 1, "company": 1, "deal": 1}
        self._seed(people, contacts, random.Random(seed), now, currency)

    # -- seeding ------------------------------------------------------------------------
    def _new(self, kind: str, fields: dict[str, Any], created: datetime,
             modified: datetime) -> dict[str, Any]:
        record_id = self.next_id[kind]
        self.next_id[kind] += 1
        record = {"id": record_id, "createdAt": stamp(created),
                  "lastModifiedAt": stamp(modified), "custom": {}, **fields}
        self.records[kind][record_id] = record
        return record

    def _seed(self, people: list[dict[str, str]], count: int, rng: random.Random,
              now: datetime, currency: str) -> None:
        companies: dict[str, int] = {}

        def times() -> tuple[datetime, datetime]:
            created = now - timedelta(days=rng.randint(30, 700), seconds=rng.randint(0, 86399))
            latest = now - timedelta(days=3)
            span = max(0, int((latest - created).total_seconds()))
            return created, created + timedelta(seconds=rng.randint(0, span))

        for n in range(count):
            if n < len(people):
                person = people[n]
            else:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                person = {"first": first, "last": last,
                          "email": f"{first}.{last}.{n}@crm-only.example.org".lower(),
                          "company": ""}
            company_id = None
            if person.get("company"):
                if person["company"] not in companies:
                    created, modified = times()
                    companies[person["company"]] = self._new(
                        "company", {"name": person["company"], "owner": rng.choice(OWNERS)},
                        created, modified)["id"]
                company_id = companies[person["company"]]
            created, modified = times()
            self._new("contact", {"firstName": person["first"], "lastName": person["last"],
                                  "email": person["email"], "phone": "",
                                  "mobile": f"+64 21 {rng.randint(1000000, 9999999)}",
                                  "company": company_id, "owner": rng.choice(OWNERS)},
                      created, modified)
        contact_ids = list(self.records["contact"])
        stages = ("New", "Qualified", "Proposal Presented", "In Negotiation")
        for _ in range(max(1, count // 10) if contact_ids else 0):
            primary = rng.choice(contact_ids)
            others = rng.sample(contact_ids, k=min(len(contact_ids), rng.choice((0, 1, 2))))
            created, modified = times()
            name = self.records["contact"][primary]["lastName"]
            self._new("deal", {
                "title": f"{name} - {rng.choice(('Renewal', 'Fit-out', 'Supply', 'Upgrade'))}",
                "dealValue": f"{rng.randint(5, 400) * 100}.00", "currency": currency,
                "primaryContact": primary,
                "participants": [p for p in dict.fromkeys(others) if p != primary],
                "owner": rng.choice(OWNERS), "pipeline": "Sales",
                "stage": rng.choice(stages), "status": "Open"}, created, modified)

    # -- HTTP -------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str], body: bytes, now: datetime) -> Response:
        """One request, after the slice's latency; recorded in ``traffic``, and in
        ``overlapping`` when another request for the same record is in flight."""
        found = re.fullmatch(r"/apis/(contact|company|deal)/v4/(\d+)", path)
        record = f"{found.group(1)}:{found.group(2)}" if found else None
        with self.lock:
            arrived = time.monotonic()
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
            if record is not None:
                self.in_flight[record] += 1
                if self.in_flight[record] > 1:
                    self.overlapping.append(record)
        status = 0
        try:
            if self.latency_ms:
                time.sleep(self.latency_ms / 1000)
            response = self._answer(method, path, query, headers, body, now)
            status = response[0]
            return response
        finally:
            with self.lock:
                self.active -= 1
                if record is not None:
                    self.in_flight[record] -= 1
                self.traffic.append((arrived, time.monotonic(), f"{method} {path[:60]}",
                                     record, status))

    def _answer(self, method: str, path: str, query: dict[str, list[str]],
                headers: dict[str, str], body: bytes, now: datetime) -> Response:
        match = re.fullmatch(r"/apis/(contact|company|deal)/v4/(search|\d+)", path)
        label = (f"{method} /apis/{match.group(1)}/v4/"
                 f"{'search' if match.group(2) == 'search' else '{id}'}" if match
                 else f"{method} {path[:60]}")
        with self.lock:
            self.calls[label] += 1
            if self.faults and self.faults_after > 0:
                self.faults_after -= 1
            elif self.faults:
                status, retry_after = self.faults.pop(0)
                extra = {"Retry-After": retry_after} if retry_after is not None else {}
                if status == 429:
                    return _failure(429, "TooManyRequests", "Rate limit exceeded", "429", extra)
                return _failure(status, "InternalServerError", "injected fault", str(status))
            if self.outage_after == 0:
                return _failure(503, "ServiceUnavailable", "injected outage", "503")
        if headers.get("accesstoken") != self.token:
            return _failure(401, "Unauthorized", "Invalid or missing access token", "4010")
        if headers.get("x-linkname", "").lower() != f"{self.linkname}.salesmate.io":
            return _failure(400, "InvalidLinkname", "No Salesmate account is linked to this "
                            "linkname", "4011")
        if match is None:
            return _failure(404, "NotFound", "No such API endpoint", "4040")
        kind, target = match.group(1), match.group(2)
        with self.lock:
            if target == "search" and method == "POST":
                return self._search(kind, query, body)
            if target != "search" and method == "PUT":
                answered = self._update(kind, int(target), body, now)
                if self.outage_after is not None and b'"success"' in answered[1]:
                    self.outage_after -= 1
                return answered
            if target != "search" and method == "GET":
                return self._get(kind, int(target))
            if target != "search" and method == "DELETE":
                if self.records[kind].pop(int(target), None) is None:
                    return _failure(200, "ObjectNotFound", "Object not found", "4005")
                return _success({})
        return _failure(405, "MethodNotAllowed", f"{method} is not supported here", "4050")

    def _search(self, kind: str, query: dict[str, list[str]], body: bytes) -> Response:
        try:
            request = json.loads(body)
            rows = int(query.get("rows", ["25"])[0])
            start = int(query.get("from", ["0"])[0])
        except (ValueError, UnicodeDecodeError):
            return _failure(400, "InvalidRequest", "the body must be JSON; rows and from "
                            "whole numbers")
        if not 1 <= rows <= MAX_ROWS or start < 0:
            return _failure(400, "InvalidRequest", f"rows must be 1 to {MAX_ROWS}; from 0 "
                            "or more")
        module_id = MODULES[kind][0]
        if not isinstance(request, dict) or request.get("moduleId") != module_id or \
                request.get("reportType") != "get_data":
            return _failure(400, "InvalidRequest", f"moduleId must be {module_id} and "
                            "reportType get_data")
        shown = request.get("displayingFields")
        if not isinstance(shown, list) or not shown or not all(
                isinstance(f, str) and self._known(kind, f) for f in shown):
            return _failure(400, "InvalidField", "displayingFields holds an unknown field")
        try:
            keep = self._filter(kind, request.get("filterQuery"))
        except ValueError as exc:
            return _failure(400, "InvalidFilter", str(exc))
        sort = request.get("sort") or {}
        field = str(sort.get("fieldName", f"{kind}.id")).removeprefix(f"{kind}.")
        if field not in SORTABLE:
            return _failure(400, "InvalidSort", "sorting works only on id, createdAt, "
                            "lastModifiedAt, name, firstName, lastName")
        found = [r for r in self.records[kind].values() if keep(r)]
        found.sort(key=lambda r: (str(r.get(field, "")) if field != "id" else r["id"],
                                  r["id"]), reverse=sort.get("order") == "desc")
        page = [self._row(kind, r, shown) for r in found[start:start + rows]]
        return _success({"data": page, "totalRows": len(found)})

    def _known(self, kind: str, dotted: str) -> bool:
        head, _, rest = dotted.partition(".")
        name = rest.split(".", 1)[0]
        return head == kind and (name in STANDARD[kind] or bool(CUSTOM.match(name)))

    def _filter(self, kind: str, query: Any) -> Any:
        group = query.get("group") if isinstance(query, dict) else None
        rules = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(rules, list):
            raise ValueError("filterQuery.group.rules must be a list")
        checks = []
        for rule in rules:
            if not isinstance(rule, dict) or not isinstance(rule.get("field"), dict):
                raise ValueError("a rule needs a field")
            name = str(rule["field"].get("fieldName", "")).removeprefix(f"{kind}.")
            if name not in ("createdAt", "lastModifiedAt"):
                raise ValueError("this slice filters on createdAt and lastModifiedAt only")
            if rule.get("condition") not in ("IS_AFTER", "IS_BEFORE"):
                raise ValueError("date rules take IS_AFTER or IS_BEFORE")
            try:
                local = datetime.strptime(str(rule.get("data")), FILTER_DATE)
            except ValueError:
                raise ValueError("a date is written like Jan 01, 1970 05:30 AM") from None
            at = local.replace(tzinfo=ACCOUNT_TZ).astimezone(UTC)
            checks.append((name, rule["condition"], at))

        def keep(record: dict[str, Any]) -> bool:
            for name, condition, at in checks:
                value = datetime.fromisoformat(record[name].replace("Z", "+00:00"))
                if (condition == "IS_AFTER") != (value > at):
                    return False
            return True
        return keep

    def _row(self, kind: str, record: dict[str, Any], shown: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for dotted in shown:
            name, _, sub = dotted.removeprefix(f"{kind}.").partition(".")
            if CUSTOM.match(name):
                row[name] = record["custom"].get(name)
            elif name == "name" and kind == "contact":
                row[name] = f"{record['firstName']} {record['lastName']}".strip()
            elif name in ("company", "owner", "primaryContact"):
                ref = record.get(name)
                row[name] = None if ref is None else {"id": ref}
                if sub == "name" and ref is not None and name == "company":
                    row[name]["name"] = self.records["company"].get(ref, {}).get("name")
            elif name == "participants":
                row[name] = [{"id": p} for p in record.get("participants", [])]
            else:
                row[name] = record.get(name)
        return row

    def _get(self, kind: str, record_id: int) -> Response:
        """``GET /apis/{kind}/v4/{id}``: the whole record, custom fields by API name,
        related records as objects (``"owner": {"id": 101}``); else ObjectNotFound."""
        if (record := self.records[kind].get(record_id)) is None:
            return _failure(200, "ObjectNotFound", "Object not found", "4005")
        shown = [f"{kind}.{name}" for name in sorted(STANDARD[kind])]
        return _success({**self._row(kind, record, shown), **record["custom"]})

    def edit(self, kind: str, record_id: int, fields: dict[str, Any], now: datetime
             ) -> dict[str, Any] | None:
        """A person's edit in Salesmate's own screens: any standard field, stamped now."""
        if (record := self.records[kind].get(record_id)) is None:
            return None
        for name, value in fields.items():
            if name in STANDARD[kind] - {"id", "createdAt", "lastModifiedAt"}:
                record[name] = value
        record["lastModifiedAt"] = stamp(now)
        return record

    def _update(self, kind: str, record_id: int, body: bytes, now: datetime) -> Response:
        record = self.records[kind].get(record_id)
        if record is None:
            return _failure(200, "ObjectNotFound", "Object not found", "4005")
        try:
            changes = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _failure(400, "InvalidRequest", "the body must be JSON")
        if not isinstance(changes, dict):
            return _failure(400, "InvalidRequest", "the body must be an object")
        missing = [f for f in REQUIRED[kind] if changes.get(f) in (None, "")]
        if missing:
            return _failure(400, "ValidationError", f"{', '.join(missing)} is required", "4002")
        for name, value in changes.items():
            custom = CUSTOM.match(name)
            if custom is None and name not in WRITABLE[kind]:
                return _failure(400, "InvalidField", f"{name[:40]} is not a {kind} field")
            if custom is not None and custom.group(1) in ("decimal", "number") and value != "":
                try:
                    Decimal(str(value))
                except InvalidOperation:
                    return _failure(400, "ValidationError", f"{name} takes a number")
        for name, value in changes.items():
            if CUSTOM.match(name):
                record["custom"][name] = None if value == "" else str(value)
            elif name in ("owner", "primaryContact", "company"):
                record[name] = int(value) if str(value).isdigit() else record.get(name)
            else:
                record[name] = value
        record["lastModifiedAt"] = stamp(now)
        return _success({"id": record_id})


def people_of(contacts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The people behind an organisation's Xero contacts, as a CRM would hold them: a
    person contact as itself; a business as its first contact person (or its own
    names and email), in a company of the business's name."""
    people = []
    for contact in contacts:
        persons = contact.get("ContactPersons") or []
        business = bool(persons) or str(contact.get("EmailAddress", "")).startswith("accounts@")
        if persons:
            first, last = persons[0]["FirstName"], persons[0]["LastName"]
            email = persons[0].get("EmailAddress", "")
        else:
            first, last = contact.get("FirstName", ""), contact.get("LastName", "")
            email = contact.get("EmailAddress", "")
        people.append({"first": first, "last": last, "email": email,
                       "company": contact["Name"] if business else ""})
    return people


def access_token_at(base_url: str, timeout: float = 10.0) -> str:
    """The slice's access token, from a running sandbox's control API (loopback only)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the sandbox's control API is only read on loopback")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", "/_sandbox/salesmate")
        answer = conn.getresponse()
        data = json.loads(answer.read())
    finally:
        conn.close()
    return str(data["access_token"])

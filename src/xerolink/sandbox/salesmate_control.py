"""The Salesmate slice's control API, ``/_sandbox/salesmate/...``: what it holds and
was asked, faults and latency to inject, a person's edits, and the traffic it saw."""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any


def stamp(at: datetime) -> str:
    """Salesmate's times: ISO 8601 in UTC, to the millisecond."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class SliceControl:
    """The control routes of ``SalesmateSlice`` (which sets every attribute below)."""

    linkname: str
    token: str
    lock: threading.RLock
    calls: Counter[str]
    faults: list[tuple[int, str | None]]
    faults_after: int
    latency_ms: int
    outage_after: int | None
    traffic: deque[tuple[float, float, str, str | None, int]]
    overlapping: list[str]
    active: int
    peak_active: int
    records: dict[str, dict[int, dict[str, Any]]]

    def edit(self, kind: str, record_id: int, fields: dict[str, Any], now: datetime
             ) -> dict[str, Any] | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {"linkname": self.linkname, "access_token": self.token,
                    "records": {k: len(v) for k, v in self.records.items()},
                    "calls": dict(self.calls), "total_calls": sum(self.calls.values()),
                    "pending_faults": len(self.faults), "latency_ms": self.latency_ms,
                    "outage_after": self.outage_after}

    def describe_traffic(self) -> dict[str, Any]:
        """``GET /_sandbox/salesmate/traffic``: the requests remembered (when each
        arrived and was answered, in seconds on the server's monotonic clock; the call;
        its record; the status answered), the most
        in flight at once, and the records two requests were in flight for at once."""
        with self.lock:
            return {"requests": [{"at": at, "answered": answered, "call": call,
                                  "record": record, "status": status}
                                 for at, answered, call, record, status in self.traffic],
                    "peak_in_flight": self.peak_active,
                    "overlapping_records": sorted(set(self.overlapping))}

    def control(self, method: str, path: str, data: dict[str, Any], now: datetime
                ) -> tuple[int, Any]:
        """``GET /_sandbox/salesmate``, ``POST .../stats/reset``, ``POST .../faults``
        (``{"status": 429, "count": 3, "retry_after": "1", "after": 20}``: the next
        3 requests once 20 more were answered), ``POST .../touch``
        (``{"kind": "contact", "count": 50}``: edit that many records now), ``POST
        .../edit`` (``{"kind": "deal", "id": 3, "fields": {"status": "Won"}}``: a
        person's edit), ``GET .../records/{kind}/{id}``, ``POST .../latency``
        (``{"ms": 150}``: added to every CRM request), ``POST .../outage``
        (``{"after_updates": 5}``: 503 for everything once 5 more updates were accepted;
        ``null`` ends it), ``GET .../traffic`` (and ``POST .../traffic/reset``)."""
        rest = path.removeprefix("/_sandbox/salesmate").strip("/")
        with self.lock:
            if not rest and method == "GET":
                return 200, self.describe()
            if rest == "stats/reset" and method == "POST":
                self.calls.clear()
                return 200, self.describe()
            if rest == "latency" and method == "POST":
                ms = data.get("ms")
                if not isinstance(ms, int) or not 0 <= ms <= 60_000:
                    return 400, {"error": "ms is a whole number from 0 to 60000"}
                self.latency_ms = ms
                return 200, self.describe()
            if rest == "outage" and method == "POST":
                after = data.get("after_updates")
                if after is not None and (not isinstance(after, int) or after < 0):
                    return 400, {"error": "after_updates is a whole number, or null"}
                self.outage_after = after
                return 200, self.describe()
            if rest == "traffic" and method == "GET":
                return 200, self.describe_traffic()
            if rest == "traffic/reset" and method == "POST":
                self.traffic.clear()
                self.overlapping.clear()
                self.peak_active = self.active
                return 200, self.describe_traffic()
            if rest == "faults" and method == "POST":
                status = int(data.get("status", 429))
                retry = data.get("retry_after")
                self.faults = [(status, None if retry is None else str(retry))] * int(
                    data.get("count", 1))
                self.faults_after = int(data.get("after", 0))
                return 200, self.describe()
            if rest == "touch" and method == "POST":
                return self._touch(data, now)
            if rest == "edit" and method == "POST":
                return self._edit(data, now)
            found = re.fullmatch(r"records/(contact|company|deal)/(\d+)", rest)
            if found and method == "GET":
                held = self.records[found.group(1)].get(int(found.group(2)))
                return (404, {"error": "no such record"}) if held is None else (200, held)
        return 404, {"error": "unknown control route"}

    def _touch(self, data: dict[str, Any], now: datetime) -> tuple[int, Any]:
        """Edit ``count`` records of a kind now, as if someone had (lastModifiedAt moves)."""
        kind = str(data.get("kind", "contact"))
        if kind not in self.records:
            return 400, {"error": "kind is contact, company or deal"}
        chosen = sorted(self.records[kind])[int(data.get("offset", 0)):][
            :int(data.get("count", 1))]
        for i in chosen:
            record = self.records[kind][i]
            if kind == "contact":
                record["firstName"] = str(record["firstName"]).rstrip("*") + "*"
            record["lastModifiedAt"] = stamp(now)
        return 200, {"touched": [str(i) for i in chosen]}

    def _edit(self, data: dict[str, Any], now: datetime) -> tuple[int, Any]:
        """A person's edit of one record's fields."""
        kind, fields = str(data.get("kind")), data.get("fields")
        if kind not in self.records or not isinstance(fields, dict):
            return 400, {"error": "give kind (contact, company, deal), id, fields"}
        record_id = str(data.get("id", ""))
        edited = self.edit(kind, int(record_id), fields, now) \
            if record_id.isdigit() else None
        return (404, {"error": "no such record"}) if edited is None else (200, edited)

"""The sandbox's request handling: one loopback host serving Xero's identity and
accounting paths, Xero's limits, injected faults, and a control API under
``/_sandbox/``. The socket server around it is listener.py.

Handlers run on threads; every change to the books happens under one lock, while
latency is slept outside it so that concurrency limits are exercised for real.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from xerolink.sandbox import pages, scopes
from xerolink.sandbox.accounting import Accounting
from xerolink.sandbox.answers import (
    bad_request,
    forbidden,
    not_found_text,
    unauthorized,
)
from xerolink.sandbox.control import Controls
from xerolink.sandbox.control import json_response as _json
from xerolink.sandbox.identity import IdentityEndpoints, parse_form
from xerolink.sandbox.salesmate import SalesmateSlice, people_of
from xerolink.sandbox.seed import build_tenants
from xerolink.sandbox.state import (
    Faults,
    Idempotency,
    Identity,
    Limiter,
    Response,
    SandboxClock,
    SandboxOptions,
    Stats,
)
from xerolink.sandbox.webhooks import sender_for
from xerolink.sandbox.xerojson import Forms

_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{36}|[A-Za-z]+-\d+)$")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Sandbox(Controls):
    """The sandbox's state and request handling, independent of the socket server."""

    def __init__(self, options: SandboxOptions, tenants: list[Any] | None = None) -> None:
        self.options = options
        self.books_written = False  # a write to the Accounting or control API since
        # (set by the listener as a write's headers arrive: what its reset must know)
        self.clock = SandboxClock(options.clock_speed)
        self.lock = threading.RLock()
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        if tenants is None:
            tenants = build_tenants(options.seed, options.contacts, now.date(), now)
        self.tenants = {t.tenant_id: t for t in tenants}
        self.identity = Identity(options, self.clock, list(self.tenants))
        self.stats = Stats()
        self.limiter = Limiter(options, self.clock)
        self.faults = Faults()
        self.idempotency = Idempotency()
        self.accounting = Accounting(self.tenants, self.clock.now)
        self.accounting.forms = self.forms
        self.identity_endpoints = IdentityEndpoints(self.identity, self.stats, self.tenants,
                                                    self.lock)
        self.rng = random.Random(options.seed)
        self.rng_lock = threading.Lock()
        self.webhooks = sender_for(options, self.clock.now, self.accounting)
        self.salesmate: SalesmateSlice | None = None
        if options.crm == "salesmate":
            first = next(iter(self.tenants.values()))
            contacts = sorted(first.contacts.values(), key=lambda c: c["ContactNumber"])
            self.salesmate = SalesmateSlice(
                people_of(contacts), contacts=options.crm_contacts or len(contacts),
                seed=options.seed, now=now, linkname=options.salesmate_linkname,
                token=options.salesmate_token, currency=first.base_currency,
                latency_ms=options.crm_latency_ms)

    def forms(self) -> Forms:
        """How the Accounting API's answers are written now: live Xero's forms, less
        what the faults switch off."""
        f = self.faults
        return Forms(pretty=not f.compact_json, date_offsets=not f.dates_without_offset,
                     pagination=not f.no_pagination, currency_rate=not f.no_currency_rate,
                     xml_errors=f.xml_errors)

    # -- entry point ----------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes
               ) -> Response | None:
        """Answer one request; None means: drop the connection without answering."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/_sandbox"):
            return self.control(method, path, query, body)
        if path.startswith("/apis/") and self.salesmate is not None:
            # the slice sleeps its own latency (crm_latency_ms); Xero's is not added
            return self.salesmate.handle(method, path, query, headers, body,
                                         datetime.fromtimestamp(self.clock.now(), UTC))
        if method == "GET" and (path.startswith("/app/") or
                                path.lower() == "/organisationlogin/default.aspx"):
            with self.lock:
                return pages.view(self.tenants, path, query)
        self._count(method, path)
        faults = self.faults
        latency = self.options.latency_ms + (faults.latency_ms if faults.applies_to(method)
                                             else 0)
        if path.lower().startswith("/api.xro/2.0"):
            return self._accounting(method, path, query, headers, body, latency)
        if latency:
            time.sleep(latency / 1000)
        injected = self._inject(method)
        if injected is not None:
            return None if isinstance(injected, str) else injected
        response = self._identity(method, path, query, headers, body)
        if response[0] < 400 and method != "GET" and self._roll("commit_then_drop", method):
            return None
        return response

    def _count(self, method: str, path: str) -> None:
        segments = path.split("/")
        shown = "/".join("{id}" if i > 3 and _ID_SEGMENT.match(s) else s
                         for i, s in enumerate(segments))
        if shown.lower().startswith("/connections/"):
            shown = "/connections/{id}"
        with self.stats.lock:
            self.stats.total += 1
            self.stats.by_endpoint[f"{method} {shown}"] += 1

    def _roll(self, kind: str, method: str) -> bool:
        faults = self.faults
        rate = {"error": faults.error_rate, "drop": faults.drop_rate,
                "commit_then_drop": faults.commit_then_drop_rate,
                "garbage": faults.garbage_rate, "bad_request": faults.bad_request_rate}[kind]
        if rate <= 0 or not faults.applies_to(method):
            return False
        with self.rng_lock:
            return self.rng.random() < rate

    def _inject(self, method: str) -> Response | str | None:
        if self._roll("error", method):
            with self.rng_lock:
                status = self.rng.choice((500, 503))
            return _json(status, {"Title": "Service Unavailable" if status == 503 else
                                  "Internal Server Error", "Status": status,
                                  "Detail": "injected fault"})
        if self._roll("drop", method):
            return "drop"
        if self._roll("bad_request", method):
            return bad_request(self.faults.bad_request_body)
        if self._roll("garbage", method):
            with self.rng_lock:
                html = self.rng.random() < 0.5
            if html:
                return 200, b"<!DOCTYPE html><html><body>Service maintenance</body></html>", {
                    "Content-Type": "text/html"}
            return 200, b'{"Id":"x","Status":"OK","Invoices":[{"InvoiceID":"', {
                "Content-Type": "application/json"}
        return None

    # -- identity -------------------------------------------------------------------
    def _identity(self, method: str, path: str, query: dict[str, list[str]],
                  headers: dict[str, str], body: bytes) -> Response:
        lowered = path.lower()
        endpoints = self.identity_endpoints
        if lowered == "/identity/connect/authorize" and method in ("GET", "POST"):
            return endpoints.authorize(method, query, parse_form(body) if body else {})
        if lowered == "/connect/token" and method == "POST":
            return endpoints.token(parse_form(body), headers)
        if lowered == "/connect/revocation" and method == "POST":
            return endpoints.revoke(parse_form(body), headers)
        if lowered == "/connections" and method == "GET":
            return endpoints.connections(method, None, _bearer(headers))
        if lowered.startswith("/connections/") and method == "DELETE":
            return endpoints.connections(method, path.split("/")[-1], _bearer(headers))
        return not_found_text()

    # -- accounting -------------------------------------------------------------------
    def _accounting(self, method: str, path: str, query: dict[str, list[str]],
                    headers: dict[str, str], body: bytes, latency: int) -> Response | None:
        with self.lock:
            grant, reason = self.identity.grant_for_access_token(_bearer(headers))
        if grant is None:
            return unauthorized(reason)
        parts = [p for p in path.split("/")[3:] if p]
        resource = parts[0].lower() if parts else ""
        if resource in self.options.without:
            return not_found_text()  # a Xero-compatible server that does not serve it
        if not scopes.permits(grant.scopes, resource, method):
            return unauthorized("AuthorizationUnsuccessful")
        tenant_id = headers.get("xero-tenant-id", "").strip().lower()
        if not tenant_id and len(grant.connections) == 1 and self.identity.is_custom(grant):
            tenant_id = next(iter(grant.connections))  # Custom Connections need no header
        if tenant_id not in grant.connections:
            return forbidden(bool(tenant_id))
        limit_headers: dict[str, str] = {}
        if self.options.rate_limits:
            problem, retry, limit_headers = self.limiter.acquire(tenant_id)
            if problem is not None:
                with self.stats.lock:
                    self.stats.status_429 += 1
                if self.faults.retry_after is not None and retry is not None:
                    retry = self.faults.retry_after
                extra = {"X-Rate-Limit-Problem": problem}
                if retry is not None:  # Xero sends none with the concurrent limit
                    extra["Retry-After"] = str(retry)
                return _json(429, {"Title": "Too Many Requests", "Status": 429,
                                   "Detail": f"Rate limit exceeded: {problem}"},
                             {**limit_headers, **extra})
        try:
            if latency:
                time.sleep(latency / 1000)
            injected = self._inject(method)
            if injected is not None:
                return None if isinstance(injected, str) else injected
            with self.lock:
                response, replayed = self._accounting_locked(method, parts, query, headers,
                                                             body, tenant_id, path)
            wrote = method in ("PUT", "POST") and response[0] < 400 and not replayed
            if wrote and self._roll("commit_then_drop", method):
                return None
            status, payload, extra = response
            return status, payload, {**extra, **limit_headers}
        finally:
            if self.options.rate_limits:
                self.limiter.release(tenant_id)

    def _accounting_locked(self, method: str, parts: list[str], query: dict[str, list[str]],
                           headers: dict[str, str], body: bytes, tenant_id: str, path: str
                           ) -> tuple[Response, bool]:
        """The answer, and whether it is a replay of an earlier one (nothing written)."""
        key = headers.get("idempotency-key")
        if method in ("PUT", "POST") and key:
            if len(key) > 128:
                return _json(400, {"ErrorNumber": 10, "Type": "ValidationException",
                                   "Message": "Idempotency-Key must be 128 characters or fewer",
                                   "Elements": []}), False
            fingerprint = hashlib.sha256(
                method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
            seen = self.idempotency.lookup(tenant_id, key)
            if seen is not None:
                if seen[0] != fingerprint:
                    return _json(400, {"ErrorNumber": 10, "Type": "ValidationException",
                                       "Message": "This Idempotency-Key was used for a "
                                       "different request", "Elements": []}), False
                return seen[1], True
            response = self.accounting.handle(method, parts, query, headers, body, tenant_id)
            if response[0] < 500:
                self.idempotency.remember(tenant_id, key, fingerprint, response)
            return response, False
        return self.accounting.handle(method, parts, query, headers, body, tenant_id), False


def _bearer(headers: dict[str, str]) -> str:
    value = headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else ""

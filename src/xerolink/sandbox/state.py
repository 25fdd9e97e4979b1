"""The sandbox's moving parts besides the books: its clock, registered apps, grants and
tokens, Xero's rate limits, call statistics, injected faults and idempotency keys."""

from __future__ import annotations

import collections
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Registered apps. The PKCE app is public (no secret), like a native CLI app on Xero.
PKCE_CLIENT_ID = "SANDBOXPKCECLIENT0000000000000001"
CUSTOM_CLIENT_ID = "SANDBOXCUSTOMCONNECTION000000001"
APP_NAME = "xerolink sandbox"
Response = tuple[int, bytes, dict[str, str]]  # (status, body, headers), every handler's answer


@dataclass
class SandboxOptions:
    seed: int = 1
    contacts: int = 200
    latency_ms: int = 0
    access_token_ttl: int = 1800
    rate_limits: bool = True
    auto_approve: bool = False
    refresh_grace: int = 1800
    code_ttl: int = 300
    minute_limit: int = 60
    minute_window: float = 60.0  # tests shorten it to see a minute limit clear
    day_limit: int = 5000
    concurrent_limit: int = 5
    app_minute_limit: int = 10_000
    custom_client_secret: str | None = None
    # Real Xero's defaults, each a documented behaviour (docs/xero-fidelity.md):
    max_url: int = 2048  # longer request URLs get Xero's plain-text 404
    # What a too-long URL gets: "404" (Xero's plain text), "400-html" (an edge's
    # HTML page, as some proxies answer) or "414".
    long_url_answer: str = "404"
    bulk_connections: bool = False  # consent offers one organisation (Advanced tier: several)
    granular_only: bool = False  # an app created since 2 March 2026: no broad scopes
    without: frozenset[str] = frozenset()  # endpoints this server does not serve
    # A CRM served beside Xero: "salesmate" (its v4 API under /apis/), or None.
    crm: str | None = None
    crm_contacts: int | None = None  # None: as many as the first organisation's contacts
    salesmate_linkname: str = "demo"
    salesmate_token: str | None = None  # None: a random one (GET /_sandbox/salesmate)
    # Xero's webhooks, sent to this URL (loopback) signed with this key; None: none.
    webhook_url: str | None = None
    webhook_key: str | None = None
    webhook_retry_base: float = 1.0  # a failed delivery waits 1, 2, 4... seconds
    webhook_batch_seconds: float = 0.2  # changes this close together share a delivery
    crm_latency_ms: int = 0  # added to every CRM request (POST /_sandbox/salesmate/latency)
    # The sandbox's clock runs this many times real time (a simulated day in a minute
    # at 1440): the day-limit and minute windows, token lifetimes, dates and webhook
    # event times follow it; latency, webhook batching and retries stay real.
    clock_speed: float = 1.0


class SandboxClock:
    """Wall time, run ``speed`` times faster from ``origin`` (the real instant at which
    it reads real time: the sandbox's start), plus an offset the control API can
    advance (token expiry, grace). xerolink follows a fast sandbox with
    ``XEROLINK_CLOCK_SPEED`` set to ``described`` (xerolink.clock)."""

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"the clock's speed must be a positive number, not {speed!r}")
        self.speed = float(speed)
        self.origin = time.time() if origin is None else origin
        self.offset = 0.0

    def now(self) -> float:
        real = time.time()
        return self.origin + (real - self.origin) * self.speed + self.offset

    @property
    def described(self) -> str:
        """``SPEED@ORIGIN``: what ``XEROLINK_CLOCK_SPEED`` takes to run xerolink's clock
        in step with this one (while the offset is 0)."""
        from datetime import UTC, datetime

        origin = datetime.fromtimestamp(self.origin, UTC).isoformat()
        speed = str(int(self.speed)) if self.speed.is_integer() else repr(self.speed)
        return f"{speed}@{origin}"


@dataclass
class App:
    client_id: str
    name: str
    secret: str | None  # None: a public (PKCE) client
    custom_tenant_id: str | None = None


@dataclass
class Grant:
    """One authorisation: the organisations a user connected to an app."""

    grant_id: str
    client_id: str
    scopes: str
    connections: dict[str, str]  # tenant id -> connection id
    created: float
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: str
    tenant_ids: list[str]
    expires: float
    used: bool = False


@dataclass
class RefreshToken:
    grant_id: str
    issued: float
    used_at: float | None = None
    rotated_response: dict[str, Any] | None = None


@dataclass
class AccessToken:
    grant_id: str
    expires: float


@dataclass
class PendingConsent:
    client_id: str
    redirect_uri: str
    state: str | None
    challenge: str
    scopes: str
    created: float


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    commit_then_drop_rate: float = 0.0
    retry_after: int | None = None
    garbage_rate: float = 0.0  # a 200 whose body is an HTML page or truncated JSON
    methods: list[str] | None = None  # None: every method
    # Forms live answers have also taken (docs/xero-fidelity.md, "Answers"):
    bad_request_rate: float = 0.0  # a 400 from an edge or proxy in front of Xero ...
    bad_request_body: str = "html"  # ... whose body is "html", "empty" or "xml"
    no_pagination: bool = False  # list answers without a ``pagination`` block
    no_currency_rate: bool = False  # base-currency documents without CurrencyRate
    dates_without_offset: bool = False  # /Date(ms)/ rather than /Date(ms+0000)/
    compact_json: bool = False  # one line, not Xero's CRLF-pretty JSON
    xml_errors: bool = False  # validation answers as Xero's XML ApiException

    def applies_to(self, method: str) -> bool:
        return self.methods is None or method in self.methods


class Identity:
    """Apps, authorisation codes, grants and tokens, with Xero's rotation rules."""

    def __init__(self, options: SandboxOptions, clock: SandboxClock, tenant_ids: list[str]):
        self.options = options
        self.clock = clock
        self.tenant_ids = tenant_ids
        custom_secret = options.custom_client_secret or secrets.token_urlsafe(32)
        self.apps = {
            PKCE_CLIENT_ID: App(PKCE_CLIENT_ID, APP_NAME, None),
            CUSTOM_CLIENT_ID: App(CUSTOM_CLIENT_ID, f"{APP_NAME} (custom connection)",
                                  custom_secret, custom_tenant_id=tenant_ids[0]),
        }
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.pending: dict[str, PendingConsent] = {}

    def new_grant(self, client_id: str, scopes: str, tenant_ids: list[str]) -> Grant:
        grant = Grant(
            grant_id=_uuid(),
            client_id=client_id,
            scopes=scopes,
            connections={t: _uuid() for t in tenant_ids},
            created=self.clock.now(),
        )
        self.grants[grant.grant_id] = grant
        return grant

    def issue(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        ttl = self.options.access_token_ttl
        self.access_tokens[access] = AccessToken(grant.grant_id, self.clock.now() + ttl)
        response: dict[str, Any] = {
            "access_token": access,
            "expires_in": ttl,
            "token_type": "Bearer",
            "scope": grant.scopes,
        }
        if with_refresh:
            refresh = secrets.token_urlsafe(48)
            self.refresh_tokens[refresh] = RefreshToken(grant.grant_id, self.clock.now())
            response["refresh_token"] = refresh
        if "openid" in grant.scopes.split():
            response["id_token"] = secrets.token_urlsafe(64)
        return response

    def grant_for_access_token(self, token: str) -> tuple[Grant | None, str]:
        """The live grant behind a bearer token, or None and the reason."""
        record = self.access_tokens.get(token)
        if record is None:
            return None, "AuthenticationUnsuccessful"
        if record.expires <= self.clock.now():
            return None, f"TokenExpired: token expired at {_us_time(record.expires)}"
        grant = self.grants.get(record.grant_id)
        if grant is None or grant.revoked:
            return None, "AuthenticationUnsuccessful"
        return grant, ""

    def is_custom(self, grant: Grant) -> bool:
        app = self.apps.get(grant.client_id)
        return app is not None and app.custom_tenant_id is not None

    def revoke_grant(self, grant_id: str) -> None:
        grant = self.grants.get(grant_id)
        if grant:
            grant.revoked = True


class Limiter:
    """Xero's per-organisation limits: calls in flight, and calls per minute and per day
    counted in fixed windows. Each organisation's windows start at its first call, so
    they reset at different times for different organisations, as Xero's do."""

    def __init__(self, options: SandboxOptions, clock: SandboxClock) -> None:
        self.options = options
        self.clock = clock
        self.lock = threading.Lock()
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.anchor: dict[str, float] = {}  # organisation -> when its windows began
        self.minute: dict[str, tuple[int, int]] = {}  # organisation -> (window, calls)
        self.day: dict[str, tuple[int, int]] = {}
        self.app_minute: tuple[int, int] = (0, 0)

    @staticmethod
    def _count(windows: dict[str, tuple[int, int]], key: str, index: int) -> int:
        seen = windows.get(key)
        return seen[1] if seen is not None and seen[0] == index else 0

    def acquire(self, tenant: str) -> tuple[str | None, int | None, dict[str, str]]:
        """Take a slot: (problem or None, Retry-After seconds or None, headers). A
        concurrent-limit refusal carries no Retry-After, as Xero documents."""
        now = self.clock.now()
        o = self.options
        with self.lock:
            anchor = self.anchor.setdefault(tenant, now)
            span = max(o.minute_window, 0.001)
            minute_index = int((now - anchor) // span)
            day_index = int((now - anchor) // 86400.0)
            app_index = int(now // 60.0)
            minute = self._count(self.minute, tenant, minute_index)
            day = self._count(self.day, tenant, day_index)
            app = self.app_minute[1] if self.app_minute[0] == app_index else 0

            def until(index: int, length: float, origin: float) -> int:
                return max(1, math.ceil(origin + (index + 1) * length - now))

            problem: str | None = None
            retry: int | None = None
            if self.in_flight[tenant] >= o.concurrent_limit:
                problem = "concurrent"
            elif day >= o.day_limit:
                problem, retry = "day", until(day_index, 86400.0, anchor)
            elif minute >= o.minute_limit:
                problem, retry = "minute", until(minute_index, span, anchor)
            elif app >= o.app_minute_limit:
                problem, retry = "appminute", until(app_index, 60.0, 0.0)
            if problem is None:
                self.in_flight[tenant] += 1
                minute, day, app = minute + 1, day + 1, app + 1
                self.minute[tenant] = (minute_index, minute)
                self.day[tenant] = (day_index, day)
                self.app_minute = (app_index, app)
            headers = {
                "X-MinLimit-Remaining": str(max(0, o.minute_limit - minute)),
                "X-DayLimit-Remaining": str(max(0, o.day_limit - day)),
                "X-AppMinLimit-Remaining": str(max(0, o.app_minute_limit - app)),
            }
            return problem, retry, headers

    def reset(self) -> None:
        """Forget past calls (for benchmarks that measure runs one after another)."""
        with self.lock:
            self.anchor.clear()
            self.minute.clear()
            self.day.clear()
            self.app_minute = (0, 0)

    def release(self, tenant: str) -> None:
        with self.lock:
            self.in_flight[tenant] -= 1


@dataclass
class Stats:
    total: int = 0
    by_endpoint: collections.Counter[str] = field(default_factory=collections.Counter)
    status_429: int = 0
    token_grants: collections.Counter[str] = field(default_factory=collections.Counter)
    invalid_grant: int = 0
    bytes_sent: int = 0  # response bodies of Xero's paths: what a client downloads
    longest_url: int = 0  # the longest request URL seen, in characters
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "status_429": self.status_429,
                "token_grants": dict(self.token_grants),
                "invalid_grant": self.invalid_grant,
                "bytes_sent": self.bytes_sent,
                "longest_url": self.longest_url,
            }

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.by_endpoint.clear()
            self.status_429 = 0
            self.token_grants.clear()
            self.invalid_grant = 0
            self.bytes_sent = 0
            self.longest_url = 0


class Idempotency:
    """Same key and same request: the first response again, and nothing new created."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[tuple[str, str], tuple[str, tuple[int, bytes, dict[str, str]]]] = {}

    def lookup(self, scope: str, key: str) -> tuple[str, tuple[int, bytes, dict[str, str]]] | None:
        with self.lock:
            return self.seen.get((scope, key))

    def remember(self, scope: str, key: str, fingerprint: str,
                 response: tuple[int, bytes, dict[str, str]]) -> None:
        with self.lock:
            self.seen.setdefault((scope, key), (fingerprint, response))


def _us_time(epoch: float) -> str:
    """Xero's wording of an expiry time: month/day/year, 24-hour clock, UTC."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%m/%d/%Y %H:%M:%S")


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())

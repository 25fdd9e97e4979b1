"""The sandbox's moving parts besides the books: its clock, registered apps, grants and
tokens, Xero's rate limits, call statistics, injected faults and idempotency keys."""

from __future__ import annotations

import collections
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Registered apps. The PKCE app is public (no secret), like a native CLI app on Xero.
PKCE_CLIENT_ID = "SANDBOXPKCECLIENT0000000000000001"
CUSTOM_CLIENT_ID = "SANDBOXCUSTOMCONNECTION000000001"
APP_NAME = "xerolink sandbox"


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


class SandboxClock:
    """Wall time plus an offset the control API can advance (token expiry, grace)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


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
            return None, "invalid token"
        if record.expires <= self.clock.now():
            return None, "TokenExpired: token expired"
        grant = self.grants.get(record.grant_id)
        if grant is None or grant.revoked:
            return None, "token revoked"
        return grant, ""

    def revoke_grant(self, grant_id: str) -> None:
        grant = self.grants.get(grant_id)
        if grant:
            grant.revoked = True


class Limiter:
    """Xero's per-tenant limits: in flight, per rolling minute, per rolling day."""

    def __init__(self, options: SandboxOptions, clock: SandboxClock) -> None:
        self.options = options
        self.clock = clock
        self.lock = threading.Lock()
        self.in_flight: collections.Counter[str] = collections.Counter()
        Window = collections.deque[float]
        self.minute: dict[str, Window] = collections.defaultdict(collections.deque)
        self.day: dict[str, Window] = collections.defaultdict(collections.deque)
        self.app_minute: collections.deque[float] = collections.deque()

    def acquire(self, tenant: str) -> tuple[str | None, int, dict[str, str]]:
        """Take a slot: returns (problem or None, retry-after seconds, headers)."""
        now = self.clock.now()
        o = self.options
        with self.lock:
            minute, day = self.minute[tenant], self.day[tenant]
            for window, span in ((minute, o.minute_window), (day, 86400.0),
                                 (self.app_minute, 60.0)):
                while window and window[0] <= now - span:
                    window.popleft()
            def wait(window: collections.deque[float], span: float) -> int:
                """Seconds until the oldest call leaves the window (all of it if empty)."""
                return max(1, int((window[0] if window else now) + span - now) + 1)

            problem, retry = None, 0
            if self.in_flight[tenant] >= o.concurrent_limit:
                problem, retry = "concurrent", 1
            elif len(day) >= o.day_limit:
                problem, retry = "day", wait(day, 86400.0)
            elif len(minute) >= o.minute_limit:
                problem, retry = "minute", wait(minute, o.minute_window)
            elif len(self.app_minute) >= o.app_minute_limit:
                problem, retry = "appminute", wait(self.app_minute, 60.0)
            if problem is None:
                self.in_flight[tenant] += 1
                minute.append(now)
                day.append(now)
                self.app_minute.append(now)
            headers = {
                "X-MinLimit-Remaining": str(max(0, o.minute_limit - len(minute))),
                "X-DayLimit-Remaining": str(max(0, o.day_limit - len(day))),
                "X-AppMinLimit-Remaining": str(max(0, o.app_minute_limit - len(self.app_minute))),
            }
            return problem, retry, headers

    def reset(self) -> None:
        """Forget past calls (for benchmarks that measure runs one after another)."""
        with self.lock:
            self.minute.clear()
            self.day.clear()
            self.app_minute.clear()

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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "status_429": self.status_429,
                "token_grants": dict(self.token_grants),
                "invalid_grant": self.invalid_grant,
            }

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.by_endpoint.clear()
            self.status_429 = 0
            self.token_grants.clear()
            self.invalid_grant = 0


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


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())

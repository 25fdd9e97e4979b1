"""The composition root: the one place that builds a profile's dependencies (config,
store, token store, clock, gateways) and hands them to the services.

Everything is made on first use, so a command that answers from the cache never loads
the HTTP stack, and ``xerolink --help`` never opens a database.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from xerolink.clock import Clock, clock_from_env
from xerolink.config import Config
from xerolink.profile import Profile, current_user, resolve_profile
from xerolink.redact import Secret, SecretField

if TYPE_CHECKING:
    from xerolink.credentials import TokenStore
    from xerolink.services import connection as connection_service
    from xerolink.services.context import Deps
    from xerolink.store import Store
    from xerolink.store.models import Connection
    from xerolink.xero.endpoints import Endpoints
    from xerolink.xero.gateway import XeroGateway
    from xerolink.xero.oauth import IdentityClient
    from xerolink.xero.tokens import TokenManager

T = TypeVar("T")
Notice = Callable[[str], None]
CLOSED = "this Xerolink is closed; open another with xerolink.open()"


@dataclass(frozen=True)
class CallReport:
    """The Xero calls a session made: per endpoint label, and the retries among them."""

    calls: dict[str, int]
    retries: int
    gateways: int = 0  # gateways made: 0 when nothing needed Xero

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Environment(Mapping[str, str]):
    """The environment a profile reads, as a live view whose repr names no value."""

    __slots__ = ("_source",)

    def __init__(self, source: Mapping[str, str]) -> None:
        self._source = Secret(source)

    @classmethod
    def of(cls, source: Mapping[str, str]) -> Environment:
        return source if isinstance(source, Environment) else cls(source)

    def __getitem__(self, key: str) -> str:
        return self._source.reveal()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._source.reveal())

    def __len__(self) -> int:
        return len(self._source.reveal())

    def __repr__(self) -> str:
        return f"Environment(<{len(self)} variables>)"


@dataclass(repr=False)
class Wiring:
    """A profile's dependencies, built lazily, closed together."""

    # The environment, kept where neither repr nor vars() shows it: it holds
    # XEROLINK_CLIENT_SECRET, XEROLINK_SALESMATE_TOKEN and whatever else the process has.
    env: SecretField[Mapping[str, str]] = SecretField(None)  # noqa: RUF009 - a descriptor
    profile_name: str | None = None
    max_wait: float | None = None  # None: the profile's config (max_wait)
    notice: Notice = lambda message: None  # rate-limit waits and other news
    # Who opens authorisation links: None means the user's browser.
    browser: Callable[[str], None] | None = None
    clock_override: Clock | None = None
    gateways: list[XeroGateway] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict)
    # One call at a time per instance: threads sharing it queue here (see taken).
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)
    _making: threading.RLock = field(default_factory=threading.RLock, init=False)  # _once
    _closed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        given: Mapping[str, str] | None = self.env
        self.env = Environment.of(os.environ if given is None else given)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profile={self.profile_name!r})"

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        """One public call of the API: under the instance's lock (re-entrant, so calls
        within a call are free), and refused once the instance is closed."""
        with self._lock:
            if self._closed:
                from xerolink.errors import UsageError

                raise UsageError(CLOSED)
            yield

    @property
    def closed(self) -> bool:
        return self._closed

    def _once(self, key: str, make: Callable[[], T]) -> T:
        with self._making:  # the worker threads of one call may ask at the same time
            if key not in self._cache:
                if self._closed:  # e.g. ``xl.store`` after close(): not opened again
                    from xerolink.errors import UsageError

                    raise UsageError(CLOSED)
                self._cache[key] = make()
            value: T = self._cache[key]
            return value

    @property
    def profile(self) -> Profile:
        return self._once("profile", lambda: resolve_profile(self.profile_name, self.env))

    @property
    def config(self) -> Config:
        return self._once("config", lambda: Config(self.profile.config_path,
                                                   prepare=self.profile.ensure_dirs))

    @property
    def database_url(self) -> str | None:
        from xerolink.store import database_url

        return database_url(self.config.get("database_url"), self.env)

    @property
    def team(self) -> bool:
        """Team mode: the profile's store is a shared PostgreSQL database."""
        return bool(self.database_url)

    @property
    def store(self) -> Store:
        from xerolink.store import open_store

        return self._once("store", lambda: open_store(self.profile, self.database_url))

    def open_store(self, *, migrate: bool) -> Store:
        """A store of the profile's own (closed by the caller), e.g. to set a team up."""
        from xerolink.store import open_store

        return open_store(self.profile, self.database_url, migrate=migrate)

    @property
    def user(self) -> str:
        """XEROLINK_USER or the login name; in team mode, the database login."""
        if self.team:
            return self._once("user", lambda: self.store.login)
        return self._once("user", lambda: current_user(self.env))

    @property
    def clock(self) -> Clock:
        if self.clock_override is not None:
            return self.clock_override
        return self._once("clock", lambda: clock_from_env(self.env))

    @property
    def token_store_kind(self) -> str:
        from xerolink.credentials import token_store_kind

        return token_store_kind(self.config.get("token_store"), self.env)

    @property
    def token_store(self) -> TokenStore:
        from xerolink.credentials import DatabaseTokenStore, open_token_store

        if self.team:
            return self._once("token_store", lambda: DatabaseTokenStore(self.store))
        return self._once("token_store", lambda: open_token_store(self.profile,
                                                                  self.token_store_kind))

    # -- Xero ------------------------------------------------------------------------
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds for every call to Xero, from the profile's config."""
        return (float(self.config.get("connect_timeout")),
                float(self.config.get("read_timeout")))

    def identity_client(self, endpoints: Endpoints) -> IdentityClient:
        from xerolink.xero.http import RetryPolicy
        from xerolink.xero.oauth import IdentityClient

        return IdentityClient(endpoints, RetryPolicy(), timeout=self.timeouts())

    def make_gateway(self, endpoints: Endpoints, tokens: Any, tenant_id: str | None,
                     scopes: str | None = None) -> XeroGateway:
        from xerolink.xero.gateway import XeroGateway
        from xerolink.xero.http import RetryPolicy

        gateway = XeroGateway(endpoints, tokens, tenant_id=tenant_id,
                              max_wait=self.max_wait_seconds(),
                              notice=self.notice, retry=RetryPolicy(), scopes=scopes,
                              timeout=self.timeouts(), clock=self.clock)
        self.gateways.append(gateway)
        return gateway

    def token_manager(self, connection: Connection) -> TokenManager:
        from xerolink.xero.endpoints import Endpoints
        from xerolink.xero.tokens import TokenManager, file_lock

        lock: Callable[[], AbstractContextManager[Any]]
        if self.team:  # the database's row lock coordinates every machine of the team
            store = self.store

            def lock() -> AbstractContextManager[Any]:
                return store.token_lock(connection.tenant_id)
        else:
            lock = file_lock(self.profile.lock_dir / f"tokens-{connection.tenant_id}.lock")
        return TokenManager(self.token_store, self.identity_client(
            Endpoints.at(connection.xero_url)), connection.tenant_id, lock, clock=self.clock)

    def gateway_for(self, connection: Connection) -> XeroGateway:
        """A gateway for the active connection, refreshing its token as needed."""
        from xerolink.xero.endpoints import Endpoints

        return self.make_gateway(Endpoints.at(connection.xero_url),
                                 self.token_manager(connection), connection.tenant_id,
                                 connection.scopes)

    def deps(self) -> Deps:
        """Dependencies of the services that read or write Xero data (needs access)."""
        from xerolink.services.access import require_viewer
        from xerolink.services.context import Deps

        connection = require_viewer(self.store, self.user)
        return Deps(store=self.store, connection=connection, user=self.user,
                    now=self.clock.now, make_gateway=lambda: self.gateway_for(connection))

    def connection_deps(self, endpoints: Endpoints) -> connection_service.ConnectionDeps:
        from xerolink.services.connection import ConnectionDeps

        return ConnectionDeps(store=self.store, token_store=self.token_store,
                              identity=self.identity_client(endpoints),
                              make_gateway=self.make_gateway, clock=self.clock, user=self.user)

    def active_endpoints(self) -> Endpoints:
        """The active connection's Xero (or real Xero when there is none)."""
        from xerolink.xero.endpoints import Endpoints

        connection = self.store.active_connection()
        return Endpoints.at(connection.xero_url if connection else None)

    def calls(self) -> CallReport:
        """The Xero calls made so far through this session's gateways."""
        calls: dict[str, int] = {}
        retries = 0
        for gateway in list(self.gateways):
            with gateway.log.lock:  # a call under way in another thread may be counting
                counted, retried = dict(gateway.log.calls), gateway.log.retries
            for label, count in counted.items():
                calls[label] = calls.get(label, 0) + count
            retries += retried
        return CallReport(calls, retries, len(self.gateways))

    def max_wait_seconds(self) -> float:
        """The longest wait for a minute limit: the caller's, else the profile's."""
        return self.max_wait if self.max_wait is not None else float(self.config.get("max_wait"))

    def settle_gateways(self) -> None:
        """Keep the rate limits seen and let the gateways go: a service making a
        gateway a pass must not hold a thousand of them."""
        if self.gateways:
            self._remember_limits()
        self.gateways.clear()

    def close_store(self) -> None:
        """Close the profile's store, if open; the next use opens it again."""
        store = self._cache.pop("store", None)
        if store is not None:
            store.close()

    def _remember_limits(self) -> None:
        """Keep the last rate-limit headroom seen, for status and the day budget."""
        limits, tenant = None, None
        for gateway in self.gateways:
            if gateway.log.limits and gateway.tenant_id:
                limits, tenant = gateway.log.limits, gateway.tenant_id
        if limits and tenant and "store" in self._cache:
            self.store.record_rate_limits(tenant, json.dumps(limits))

    def close(self) -> None:
        """Close the store; later calls are refused (UsageError). Closing again is a
        no-op; a call under way in another thread finishes first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close()

    def _close(self) -> None:
        try:
            if self.gateways:
                self._remember_limits()
        finally:
            self.close_store()

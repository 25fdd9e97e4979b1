"""What every command receives: the runtime (its dependencies) and shared output flags.

Commands are written as ``def run(rt: Runtime, ...)``; the ``command`` decorator hides
``rt`` from Typer, adds ``--json`` (and ``--csv`` for lists) after the command name,
and puts the examples into the command's help.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from xerolink.errors import UsageError
from xerolink.render import CSV, HUMAN, JSON, Renderer


@dataclass
class Runtime:
    """A command's dependencies, built lazily so that cheap commands stay cheap."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    profile_name: str | None = None
    output: str = HUMAN
    debug: bool = False
    verbose: bool = False
    wide: bool = False  # --wide: full ids and every column in tables
    renderer_factory: Callable[[str], Renderer] = lambda mode: Renderer(mode=mode)
    _cache: dict[str, Any] = field(default_factory=dict)

    def select_output(self, *, json: bool, csv: bool) -> None:
        if json and csv:
            raise UsageError("choose one of --json and --csv")
        if json:
            self.output = JSON
        elif csv:
            self.output = CSV
        self._cache.pop("renderer", None)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def out(self) -> Renderer:
        def make() -> Renderer:
            renderer = self.renderer_factory(self.output)
            renderer.wide = renderer.wide or self.wide
            return renderer

        return self._once("renderer", make)

    @property
    def profile(self) -> Any:
        from xerolink.profile import resolve_profile

        return self._once("profile", lambda: resolve_profile(self.profile_name, self.env))

    @property
    def config(self) -> Any:
        from xerolink.config import Config

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
    def store(self) -> Any:
        from xerolink.store import open_store

        return self._once("store", lambda: open_store(self.profile, self.database_url))

    @property
    def user(self) -> str:
        """XEROLINK_USER or the login name; in team mode, the database login."""
        from xerolink.profile import current_user

        if self.team:
            return self._once("user", lambda: self.store.login)
        return self._once("user", lambda: current_user(self.env))

    @property
    def clock(self) -> Any:
        from xerolink.clock import clock_from_env

        return self._once("clock", lambda: clock_from_env(self.env))

    # -- Xero --------------------------------------------------------------------
    max_wait: float | None = None
    gateways: list[Any] = field(default_factory=list)
    # Who opens authorisation links: None means the user's browser. The demo plays it.
    browser: Callable[[str], None] | None = None

    @property
    def token_store(self) -> Any:
        from xerolink.tokenstore import open_token_store, token_store_kind

        if self.team:
            from xerolink.tokenstore import DatabaseTokenStore

            return self._once("token_store", lambda: DatabaseTokenStore(self.store))
        return self._once("token_store", lambda: open_token_store(
            self.profile, token_store_kind(self.config.get("token_store"), self.env)))

    def retry_policy(self) -> Any:
        from xerolink.xero.http import RetryPolicy

        return RetryPolicy()

    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds for every call to Xero, from the profile's config."""
        return (float(self.config.get("connect_timeout")),
                float(self.config.get("read_timeout")))

    def identity_client(self, endpoints: Any) -> Any:
        from xerolink.xero.oauth import IdentityClient

        return IdentityClient(endpoints, self.retry_policy(), timeout=self.timeouts())

    def make_gateway(self, endpoints: Any, tokens: Any, tenant_id: str | None,
                     scopes: str | None = None) -> Any:
        from xerolink.xero.gateway import XeroGateway

        wait = self.max_wait if self.max_wait is not None else float(self.config.get("max_wait"))
        gateway = XeroGateway(endpoints, tokens, tenant_id=tenant_id, max_wait=wait,
                              notice=self.out.notice, retry=self.retry_policy(),
                              scopes=scopes, timeout=self.timeouts())
        self.gateways.append(gateway)
        return gateway

    def token_manager(self, connection: Any) -> Any:
        from xerolink.xero.endpoints import Endpoints
        from xerolink.xero.tokens import TokenManager, file_lock

        if self.team:  # the database's row lock coordinates every machine of the team
            store = self.store

            def lock() -> Any:
                return store.token_lock(connection.tenant_id)
        else:
            lock = file_lock(self.profile.lock_dir / f"tokens-{connection.tenant_id}.lock")
        return TokenManager(self.token_store, self.identity_client(
            Endpoints.at(connection.xero_url)), connection.tenant_id, lock,
            now=lambda: self.clock.now().timestamp())

    def gateway_for(self, connection: Any) -> Any:
        """A gateway for the active connection, refreshing its token as needed."""
        from xerolink.xero.endpoints import Endpoints

        return self.make_gateway(Endpoints.at(connection.xero_url),
                                 self.token_manager(connection), connection.tenant_id,
                                 connection.scopes)

    def linking_deps(self) -> Any:
        """Dependencies of the commands that read or write Xero data (needs access)."""
        from xerolink.services.access import require_viewer
        from xerolink.services.context import Deps

        connection = require_viewer(self.store, self.user)
        return Deps(store=self.store, connection=connection, user=self.user,
                    now=self.clock.now, make_gateway=lambda: self.gateway_for(connection))

    def connection_deps(self, endpoints: Any) -> Any:
        from xerolink.services.connection import Deps

        return Deps(store=self.store, token_store=self.token_store,
                    identity=self.identity_client(endpoints), make_gateway=self.make_gateway,
                    clock=self.clock, user=self.user)

    def _finish_xero(self) -> None:
        """Remember the last rate-limit headroom seen; report calls with --verbose."""
        import json

        calls: dict[str, int] = {}
        retries, limits, tenant = 0, None, None
        for gateway in self.gateways:
            for label, count in gateway.log.calls.items():
                calls[label] = calls.get(label, 0) + count
            retries += gateway.log.retries
            if gateway.log.limits and gateway.tenant_id:
                limits, tenant = gateway.log.limits, gateway.tenant_id
        if limits and tenant and "store" in self._cache:
            self.store.record_rate_limits(tenant, json.dumps(limits))
        if self.verbose:
            detail = ", ".join(f"{label} x{count}" for label, count in sorted(calls.items()))
            self.out.notice(f"xero calls: {sum(calls.values())} ({retries} retries)"
                            + (f": {detail}" if detail else ""))

    def close(self) -> None:
        try:
            if self.gateways:
                self._finish_xero()
        finally:
            store = self._cache.pop("store", None)
            if store is not None:
                store.close()


_JSON_OPTION = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]
_DEBUG_OPTION = Annotated[
    bool, typer.Option("--debug", help="Show a (redacted) traceback on errors.")
]
_VERBOSE_OPTION = Annotated[
    bool, typer.Option("--verbose", "-v", help="Report the Xero calls this run made.")
]
_CSV_OPTION = Annotated[
    bool, typer.Option("--csv", help="Print the list as CSV (formula cells neutralised).")
]
_WIDE_OPTION = Annotated[
    bool, typer.Option("--wide", help="Show full ids and every column, whatever the width.")
]


def examples_epilog(examples: Sequence[str]) -> str | None:
    """The Examples block of a --help; \b keeps click from rewrapping it."""
    if not examples:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {e}" for e in examples)


def command(
    app: typer.Typer,
    name: str,
    *,
    examples: Sequence[str] = (),
    lists: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(rt, ...)`` as a Typer command with the shared output flags."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn, eval_str=True)
        own = list(signature.parameters.values())[1:]  # the first is the runtime
        extra = [
            inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
            inspect.Parameter(
                "json_output", inspect.Parameter.KEYWORD_ONLY, default=False,
                annotation=_JSON_OPTION,
            ),
            inspect.Parameter(
                "debug_flag", inspect.Parameter.KEYWORD_ONLY, default=False,
                annotation=_DEBUG_OPTION,
            ),
            inspect.Parameter(
                "verbose_flag", inspect.Parameter.KEYWORD_ONLY, default=False,
                annotation=_VERBOSE_OPTION,
            ),
        ]
        if lists:
            extra.append(
                inspect.Parameter(
                    "csv_output", inspect.Parameter.KEYWORD_ONLY, default=False,
                    annotation=_CSV_OPTION,
                )
            )
            extra.append(
                inspect.Parameter(
                    "wide_output", inspect.Parameter.KEYWORD_ONLY, default=False,
                    annotation=_WIDE_OPTION,
                )
            )

        @functools.wraps(fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        def run(**kwargs: Any) -> Any:
            ctx = kwargs.pop("ctx")
            rt: Runtime = ctx.find_root().obj
            if not lists and rt.output == CSV:
                raise UsageError(f"--csv is for commands that print a list, and `{name}` "
                                 "does not; use --json")
            if kwargs.pop("wide_output", False):
                rt.wide = True
                rt._cache.pop("renderer", None)
            debug, verbose = kwargs.pop("debug_flag"), kwargs.pop("verbose_flag")
            rt.debug, rt.verbose = rt.debug or debug, rt.verbose or verbose
            rt.select_output(
                json=kwargs.pop("json_output") or rt.output == JSON,
                csv=kwargs.pop("csv_output", False) or rt.output == CSV,
            )
            return fn(rt, **kwargs)

        params = own + extra
        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name, epilog=examples_epilog(examples))(run)
        return fn

    return decorate

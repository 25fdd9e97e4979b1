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
        return self._once("renderer", lambda: self.renderer_factory(self.output))

    @property
    def profile(self) -> Any:
        from xerolink.profile import resolve_profile

        return self._once("profile", lambda: resolve_profile(self.profile_name, self.env))

    @property
    def config(self) -> Any:
        from xerolink.config import Config

        return self._once("config", lambda: Config(self.profile.config_path))

    @property
    def store(self) -> Any:
        from xerolink.store import open_store

        return self._once("store", lambda: open_store(self.profile))

    @property
    def user(self) -> str:
        from xerolink.profile import current_user

        return self._once("user", lambda: current_user(self.env))

    @property
    def clock(self) -> Any:
        from xerolink.clock import clock_from_env

        return self._once("clock", lambda: clock_from_env(self.env))

    def close(self) -> None:
        store = self._cache.pop("store", None)
        if store is not None:
            store.close()


_JSON_OPTION = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]
_CSV_OPTION = Annotated[
    bool, typer.Option("--csv", help="Print the list as CSV (formula cells neutralised).")
]


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
        ]
        if lists:
            extra.append(
                inspect.Parameter(
                    "csv_output", inspect.Parameter.KEYWORD_ONLY, default=False,
                    annotation=_CSV_OPTION,
                )
            )

        @functools.wraps(fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        def run(**kwargs: Any) -> Any:
            ctx = kwargs.pop("ctx")
            rt: Runtime = ctx.find_root().obj
            rt.select_output(
                json=kwargs.pop("json_output") or rt.output == JSON,
                csv=kwargs.pop("csv_output", False) or rt.output == CSV,
            )
            return fn(rt, **kwargs)

        params = own + extra
        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        epilog = None
        if examples:
            epilog = "Examples:\n\n" + "\n\n".join(f"  $ {e}" for e in examples)
        app.command(name, epilog=epilog)(run)
        return fn

    return decorate

"""What every command receives: the runtime (its dependencies) and shared output flags.

Commands are written as ``def run(rt: Runtime, ...)``; the ``command`` decorator hides
``rt`` from Typer, adds ``--json`` (and ``--csv`` for lists) after the command name,
and puts the examples into the command's help.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xerolink.errors import UsageError
from xerolink.render import CSV, HUMAN, JSON, Renderer
from xerolink.results import Result

if TYPE_CHECKING:
    from xerolink.api import Xerolink
    from xerolink.config import Config


@dataclass
class Runtime:
    """A command's output settings and its ``Xerolink`` (the profile's API), built on
    first use so that cheap commands stay cheap."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    profile_name: str | None = None
    output: str = HUMAN
    debug: bool = False
    verbose: bool = False
    wide: bool = False  # --wide: full ids and every column in tables
    renderer_factory: Callable[[str], Renderer] = lambda mode: Renderer(mode=mode)
    max_wait: float | None = None
    # Who opens authorisation links: None means the user's browser. The demo plays it.
    browser: Callable[[str], None] | None = None
    _renderer: Renderer | None = None
    _app: Xerolink | None = None
    _config: Config | None = None

    def select_output(self, *, json: bool, csv: bool) -> None:
        if json and csv:
            raise UsageError("choose one of --json and --csv")
        if json:
            self.output = JSON
        elif csv:
            self.output = CSV
        self._renderer = None

    @property
    def out(self) -> Renderer:
        if self._renderer is None:
            renderer = self.renderer_factory(self.output)
            renderer.wide = renderer.wide or self.wide
            self._renderer = renderer
        return self._renderer

    @property
    def app(self) -> Xerolink:
        """The profile's xerolink: what every command calls."""
        if self._app is None:
            from xerolink.api import Xerolink

            self._app = Xerolink(env=self.env, profile_name=self.profile_name,
                                 max_wait=self.max_wait,
                                 notice=lambda message: self.out.notice(message),
                                 browser=self.browser)
        return self._app

    @property
    def config(self) -> Config:
        """The profile's settings, read by the config commands without opening a store."""
        if self._config is None:
            from xerolink.config import Config
            from xerolink.profile import resolve_profile

            profile = resolve_profile(self.profile_name, self.env)
            self._config = Config(profile.config_path, prepare=profile.ensure_dirs)
        return self._config

    def close(self) -> None:
        if self._app is None:
            return
        try:
            report = self._app.calls()
            if self.verbose and report.gateways:
                detail = ", ".join(f"{label} x{count}"
                                   for label, count in sorted(report.calls.items()))
                self.out.notice(f"xero calls: {report.total} ({report.retries} retries)"
                                + (f": {detail}" if detail else ""))
        finally:
            self._app.close()


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
# On a command that prints no list, --csv is taken (not shown in --help) only to say
# so, as it is before the command: "No such option" would not say what to use instead.
_CSV_REFUSED = Annotated[bool, typer.Option("--csv", hidden=True)]
_WIDE_OPTION = Annotated[
    bool, typer.Option("--wide", help="Show full ids and every column, whatever the width.")
]


def confirm(rt: Runtime, question: str, *, yes: bool, default: bool, nothing_done: str,
            preamble: str | None = None) -> None:
    """Ask before a change, or proceed because --yes was given. With no terminal on
    stdin nobody can answer, so the change is refused (exit 2) rather than made unasked:
    a piped ``n`` is never read as a yes, nor is silence."""
    if yes:
        return
    if not sys.stdin.isatty():
        # quoted as it reads (the error line makes control characters visible): a
        # repr would double a backslash in a name
        raise UsageError(f"no terminal to answer '{question}': pass --yes to go ahead; "
                         f"{nothing_done}")
    if preamble:
        rt.out.notice(preamble)
    if not typer.confirm(question, default=default, err=True):
        raise UsageError(f"cancelled; {nothing_done}")


def examples_epilog(examples: Sequence[str]) -> str | None:
    """The Examples block of a --help; \b keeps click from rewrapping it."""
    if not examples:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {e}" for e in examples)


def _output_parameters(lists: bool) -> list[inspect.Parameter]:
    """The shared flags every command takes (--json, --debug, --verbose; --csv and
    --wide on commands that print a list; elsewhere a hidden --csv, only to refuse it),
    after the command's own."""
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
    extra.append(
        inspect.Parameter(
            "csv_output", inspect.Parameter.KEYWORD_ONLY, default=False,
            annotation=_CSV_OPTION if lists else _CSV_REFUSED,
        )
    )
    if lists:
        extra.append(
            inspect.Parameter(
                "wide_output", inspect.Parameter.KEYWORD_ONLY, default=False,
                annotation=_WIDE_OPTION,
            )
        )
    return extra


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
        extra = _output_parameters(lists)

        @functools.wraps(fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        def run(**kwargs: Any) -> Any:
            ctx = kwargs.pop("ctx")
            rt: Runtime = ctx.find_root().obj
            if not lists and (rt.output == CSV or kwargs.pop("csv_output")):
                called = " ".join(ctx.command_path.split()[1:]) or name  # `config get`
                raise UsageError(f"--csv is for commands that print a list, and `{called}` "
                                 "does not; use --json")
            if kwargs.pop("wide_output", False):
                rt.wide = True
                rt._renderer = None
            debug, verbose = kwargs.pop("debug_flag"), kwargs.pop("verbose_flag")
            rt.debug, rt.verbose = rt.debug or debug, rt.verbose or verbose
            rt.select_output(
                json=kwargs.pop("json_output") or rt.output == JSON,
                csv=kwargs.pop("csv_output", False) or rt.output == CSV,
            )
            outcome = fn(rt, **kwargs)
            # The result knows its exit code (stale figures, a connection not running,
            # doctor's problems); main() returns it.
            return int(outcome.exit_code) if isinstance(outcome, Result) else None

        params = own + extra
        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name, epilog=examples_epilog(examples))(run)
        return fn

    return decorate

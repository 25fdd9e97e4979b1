"""The ``xerolink`` command: parse, call a service, render. Nothing else lives here.

Each command group is a module of its own; this module assembles them and is the one
place where exit codes are made: a failure (an exception) becomes an ``error:`` line
and its code here, and an outcome's code is its result's ``exit_code`` (stale
figures 7, a connection not running 3, doctor's problems 10), which ``main`` returns.
No command raises ``typer.Exit`` but ``--version``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from xerolink import __version__
from xerolink.cli._runtime import Runtime
from xerolink.errors import ExitCode, UsageError, XerolinkError
from xerolink.interrupts import came_from_ctrl_c
from xerolink.redact import redact
from xerolink.render import CSV, JSON, Renderer

HELP = """Connect a CRM to Xero: see a customer's quotes, invoices and bills beside the CRM
record, and create them, without opening the accounting system.

Try it with no Xero account: `xerolink demo`.
"""

# What each exit code means, one line each: the top-level --help is made from this
# table and the ExitCode enum, and a test checks that every code has its line.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.UNEXPECTED: "unexpected error (a bug: please report it)",
    ExitCode.USAGE: "usage or bad input; nothing was changed",
    ExitCode.NOT_CONNECTED: "not connected, or re-authorisation needed",
    ExitCode.PERMISSION_DENIED: "permission denied",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.XERO_REFUSED: "Xero refused (validation, the daily limit)",
    ExitCode.XERO_UNREACHABLE: "Xero unreachable",
    ExitCode.CRM_REFUSED: "the CRM (Salesmate) refused",
    ExitCode.CRM_UNREACHABLE: "the CRM unreachable",
    ExitCode.CHECKS_FAILED: "doctor found a problem",
    ExitCode.STORE_DAMAGED: "the local store is damaged (xerolink doctor --repair)",
    ExitCode.STORE_UNREACHABLE: "the team database unreachable or refusing this user",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


def exit_codes_text() -> str:
    """The help's exit-code block, one code a line, from the enum (a code without a
    meaning is a KeyError at the first --help, and a failing test)."""
    return "\n".join(f"  {int(code):>3}  {EXIT_CODE_MEANINGS[code]}" for code in ExitCode)


EPILOG = """Examples:

\b
  $ xerolink demo
  $ xerolink connect --xero-url http://127.0.0.1:8080
  $ xerolink config set sales_account 200
  $ xerolink --json config list

\b
Exit codes:
""" + exit_codes_text()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"xerolink {__version__}\n")
        raise typer.Exit(int(ExitCode.OK))


def build_app(only: str | None = None) -> typer.Typer:
    app = typer.Typer(
        name="xerolink",
        help=HELP,
        epilog=EPILOG,
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        version: Annotated[
            bool,
            typer.Option("--version", help="Print the version and exit.", is_eager=True,
                         callback=_version),
        ] = False,
        profile: Annotated[
            str | None,
            typer.Option("--profile", metavar="NAME",
                         help="Isolated configuration, store and tokens [env XEROLINK_PROFILE]."),
        ] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print one JSON document on stdout.")
        ] = False,
        csv_output: Annotated[bool, typer.Option("--csv", help="Print lists as CSV.")] = False,
        debug: Annotated[
            bool, typer.Option("--debug", help="Show a (redacted) traceback on errors.")
        ] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Report Xero calls made by this run.")
        ] = False,
        wide: Annotated[
            bool, typer.Option("--wide", help="Show full ids and every column in tables.")
        ] = False,
        max_wait: Annotated[
            float | None,
            typer.Option("--max-wait", metavar="SECONDS", min=0, max=3600,
                         help="Longest wait for Xero's minute limit [config max_wait, 60]."),
        ] = None,
    ) -> None:
        rt: Runtime = ctx.obj
        if max_wait is not None and not math.isfinite(max_wait):  # nan passes min/max
            raise UsageError("--max-wait takes a number of seconds from 0 to 3600")
        rt.max_wait = max_wait
        rt.wide = rt.wide or wide
        rt.profile_name = profile
        rt.debug = rt.debug or debug
        rt.verbose = rt.verbose or verbose
        rt.select_output(json=json_output, csv=csv_output)

    for names, register in _COMMANDS:
        if only in (None, ROOT_HELP) or only in names:
            register(app, only == ROOT_HELP)
    return app


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(f"xerolink.cli.{name}")


def _group(module: str, name: str, help_text: str, examples: Sequence[str]
           ) -> Callable[[typer.Typer, bool], None]:
    """A command group; for the top-level --help (``shallow``) only its name and help,
    which is all that help lists, so its module is not even imported."""
    from xerolink.cli._runtime import examples_epilog

    return lambda app, shallow: app.add_typer(
        typer.Typer() if shallow else _module(module).app, name=name, help=help_text,
        epilog=examples_epilog(examples))


# Every command, by the module that defines it, in the order help lists them. main()
# registers only the module of the command being run, so a run pays for one module's
# commands, not all of them.
_COMMANDS: list[tuple[tuple[str, ...], Callable[[typer.Typer, bool], None]]] = [
    (("connect", "status", "remove"), lambda app, _: _module("connection").register(app)),
    (("access",), _group("access", "access",
                         "Choose who may view Xero data in this profile, and who may "
                         "approve and send (admins).",
                         ["xerolink access list", "xerolink access grant bob carol",
                          "xerolink access grant dana --admin",
                          "xerolink access grant erin --send", "xerolink access revoke bob"])),
    (("crm",), _group("crm", "crm", "CRM contacts, companies and deals: import files, or "
                      "pull from Salesmate and push Xero's figures back.",
                      ["xerolink crm import contacts.csv", "xerolink crm list companies",
                       "xerolink crm connect salesmate --linkname acme",
                       "xerolink crm pull", "xerolink crm push --dry-run",
                       "xerolink crm show contact:42", "xerolink crm remove deal:9"])),
    (("suggest", "search", "link", "unlink", "links", "create-contact"),
     lambda app, _: _module("linking").register(app)),
    (("summary", "refresh", "details", "view", "create-quote", "create-invoice",
      "create-bill", "deal"), lambda app, _: _module("documents").register(app)),
    (("approve",), lambda app, _: _module("approve").register(app)),
    (("send",), lambda app, _: _module("send").register(app)),
    (("demo",), lambda app, _: _module("demo").register(app)),
    (("doctor",), lambda app, _: _module("doctor").register(app)),
    (("team",), _group("team", "team",
                       "Share links, access and the Xero connection through PostgreSQL.",
                       ["XEROLINK_DATABASE_URL=postgresql://alice@db/xerolink xerolink team "
                        "init", "xerolink team migrate --from-sqlite "
                        "~/.local/share/xerolink/profiles/default/xerolink.db"])),
    (("config",), _group("config", "config", "Read and change this profile's settings.",
                         ["xerolink config list", "xerolink config set sales_account 200",
                          "xerolink config unset xero_url"])),
    (("webhooks",), _group("webhooks", "webhooks",
                           "Set up Xero's webhooks: the key the receiver checks them with.",
                           ["xerolink webhooks key --stdin < webhook-key.txt"])),
    (("sandbox",), _group("sandbox", "sandbox",
                          "Run a local Xero-compatible server for trying and testing.",
                          ["xerolink sandbox serve --port 8080",
                           "xerolink sandbox serve --day-limit 1000"])),
]
_VALUED_OPTIONS = ("--profile", "--max-wait")
ROOT_HELP = "--help"  # build_app's ``only`` for the top-level help: groups shallow


def _command_name(args: Sequence[str]) -> str | None:
    """The command a run names (the first argument that is not a root option), if it is
    one of xerolink's; ROOT_HELP for the top-level --help; None means: build every
    command (errors, no command, completion)."""
    position = 0
    while position < len(args):
        arg = args[position]
        if arg in _VALUED_OPTIONS:
            position += 2
            continue
        if arg.startswith("-"):
            if arg in ("--help", "-h"):
                return ROOT_HELP
            if arg == "--version":
                return None
            position += 1
            continue
        known = any(arg in names for names, _ in _COMMANDS)
        return arg if known else None
    return None


def main(argv: Sequence[str] | None = None, runtime: Runtime | None = None) -> int:
    """Run the command line; returns the exit code (docs/exit-codes.md)."""
    args = list(sys.argv[1:] if argv is None else argv)
    rt = runtime or Runtime()
    rt.debug = rt.debug or "--debug" in args
    try:
        command = typer.main.get_command(build_app(_command_name(args)))
        from xerolink.cli.completion import use_whole_word_bash

        use_whole_word_bash()
        result = command.main(args=args, prog_name="xerolink", standalone_mode=False, obj=rt)
        if result == ExitCode.INTERRUPTED:
            # Typer turns Ctrl-C (KeyboardInterrupt) into a silent exit 130.
            _renderer(rt).error("interrupted")
        return int(result) if isinstance(result, int) else 0
    except XerolinkError as exc:
        _report(rt, exc, str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _renderer(rt).error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # Typer's (vendored click's) usage errors: unknown command, bad option value.
            message = exc.format_message()
            if "No such command" in message:
                message += " Run 'xerolink --help' to see the commands."
            elif (option := str(getattr(exc, "option_name", None) or ""))[1:2].isdigit():
                message += (" (a value that starts with '-' goes after `--`, as in "  # "-1"
                            f"`xerolink config set -- KEY {option}`)")
            _report(rt, exc, message, show_trace=False)
            return int(ExitCode.USAGE) if exc.exit_code == 2 else int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            # Ctrl-C reaches here as click's Abort, raised from the KeyboardInterrupt.
            interrupted = isinstance(exc.__context__, KeyboardInterrupt)
            _renderer(rt).error("interrupted" if interrupted else "aborted")
            return int(ExitCode.INTERRUPTED)
        if came_from_ctrl_c(exc):
            # or wrapped by Python itself (3.11 wraps what a class's __set_name__ raises,
            # KeyboardInterrupt too, in a RuntimeError: a Ctrl-C while a dataclass of a
            # command's lazy import is being made)
            _renderer(rt).error("interrupted")
            return int(ExitCode.INTERRUPTED)
        _report(
            rt,
            exc,
            f"unexpected {type(exc).__name__}: {exc} (run again with --debug for a traceback; "
            "please report it)",
        )
        return int(ExitCode.UNEXPECTED)
    finally:
        rt.close()


def _renderer(rt: Runtime) -> Renderer:
    mode = rt.output if rt.output in (JSON, CSV) else "human"
    return rt.renderer_factory(mode)


def _report(rt: Runtime, exc: BaseException, message: str, *, show_trace: bool = True) -> None:
    if rt.debug and show_trace:
        import traceback

        trace = "".join(traceback.format_exception(exc))
        sys.stderr.write(redact(trace))
    _renderer(rt).error(message)

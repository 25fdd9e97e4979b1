"""Fixtures: a sandbox as new for each test (one server per worker, reset between
tests), an isolated home, the CLI run in-process, and a profile connected to the
sandbox. The tiers and the network guard are in tiers.py."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import typer

import tiers

# pytest rewrites each test module's asserts at import, and keeps the result as bytecode
# unless told not to write any: where PYTHONDONTWRITEBYTECODE is set (this project's CI
# machines set it), every worker of every run rewrote all 200 modules again, four
# seconds before the first test. The suite writes them (under __pycache__, ignored by
# git); XEROLINK_TESTS_NO_BYTECODE=1 keeps to the environment's choice.
if not os.environ.get("XEROLINK_TESTS_NO_BYTECODE"):
    sys.dont_write_bytecode = False

_first = tiers.collect_first()  # before xerolink's modules and the tests' are compiled
import xerolink.cli  # noqa: E402
from support import SANDBOX_DEFAULTS, connect_profile  # noqa: E402
from xerolink.cli import build_app as _build_app  # noqa: E402
from xerolink.cli import main  # noqa: E402
from xerolink.sandbox import SandboxOptions, SandboxServer  # noqa: E402

MEMORY_TEMP = "/dev/shm"  # Linux's shared-memory tmpfs, checked below
MEMORY_TEMP_FREE = 2 << 30  # bytes: a whole run's temporary files, with room to spare


def _temporary_files_in_memory() -> None:
    """Where TMPDIR is not set, keep the tests' temporary files (every tmp_path, and so
    the stores, their copies and the token files) in Linux's tmpfs when it has room: a
    fast-tier run writes about 230 MB there, which on disk cost a quarter of the run
    in writes and syncs, and as much again in how long a run took from one to the next.
    XEROLINK_TESTS_DISK_TMP=1 keeps them on disk. Processes the tests start inherit it."""
    if os.environ.get("TMPDIR") or os.environ.get("XEROLINK_TESTS_DISK_TMP"):
        return
    try:
        info = os.statvfs(MEMORY_TEMP)
    except OSError:
        return
    if not os.access(MEMORY_TEMP, os.W_OK) or info.f_bavail * info.f_frsize < MEMORY_TEMP_FREE \
            or info.f_flag & os.ST_NOEXEC:  # libffi may map code from files in TMPDIR
        return
    os.environ["TMPDIR"] = MEMORY_TEMP
    tempfile.tempdir = None  # pytest's capture has already asked; ask again


_temporary_files_in_memory()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    tiers.mark_tiers(items)  # before -m chooses by the marks
    yield
    tiers.spread_longest(items)  # what -m chose, in the order the workers will take it


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The collector's full passes, over a worker's whole heap, were a sixth of its time:
    what collection built (modules, test items, the apps) lives to the end, so it is
    set aside from every pass (``gc.freeze``), and the full passes over what the tests
    make come a tenth as often. Only this test process: xerolink's own are untouched."""
    tiers.done_collecting(_first)
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


@pytest.fixture(scope="session", autouse=True)
def _guards(request) -> Iterator[None]:
    """Loopback only, everywhere; in the fast tier, no process either. And the same
    output width in an xdist worker as in a plain run: xdist sets COLUMNS and LINES
    from its own terminal, which would wrap what piped output does not."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)
    # An xdist worker ignores SIGINT (Ctrl-C is the controller's), and so does a run
    # started in the background by a shell without job control; an ignored signal stays
    # ignored across exec, so the processes tests start would never see the Ctrl-C a
    # terminal sends them. Python's own handler here gives them the default, as a
    # user's interactive shell does.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    tiers.block_non_loopback()
    undo = tiers.refuse_processes() if tiers.fast_tier_selected(request.config) else None
    yield
    if undo is not None:
        undo()


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """A connection off loopback fails the test even when the code swallowed it."""
    start = tiers.blocked_count()
    yield
    blocked = tiers.blocked_since(start)
    if blocked:
        pytest.fail(f"the test tried to leave loopback: {blocked}")


class SharedSandboxes:
    """One server per set of options for the worker's whole session, reset to a new
    server's state before each test that asks for it: a test sees what a fresh sandbox
    would show, without a server started and stopped for each."""

    def __init__(self) -> None:
        self.servers: dict[str, SandboxServer] = {}

    def get(self, **options: object) -> SandboxServer:
        key = repr(sorted(options.items()))
        server = self.servers.get(key)
        if server is not None and server.serving:
            server.reset()
            return server
        server = SandboxServer(SandboxOptions(**{**SANDBOX_DEFAULTS, **options}))
        server.start()
        self.servers[key] = server
        return server

    def stop(self) -> None:
        for server in self.servers.values():
            if server.serving:
                server.stop()


@pytest.fixture(scope="session")
def shared_sandboxes() -> Iterator[SharedSandboxes]:
    pool = SharedSandboxes()
    yield pool
    pool.stop()


@pytest.fixture
def sandbox(shared_sandboxes) -> SandboxServer:
    return shared_sandboxes.get()


@pytest.fixture
def home(tmp_path, monkeypatch) -> object:
    """An isolated XEROLINK_HOME and a known current user for CLI tests."""
    root = tmp_path / "home"
    monkeypatch.setenv("XEROLINK_HOME", str(root))
    monkeypatch.setenv("XEROLINK_USER", "alice")
    monkeypatch.delenv("XEROLINK_PROFILE", raising=False)
    monkeypatch.delenv("XEROLINK_NOW", raising=False)
    monkeypatch.delenv("XEROLINK_CLOCK_SPEED", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


class _BuiltOnce:
    """``typer`` as ``xerolink.cli.main`` sees it in a CLI test, with each app's click
    command built once per worker, not once per run: Typer reads every command's
    signature to build it (3 to 25 ms a run, and a worker runs the CLI thousands of
    times). A real process builds it once too; the command a test runs is the same."""

    def __init__(self) -> None:
        self.apps: dict[str | None, Any] = {}
        self.commands: dict[int, tuple[Any, Any]] = {}  # id(app) -> (app, its command)
        self.main = _TyperMain(self)

    def build_app(self, only: str | None = None) -> Any:
        if only not in self.apps:
            self.apps[only] = _build_app(only)
        return self.apps[only]

    def get_command(self, app: Any) -> Any:
        if id(app) not in self.commands:
            self.commands[id(app)] = (app, typer.main.get_command(app))
        return self.commands[id(app)][1]

    def __getattr__(self, name: str) -> Any:
        return getattr(typer, name)


class _TyperMain:
    """``typer.main`` with ``get_command`` built once per app."""

    def __init__(self, built: _BuiltOnce) -> None:
        self.get_command = built.get_command

    def __getattr__(self, name: str) -> Any:
        return getattr(typer.main, name)


_built_once = _BuiltOnce()


@dataclass
class Cli:
    capsys: Any

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(home, capsys, monkeypatch) -> Cli:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    monkeypatch.setattr(xerolink.cli, "build_app", _built_once.build_app)
    monkeypatch.setattr(xerolink.cli, "typer", _built_once)
    return Cli(capsys)


@pytest.fixture
def connected(sandbox, home, monkeypatch) -> str:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    return connect_profile(sandbox, home)

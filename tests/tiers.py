"""The two tiers of the suite and the guards that keep them honest.

``e2e`` marks what must stay end to end: a test that starts a process (the CLI as a
subprocess, ``xerolink sandbox`` or ``serve``, PostgreSQL, pgbouncer, Chromium). It is
set at collection, not by hand: a test is e2e when its own code, a fixture it uses, or a
helper either of them calls (found by reading their source, transitively) starts a
process. So a new test is put in its tier the day it is written. Long tests join them:
``slow`` ones, and those durations.json lists as over 0.7 s when last measured. The
rest is the fast tier, ``pytest -m "not e2e"``: in-process, against the sandbox on
127.0.0.1, in seconds.

Two guards back this up. Every test, in either tier, may connect only to loopback
addresses: a connection elsewhere fails, and fails the test even where the code under
test swallowed the error. In the fast tier a test that starts a process all the same (a
spawn the source reading cannot see, such as one made inside xerolink) fails with the
fix to make: mark it ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import ast
import functools
import inspect
import ipaddress
import json
import os
import socket
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
# Names whose use starts a process: the subprocess module and its Popen, the
# interpreter's path (only ever used to run it), fork, multiprocessing, a web driver.
SPAWNING = frozenset({"subprocess", "Popen", "executable", "fork", "multiprocessing",
                      "webdriver"})

_blocked: list[str] = []
FAST_SHARE = 0.6  # of all tests, at least, in the fast tier (issue 26)
_verdicts: dict[tuple[str, str], bool] = {}


def is_e2e(item: pytest.Item) -> bool:
    """True when the test, one of its fixtures or a helper they use starts a process;
    or when it is long: a test at scale (``slow``), or one that took over 0.7 s when
    last measured (durations.json, scripts/tier_durations.py). The fast tier is
    seconds in all."""
    if item.get_closest_marker("e2e") or item.get_closest_marker("slow") or \
            item.nodeid in _long():
        return True
    function = getattr(item, "function", None)
    objects = [function] if function is not None else []
    info = getattr(item, "_fixtureinfo", None)
    for definitions in (info.name2fixturedefs.values() if info else ()):
        objects += [d.func for d in definitions]
    manager = item.session._fixturemanager
    for name in {n for obj in objects for f in _functions(obj) for n in _requested(f)}:
        objects += [d.func for d in manager.getfixturedefs(name, item) or ()]
    return any(_spawns(obj) for obj in objects)


@functools.cache
def _long() -> frozenset[str]:
    path = TESTS / "durations.json"
    return frozenset(json.loads(path.read_text())) if path.exists() else frozenset()


def _requested(function: Any) -> frozenset[str]:
    """Fixtures a function asks for by name (``request.getfixturevalue("pg")``)."""
    return _requested_in(getattr(function, "__code__", None) or function)


@functools.cache
def _module_functions(filename: str) -> dict[int, ast.AST]:
    """A module's functions by their first line (a decorator's, if any: where their
    code object starts), the module parsed once, not each function's source found and
    parsed again (most of a collection without kept verdicts)."""
    try:
        tree = ast.parse(Path(filename).read_bytes(), filename=filename)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[int, ast.AST] = {}
    bodies = [tree.body]  # the module's and its classes': what a verdict asks about
    while bodies:
        for node in bodies.pop():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[min([node.lineno, *(d.lineno for d in node.decorator_list)])] = node
            elif isinstance(node, ast.ClassDef):
                bodies.append(node.body)
    return found


def _tree(code: Any) -> ast.AST | None:
    """A function's syntax, decorators included: from its module's parse for the
    suite's own code, or from its own source (a lambda, a fixture of pytest's)."""
    filename, first = getattr(code, "co_filename", None), getattr(code, "co_firstlineno", 0)
    ours = filename is not None and TESTS in Path(filename).parents  # pytest's own: by itself
    node = _module_functions(filename).get(first) if ours else None
    if node is not None:
        return node
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(code)))
    except (OSError, TypeError, SyntaxError):
        return None


@functools.cache
def _requested_in(code: Any) -> frozenset[str]:
    """Read once per function, not once per test that uses it (a fixture's source was
    parsed again for each of its hundreds of users: seconds of every collection)."""
    tree = _tree(code)
    if tree is None:
        return frozenset()
    return frozenset(node.args[0].value for node in ast.walk(tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                     and node.func.attr == "getfixturevalue" and node.args
                     and isinstance(node.args[0], ast.Constant)
                     and isinstance(node.args[0].value, str))


def _spawns(obj: Any) -> bool:
    functions = _functions(obj)
    if not functions or TESTS not in Path(functions[0].__code__.co_filename).parents:
        return False  # xerolink's own code, pytest, the stdlib: the runtime guard's job
    key = (functions[0].__code__.co_filename, obj.__qualname__)
    if key in _verdicts:
        return _verdicts[key]
    _verdicts[key] = False  # a helper that calls itself
    names = set().union(*(_names(f) for f in functions))
    scope = functions[0].__globals__
    verdict = bool(names & SPAWNING) or any(
        _spawns(scope[name]) for name in names
        if name in scope and (inspect.isfunction(scope[name]) or inspect.isclass(scope[name])))
    _verdicts[key] = verdict
    return verdict


def _functions(obj: Any) -> list[Any]:
    """The functions whose code is ``obj``'s: itself, or a class's methods. Read through
    their code objects, not their module's name: conftest files share the name
    ``conftest``, so sys.modules holds only the last one imported."""
    if inspect.isfunction(obj):
        return [inspect.unwrap(obj)]
    if inspect.isclass(obj):
        members = [getattr(m, "fget", m) for m in vars(obj).values()]
        members = [getattr(m, "__func__", m) for m in members]
        return [m for m in members if inspect.isfunction(m)]
    return []


def _names(function: Any) -> frozenset[str]:
    return _names_in(getattr(function, "__code__", None) or function)


@functools.cache
def _names_in(code: Any) -> frozenset[str]:
    tree = _tree(code)
    if tree is None:
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return frozenset(names)


collected = {"all": 0, "e2e": 0}  # before -m chooses: the whole collection's tiers


# Tests whose wall-clock budgets (ready in 10 s, a signal within a window, a minute
# limit waited out) broke under a parallel run's own load in CI rehearsals: marked
# ``serial``; CI runs them after the rest, two at a time (.ci/run says why that is safe).
SERIAL = frozenset({
    "tests/sandbox/test_serve_command.py::"
    "test_serve_10000_contacts_is_ready_in_10s_and_pages_1000_in_half_a_second",
    "tests/reliability/test_ctrl_c_at_start.py::"
    "test_ctrl_c_during_start_up_prints_interrupted_not_a_traceback",
    "tests/reliability/test_faults.py::test_minute_and_concurrent_limits_are_waited_out",
    "tests/reliability/test_concurrency.py::test_refresh_all_reads_its_id_batches_at_once",
    "tests/reliability/test_interrupted_create.py::"
    "test_ctrl_c_says_interrupted_and_a_rerun_after_the_window_finds_the_invoice",
})


def mark_tiers(items: list[pytest.Item]) -> None:
    fingerprint = _fingerprint()  # taken before reading any source for a verdict
    verdicts = _known_verdicts(fingerprint)
    learnt = False
    for item in items:
        if item.nodeid not in verdicts:
            verdicts[item.nodeid], learnt = is_e2e(item), True
        if verdicts[item.nodeid]:
            item.add_marker(pytest.mark.e2e)
        if item.nodeid in SERIAL:
            item.add_marker(pytest.mark.serial)
    collected["all"] = len(items)
    collected["e2e"] = sum(1 for item in items if item.get_closest_marker("e2e"))
    if learnt:
        _keep_verdicts(verdicts, fingerprint)


# The verdicts of the last collection, kept while no file under tests/ has changed:
# reading the sources is two seconds of each worker's collection, and every worker of
# every run came to the same answer. Kept outside the checkout, one file per checkout.
def _fingerprint() -> str:
    import hashlib

    digest = hashlib.sha256(str(TESTS).encode())
    for path in sorted(TESTS.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            try:
                stat = path.stat()
            except OSError:  # gone since listed, or a dangling link (an editor's lock)
                continue
            digest.update(f"{path.relative_to(TESTS)}:{stat.st_mtime_ns}:{stat.st_size};"
                          .encode())
    return digest.hexdigest()


def kept_between_runs() -> Path | None:
    """This user's own folder in the temp folder, for what the suite keeps from one run
    to the next (the tiers' verdicts, the OpenAPI spec's parse): made 0700, and used
    only while it is a folder of this user's that nobody else can write to. Otherwise
    nothing is kept: what is found there decides what tests run and what they hold
    Xero's answers to."""
    import stat
    import tempfile

    uid = os.getuid()
    folder = Path(tempfile.gettempdir()) / f"xerolink-tests-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        return None
    return folder


def collect_first() -> int | None:
    """In a parallel run, let one worker collect before the others. They start together,
    and in a new clone each would rewrite every test module's asserts, compile xerolink
    and learn the tiers on its own: four times the same five seconds on two cores. The
    first holds a lock (the descriptor returned, for ``done_collecting``) while it
    collects; the others wait for it, a minute at most, then read what it wrote."""
    import fcntl
    import time

    folder = kept_between_runs() if os.environ.get("PYTEST_XDIST_WORKER") else None
    if folder is None:
        return None
    name = f"collecting-{_checkout()}.lock"
    try:
        descriptor = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return descriptor
    except OSError:
        pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            break
        except OSError:
            time.sleep(0.05)
    os.close(descriptor)
    return None


def done_collecting(descriptor: int | None) -> None:
    if descriptor is not None:
        os.close(descriptor)  # and with it the lock


def kept(name: str) -> Any:
    """What ``keep`` kept under ``name`` (JSON), or None."""
    folder = kept_between_runs()
    try:
        return None if folder is None else json.loads((folder / name).read_bytes())
    except (OSError, ValueError):
        return None


def keep(name: str, data: Any) -> None:
    """Keep ``data`` as JSON under ``name``, whole or not at all (a full disk, or no
    folder of the user's own: worked out again next time)."""
    folder = kept_between_runs()
    if folder is None:
        return
    target = folder / name
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(data))
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)


def _checkout() -> str:
    """This checkout's name among the kept files: a digest of its tests folder's path."""
    import hashlib

    return hashlib.sha256(str(TESTS).encode()).hexdigest()[:16]


def _verdicts_name() -> str:
    return f"tiers-{_checkout()}.json"


def _known_verdicts(fingerprint: str) -> dict[str, bool]:
    kept_verdicts = kept(_verdicts_name())
    if not isinstance(kept_verdicts, dict) or kept_verdicts.get("fingerprint") != fingerprint:
        return {}
    verdicts = kept_verdicts.get("verdicts")
    return verdicts if isinstance(verdicts, dict) else {}


def _keep_verdicts(verdicts: dict[str, bool], fingerprint: str) -> None:
    keep(_verdicts_name(), {"fingerprint": fingerprint, "verdicts": verdicts})


def spread_longest(items: list[pytest.Item]) -> None:
    """Share the longest tests out among the workers before anything else, by what the
    last whole run measured (schedule.json, scripts/tier_durations.py --schedule).
    pytest-xdist (--dist worksteal) hands each worker an equal, contiguous range of the
    tests and lets an idle one take the second half of the longest queue left. So each
    worker's range starts with its share of the long tests, dealt longest first to the
    worker with the least so far, and is filled up with the short ones, in the order
    collected: the long tests all start at once, none waits behind another, and the
    short ones balance the end. Tests that share a fixture set up once per module,
    class or package go to one worker together: on two, each would set it up again (the
    benchmark runner's small run is twenty seconds of processes)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if workers < 2:
        return
    measured = _measured()
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_unit(item), []).append(item)
    took = {key: sum(measured.get(i.nodeid, 0.0) for i in unit) for key, unit in units.items()}
    sizes, left = [], len(items)
    for node in range(workers):  # worksteal's split: what is left, shared evenly
        sizes.append(left // (workers - node))
        left -= sizes[-1]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    dealt: set[str] = set()
    for key in sorted((k for k in units if took[k] > 0), key=lambda k: -took[k]):
        room = [w for w in range(workers) if len(shares[w]) + len(units[key]) <= sizes[w]]
        if room:
            worker = min(room, key=lambda w: loads[w])
            shares[worker] += units[key]
            loads[worker] += took[key]
            dealt.add(key)
    rest = iter([item for item in items if _unit(item) not in dealt])
    for worker in range(workers):
        shares[worker] += [next(rest) for _ in range(sizes[worker] - len(shares[worker]))]
    items[:] = [item for share in shares for item in share]


def _unit(item: pytest.Item) -> str:
    """What must run on one worker with this test: the module (or package) whose
    fixture it shares with others, or the test alone."""
    info = getattr(item, "_fixtureinfo", None)
    for definitions in (info.name2fixturedefs.values() if info else ()):
        scope = definitions[-1].scope if definitions else "function"
        if scope in ("class", "module"):
            return item.nodeid.split("::")[0]
        if scope == "package":
            return definitions[-1].baseid
    return item.nodeid


@functools.cache
def _measured() -> dict[str, float]:
    path = TESTS / "schedule.json"
    found: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}
    return found


# -- guards ------------------------------------------------------------------------

def _is_loopback(address: Any) -> bool:
    host = str(address[0]) if isinstance(address, tuple) else str(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a name: connect() is given addresses, so refuse it


def _guarded(original: Any) -> Any:
    def call(self: socket.socket, address: Any, *rest: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            _blocked.append(f"{original.__name__} to {address!r}")
            raise OSError(101, f"tests reach only loopback addresses, not {address!r}")
        return original(self, address, *rest)

    call.__name__ = original.__name__
    call.guarded = True  # type: ignore[attr-defined]
    return call


def block_non_loopback() -> None:
    """Refuse every connection (and datagram, and name lookup) off loopback."""
    if getattr(socket.socket.connect, "guarded", False):
        return
    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, _guarded(getattr(socket.socket, name)))
    original_sendto = socket.socket.sendto

    def sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        address = args[-1]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            _blocked.append(f"sendto {address!r}")
            raise OSError(101, f"tests reach only loopback addresses, not {address!r}")
        return original_sendto(self, data, *args)

    socket.socket.sendto = sendto  # type: ignore[method-assign]
    original_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "", b"") and not _is_loopback((host.decode() if
                                                              isinstance(host, bytes) else host,)):
            _blocked.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no name but localhost, "
                                                     f"not {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def blocked_since(start: int) -> list[str]:
    return _blocked[start:]


def blocked_count() -> int:
    return len(_blocked)


def refuse_processes() -> Any:
    """The fast tier: starting a process fails, naming the fix. Returns the undo."""
    popen_init, fork = subprocess.Popen.__init__, os.fork

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(
            "a test in the fast tier started a process; mark it @pytest.mark.e2e "
            "(tests/tiers.py)")

    def undo() -> None:
        subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]
        os.fork = fork

    subprocess.Popen.__init__ = refuse  # type: ignore[method-assign]
    os.fork = refuse
    return undo


def fast_tier_selected(config: pytest.Config) -> bool:
    expression = " ".join(str(config.getoption("markexpr") or "").split())
    return expression == "not e2e"

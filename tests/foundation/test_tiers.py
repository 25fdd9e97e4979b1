"""The fast tier and its guards (tests/tiers.py): most tests are in it, what starts a
process is not, and no test reaches past loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

import tiers


def _runs_the_cli() -> None:
    subprocess.run([sys.executable, "-m", "xerolink", "--version"], check=True)


def _calls_a_helper_that_does() -> None:
    _runs_the_cli()


def _in_process(cli) -> None:  # type: ignore[no-untyped-def]
    cli("--version")


def test_what_starts_a_process_is_e2e_even_through_a_helper() -> None:
    assert tiers._spawns(_runs_the_cli)
    assert tiers._spawns(_calls_a_helper_that_does)
    assert not tiers._spawns(_in_process)


def test_the_fast_tier_holds_most_of_the_suite(request) -> None:
    if request.config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        pytest.skip("the share is of the whole suite: run pytest without paths")
    fast = tiers.collected["all"] - tiers.collected["e2e"]
    assert fast >= tiers.FAST_SHARE * tiers.collected["all"], tiers.collected


@pytest.mark.parametrize("address", [("192.0.2.1", 443), ("2001:db8::1", 443, 0, 0)])
def test_a_connection_off_loopback_is_refused_and_remembered(address) -> None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    start = tiers.blocked_count()
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
        sock.connect(address)
    assert tiers.blocked_since(start), "the guard let it through"
    del tiers._blocked[start:]  # seen: this test's own teardown need not fail it


def test_a_name_other_than_localhost_is_not_looked_up() -> None:
    start = tiers.blocked_count()
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("xero.com", 443)
    assert socket.getaddrinfo("localhost", 80)
    assert tiers.blocked_since(start) == ["getaddrinfo 'xero.com'"]
    del tiers._blocked[start:]


def test_in_the_fast_tier_starting_a_process_fails_and_says_how_to_mark_it() -> None:
    undo = tiers.refuse_processes()
    try:
        with pytest.raises(AssertionError, match=r"mark it @pytest\.mark\.e2e"):
            subprocess.run(["true"], check=False)
    finally:
        undo()


def test_what_runs_keep_is_kept_only_in_a_folder_of_this_users_own(tmp_path,
                                                                   monkeypatch) -> None:
    """The verdicts and the spec's parse decide which tests run and what Xero's answers
    are held to: they are kept in a 0700 folder of this user's, and not at all where
    that folder is open to others or is not a folder."""
    import os
    import stat
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = tiers.kept_between_runs()
    assert folder == tmp_path / f"xerolink-tests-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    folder.chmod(0o777)
    assert tiers.kept_between_runs() is None
    folder.rmdir()
    folder.write_text("not a folder")
    assert tiers.kept_between_runs() is None


class _Item:
    """What spread_longest reads of a test: its id, and the fixtures it uses."""

    def __init__(self, nodeid: str, shared: str | None = None) -> None:
        self.nodeid = nodeid
        definition = type("Definition", (), {"scope": "module", "baseid": ""})()
        self._fixtureinfo = type("Info", (), {
            "name2fixturedefs": {"shared": [definition]} if shared else {}})()


def test_the_longest_tests_start_first_on_the_least_loaded_worker(monkeypatch) -> None:
    """Each worker's range (worksteal's even split) starts with its share of the long
    tests, dealt longest first to the worker with the least; a module's shared fixture
    keeps its tests on one worker; the short ones fill the ranges in collected order."""
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setattr(tiers, "_measured", lambda: {
        "a.py::long": 100.0, "b.py::mid": 60.0, "c.py::one": 30.0, "c.py::two": 30.0,
        "d.py::short": 1.0})
    items = [_Item(f"s.py::quick{n}") for n in range(4)] + [
        _Item("d.py::short"), _Item("c.py::one", shared="c"), _Item("a.py::long"),
        _Item("c.py::two", shared="c"), _Item("b.py::mid")]
    tiers.spread_longest(items)  # type: ignore[arg-type]
    order = [i.nodeid for i in items]
    assert order[:4] == ["a.py::long", "d.py::short", "s.py::quick0", "s.py::quick1"]
    assert order[4:] == ["c.py::one", "c.py::two", "b.py::mid", "s.py::quick2",
                         "s.py::quick3"]
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    tiers.spread_longest(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == order, "one process: as collected"

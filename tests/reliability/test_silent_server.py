"""A server that accepts a connection and never answers cannot hold a command: every
call has a connect and a read timeout, a timed-out call is tried once more, then the
command exits 7 with one line."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from xerolink.store.sqlite import SqliteStore


@pytest.fixture
def silent() -> Iterator[str]:
    """Accepts connections, reads what is sent, never writes a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def _point_at(home, url: str) -> None:
    store = SqliteStore(home / "profiles" / "default" / "xerolink.db")
    connection = store.active_connection()
    store.save_connection(dataclasses.replace(connection, xero_url=url))
    store.close()


@pytest.mark.timeout(60)
def test_a_silent_xero_is_given_up_on_with_exit_7(cli, connected, home, silent) -> None:
    _point_at(home, silent)
    assert cli("config", "set", "read_timeout", "1")[0] == 0
    started = time.monotonic()
    code, _, err = cli("search", "anyone")
    assert code == 7, err
    assert time.monotonic() - started < 10
    assert "did not answer GET Contacts within 1 s (2 tries)" in err
    assert err.count("\n") == 1


@pytest.mark.timeout(60)
def test_a_silent_identity_service_is_given_up_on_too(cli, connected, home, silent) -> None:
    import json

    _point_at(home, silent)
    tokens = home / "profiles" / "default" / "tokens.json"
    data = json.loads(tokens.read_text())
    for entry in data.values():
        entry["expires_at"] = 0  # the next call refreshes first: at the identity service
    tokens.write_text(json.dumps(data))
    assert cli("config", "set", "read_timeout", "1")[0] == 0
    started = time.monotonic()
    code, _, err = cli("search", "anyone")
    assert code == 7, err
    assert time.monotonic() - started < 10


def test_the_default_timeouts_give_up_within_three_minutes() -> None:
    from xerolink.config import SETTINGS
    from xerolink.xero.http import RetryPolicy

    policy = RetryPolicy()
    connect, read = SETTINGS["connect_timeout"].default, SETTINGS["read_timeout"].default
    worst = policy.timeout_attempts * (connect + read) + policy.max_delay
    assert worst <= 180


@pytest.mark.parametrize("value", ["0", "nan", "inf", "-5", "601", "abc"])
def test_timeouts_must_be_sensible(cli, value) -> None:
    code, _, err = cli("config", "set", "--", "read_timeout", value)
    assert code == 2, err
    assert "whole number of seconds from 1 to 600" in err, err

"""A PostgreSQL server for the session, a fresh database per test, and three logins:
alice (may create roles: she runs team init), bob and carol (plain logins)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from pg_server import PgServer, unavailable_reason

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PgServer()
    for login in ("alice", "bob", "carol"):
        server.sql(f"CREATE ROLE {login} LOGIN" + (" CREATEROLE" if login == "alice" else ""))
    yield server
    server.stop()


@pytest.fixture
def team_db(pg) -> str:
    """A fresh database owned by alice; returns its name."""
    name = f"team{next(_numbers)}"
    pg.sql(f"CREATE DATABASE {name} OWNER alice")
    return name

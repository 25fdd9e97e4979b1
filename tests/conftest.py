"""Fixtures: a fresh sandbox per test (cheap at the default size), an isolated home,
the CLI run in-process, and a profile connected to the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from support import connect_profile, running_sandbox
from xerolink.cli import main
from xerolink.sandbox import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with running_sandbox() as server:
        yield server


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
    return Cli(capsys)


@pytest.fixture
def connected(sandbox, home, monkeypatch) -> str:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    return connect_profile(sandbox, home)

"""A connected profile for the linking tests, and the CLI run in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from support import connect_profile
from xerolink.cli import main


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

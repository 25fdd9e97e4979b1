"""Fixtures: a fresh sandbox per test (cheap at the default size), an isolated home."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xerolink.sandbox import SandboxOptions, SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(seed=7, contacts=60))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path, monkeypatch) -> object:
    """An isolated XEROLINK_HOME and a known current user for CLI tests."""
    root = tmp_path / "home"
    monkeypatch.setenv("XEROLINK_HOME", str(root))
    monkeypatch.setenv("XEROLINK_USER", "alice")
    monkeypatch.delenv("XEROLINK_PROFILE", raising=False)
    monkeypatch.delenv("XEROLINK_NOW", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root

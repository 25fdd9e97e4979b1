"""Fixtures for the CRM update service: a sandbox with its Salesmate slice, a profile
connected to both, and push fields chosen."""

from __future__ import annotations

from typing import Any

import pytest

from support import connect_profile
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer

FIELDS = (("xero_contact", "textCustomField1"), ("outstanding_invoices", "decimalCustomField1"),
          ("outstanding_invoices_count", "numberCustomField1"))


def salesmate_control(server: Any, method: str, path: str,
                      data: dict[str, Any] | None = None) -> Any:
    return sandbox_control(server.base_url, method, f"salesmate{path}",
                           data if method == "POST" else None)


def crm_calls(server: SandboxServer) -> dict[str, int]:
    calls: dict[str, int] = salesmate_control(server, "GET", "")["calls"]
    return calls


def xero_calls(server: SandboxServer) -> int:
    total: int = sandbox_control(server.base_url, "GET", "stats")["total"]
    return total


def reset_counts(server: SandboxServer) -> None:
    salesmate_control(server, "POST", "/stats/reset")
    sandbox_control(server.base_url, "POST", "stats/reset")


@pytest.fixture
def crm_sandbox(request, shared_sandboxes) -> Any:
    """The sandbox (options changed by indirect parametrisation)."""
    return shared_sandboxes.get(crm="salesmate", **getattr(request, "param", {}))


@pytest.fixture
def salesmate(crm_sandbox, home, monkeypatch, cli) -> SandboxServer:
    """A profile connected to the sandbox's organisation and its Salesmate slice, with
    three push fields chosen."""
    connect_both(crm_sandbox, home, monkeypatch, cli)
    return crm_sandbox


def connect_both(server: Any, home: Any, monkeypatch: Any, cli: Any) -> None:
    """The profile at ``home`` connected to the server's first organisation and to its
    Salesmate slice, with the three push fields chosen."""
    connect_profile(server, home)
    token = salesmate_control(server, "GET", "")["access_token"]
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                       "--salesmate-url", server.base_url)
    assert code == 0, err
    for figure, field in FIELDS:
        assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0

"""crm pull and crm push use the CRM account's token, an admin's credential: once a
Xero organisation is connected, only its admins run them; everyone granted reads what
was pulled. And the stored refused-fields setting is taken only as a list of names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import connect_profile, running_sandbox
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer
from xerolink.store.sqlite import SqliteStore

REFUSED = "crm.refused_fields.salesmate"


def salesmate_calls(server: SandboxServer) -> int:
    return int(sandbox_control(server.base_url, "GET", "salesmate")["total_calls"])


@pytest.fixture
def salesmate(home, monkeypatch, cli) -> Iterator[SandboxServer]:
    """alice connected Xero (so she is its admin) and Salesmate."""
    with running_sandbox(crm="salesmate") as server:
        connect_profile(server, home)
        token = sandbox_control(server.base_url, "GET", "salesmate")["access_token"]
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
        code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                           "--salesmate-url", server.base_url)
        assert code == 0, err
        yield server


class store:  # lower case: read as a call, store(home).get_setting(...)
    """The profile's store, opened for one call and closed."""

    def __init__(self, home: Any) -> None:
        self.path = Path(home) / "profiles/default/xerolink.db"

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            opened = SqliteStore(self.path)
            try:
                return getattr(opened, name)(*args)
            finally:
                opened.close()
        return call


def test_a_viewer_neither_pulls_nor_pushes_and_reads_what_an_admin_pulled(
        salesmate, cli, home, monkeypatch) -> None:
    assert cli("access", "grant", "bob")[0] == 0
    assert cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    before = salesmate_calls(salesmate)
    for command in (("crm", "pull"), ("crm", "pull", "--full"), ("crm", "push"),
                    ("crm", "push", "--dry-run")):
        code, out, err = cli(*command)
        assert code == 4, (command, err)
        assert f"only an admin runs `xerolink {' '.join(command[:2])}`" in err
        assert "xerolink access grant bob --admin" in err and len(err.strip().splitlines()) == 1
        assert out == ""
    assert salesmate_calls(salesmate) == before, "refused before any call to Salesmate"
    assert store(home).source_pulled_at("salesmate") is None, "nothing was pulled"
    # Nobody without access gets further than before: the access hint comes first.
    monkeypatch.setenv("XEROLINK_USER", "carol")
    code, _, err = cli("crm", "pull")
    assert code == 4 and "xerolink access grant carol" in err and "--admin" not in err
    # The admin pulls and pushes; the viewer reads, links and sees the CRM source.
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli.json("crm", "pull")["contacts"]["written"] == 60
    monkeypatch.setenv("XEROLINK_USER", "bob")
    assert len(cli.json("crm", "list", "contacts")) == 60
    assert cli.json("crm", "show", "contact:1")["ref"] == "contact:1"
    assert cli.json("link", "--auto")["linked"]
    assert cli("refresh", "--all")[0] == 0
    assert cli.json("status", "--offline")["crm_source"]["records"]["contact"]["live"] == 60
    check = next(c for c in cli.json("doctor", "--offline") if c["check"] == "crm source")
    assert check["status"] == "ok" and "an admin runs crm pull" in check["detail"]
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli.json("crm", "push")["records_written"]["contact"]


def test_before_xero_is_connected_whoever_connected_the_crm_pulls(home, cli,
                                                                  monkeypatch) -> None:
    """Single-user use, Salesmate first: no organisation, nobody on record, nothing to
    enforce (as config set)."""
    with running_sandbox(crm="salesmate") as server:
        token = sandbox_control(server.base_url, "GET", "salesmate")["access_token"]
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
        assert cli("crm", "connect", "salesmate", "--linkname", "demo",
                   "--salesmate-url", server.base_url)[0] == 0
        assert cli.json("crm", "pull")["contacts"]["written"] == 60


@pytest.mark.parametrize("stored", ["5", "null", '{"deal.participants": 1}', '[1, 2]',
                                    '"deal.participants"', "not json"])
def test_a_refused_fields_setting_that_is_not_a_list_of_names_is_ignored(
        salesmate, cli, home, stored) -> None:
    """What Salesmate refused is a cache (losing it costs one call): a value that is not
    a list of field names is ignored, and the next pull stores a list again."""
    cli.json("crm", "pull")
    assert cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")[0] == 0
    store(home).set_setting(REFUSED, stored)
    code, _, err = cli("crm", "push", "--dry-run")
    assert code == 0, err
    code, _, err = cli("crm", "pull")
    assert code == 0, err
    assert json.loads(store(home).get_setting(REFUSED) or "") == []
    assert cli("crm", "push")[0] == 0

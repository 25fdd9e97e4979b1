"""Access settings hold for every command; one organisation's data never shows in
another's; files are private."""

from __future__ import annotations

import stat

import pytest

from support import connect_profile, crm_csv_from_sandbox

ADMIN_ONLY = [["access", "list"], ["access", "grant", "carol"], ["access", "revoke", "carol"],
              ["remove"]]  # remove last: it disconnects


def _viewer_commands(doc: str, xero_id: str, tmp) -> list[list[str]]:
    (tmp / "more.csv").write_text("id,first_name\nm1,Moana\n")
    return [
        ["crm", "import", str(tmp / "more.csv")],
        ["status", "--offline"], ["links"], ["suggest", "c1"], ["search", "a"],
        ["link", "c3", xero_id, "--replace"], ["unlink", "c3"], ["link", "--auto", "--dry-run"],
        ["create-contact", "m1", "--yes"], ["summary", "c1"], ["refresh", "c1"],
        ["details", "c1"], ["view", "c1"], ["view", doc],
        ["create-quote", "c1", "--line", "A;1;1"], ["create-invoice", "c1", "--line", "A;1;1"],
        ["create-bill", "c1", "--line", "A;1;1"], ["deal", "suggest", "d1"],
        ["deal", "attach", "d1", doc], ["deal", "docs", "d1"], ["deal", "detach", "d1", doc],
        ["crm", "list"], ["crm", "show", "c1"], ["crm", "remove", "m1", "--yes"],
    ]


@pytest.fixture
def world(cli, connected, sandbox, tmp_path):
    rows = crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=8)
    text = (tmp_path / "crm.csv").read_text().replace("\n1,", "\nc1,").replace("\n3,", "\nc3,")
    (tmp_path / "crm.csv").write_text(text)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    (tmp_path / "deals.csv").write_text("id,title,primary_contact_id\nd1,Deal,c1\n")
    assert cli("crm", "import", str(tmp_path / "deals.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    doc = cli.json("details", "c1")[0]["document_id"]
    xero_id = next(iter(sandbox.sandbox.tenants[connected].contacts))
    assert cli("access", "grant", "bob")[0] == 0
    return doc, xero_id, rows


@pytest.mark.parametrize("user", ["alice", "bob", "mallory"])
def test_the_access_matrix(cli, world, tmp_path, monkeypatch, user) -> None:
    doc, xero_id, _ = world
    monkeypatch.setenv("XEROLINK_USER", user)
    outcomes = {}
    for args in _viewer_commands(doc, xero_id, tmp_path) + ADMIN_ONLY:
        code, _, err = cli(*args)
        outcomes[" ".join(args)] = code
        if user == "mallory":
            assert code == 4, (args, err)
            assert err.endswith("ask an admin (xerolink access grant mallory)\n") or \
                "only an admin" in err
        elif user == "bob" and args in ADMIN_ONLY:
            assert code == 4, (args, err)
        else:
            assert code == 0, (user, args, err)
    assert outcomes


def test_commands_without_xero_data_are_open_to_everyone(cli, world, monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_USER", "mallory")
    assert cli("config", "list")[0] == 0
    assert cli("doctor", "--offline")[0] in (0, 10)
    assert cli("--version")[0] == 0


def test_one_organisations_links_and_cache_never_show_in_anothers(cli, sandbox, home,
                                                                  monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    first = connect_profile(sandbox, home, tenant_index=0)
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=10)
    cli("crm", "import", str(tmp_path / "crm.csv"))
    cli("link", "--auto")
    links = cli.json("links")
    assert links
    ref = links[0]["crm"]
    summary_first = cli.json("summary", ref)
    assert summary_first["tenant_id"] == first
    second = connect_profile(sandbox, home, tenant_index=1)
    assert second != first
    assert cli.json("links") == []
    code, _, err = cli("summary", ref)
    assert code == 5 and "not linked" in err
    assert cli("details", ref)[0] == 5
    assert all(row["xero_contact_id"] is None for row in cli.json("crm", "list"))
    assert cli.json("link", "--auto", "--dry-run")["already_linked"] == 0
    connect_profile(sandbox, home, tenant_index=0)
    assert cli.json("links") == links
    assert cli.json("summary", ref)["tenant_id"] == first


def test_store_config_token_and_lock_files_are_private(cli, world, home) -> None:
    cli("config", "set", "sales_account", "200")
    folder = home / "profiles" / "default"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("xerolink.db", "config.toml", "tokens.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    for lock in (folder / "locks").glob("*.lock"):
        assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0, lock


@pytest.mark.parametrize("key,value", [("sales_account", "999"), ("xero_url",
                                        "http://127.0.0.1:9"), ("token_store", "keyring"),
                                       ("max_wait", "5"), ("read_timeout", "5")])
def test_only_admins_change_settings_everyone_shares(cli, world, monkeypatch, home, key,
                                                     value) -> None:
    config = home / "profiles" / "default" / "config.toml"
    before = config.read_bytes() if config.exists() else None
    for user in ("bob", "mallory"):  # a viewer and a stranger
        monkeypatch.setenv("XEROLINK_USER", user)
        assert cli("config", "set", key, value)[0] == 4
        assert cli("config", "unset", "sales_account")[0] == 4
        assert (config.read_bytes() if config.exists() else None) == before
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli("config", "set", key, value)[0] == 0


def test_revoking_someone_without_access_says_nothing_was_revoked(cli, world) -> None:
    code, _, err = cli("access", "revoke", "nobody")
    assert code == 5 and "nothing was revoked" in err
    assert cli("access", "revoke", "bob")[0] == 0

"""Access settings hold for every command; one organisation's data never shows in
another's; files are private."""

from __future__ import annotations

import stat

import pytest

from support import connect_profile, control, crm_csv_from_sandbox

ADMIN_ONLY = [["access", "list"], ["access", "grant", "carol"], ["access", "revoke", "carol"],
              ["access", "grant", "carol", "--send"], ["access", "revoke", "erin", "--send"],
              ["remove"]]  # remove last: it disconnects
SEND_HINT = "ask an admin (xerolink access grant {user} --send)\n"


def _draft_invoice(sandbox, tenant: str) -> str:
    """A sales invoice the sandbox would approve: a draft with a due date and accounts."""
    data = control(sandbox.base_url, "GET", f"data?tenant={tenant}&only=invoices")
    return next(i["InvoiceID"] for i in data["invoices"] if i["Type"] == "ACCREC"
                and i["Status"] == "DRAFT" and i.get("DueDate")
                and all(line.get("AccountCode") for line in i["LineItems"]))


def _status(sandbox, tenant: str, invoice_id: str) -> str:
    data = control(sandbox.base_url, "GET", f"data?tenant={tenant}&only=invoices")
    return next(i["Status"] for i in data["invoices"] if i["InvoiceID"] == invoice_id)


def _writes(sandbox) -> dict[str, int]:
    """The calls since the last reset that could change something in Xero."""
    stats = control(sandbox.base_url, "GET", "stats")["by_endpoint"]
    return {k: n for k, n in stats.items() if not k.startswith("GET")}


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
    assert cli("access", "grant", "erin", "--send")[0] == 0
    return doc, xero_id, rows


@pytest.mark.parametrize("user", ["alice", "bob", "erin", "mallory"])
def test_the_access_matrix(cli, world, sandbox, connected, tmp_path, monkeypatch,
                           user) -> None:
    """alice is an admin, bob a viewer, erin a viewer with the right to send, mallory
    nobody: approving needs the right to send, managing access an admin."""
    doc, xero_id, _ = world
    draft = _draft_invoice(sandbox, connected)
    senders_only = [["approve", draft, "--yes"]]
    monkeypatch.setenv("XEROLINK_USER", user)
    outcomes = {}
    for args in _viewer_commands(doc, xero_id, tmp_path) + senders_only + ADMIN_ONLY:
        code, _, err = cli(*args)
        outcomes[" ".join(args)] = code
        if user == "mallory":
            assert code == 4, (args, err)
            assert err.endswith("ask an admin (xerolink access grant mallory)\n") or \
                "only an admin" in err
        elif user in ("bob", "erin") and args in ADMIN_ONLY:
            assert code == 4 and "only an admin" in err, (args, err)
        elif user == "bob" and args in senders_only:
            assert code == 4 and err.endswith(SEND_HINT.format(user="bob")), (args, err)
        else:
            assert code == 0, (user, args, err)
    assert _status(sandbox, connected, draft) == (
        "AUTHORISED" if user in ("alice", "erin") else "DRAFT")


def test_a_viewer_without_the_right_to_send_approves_nothing(cli, world, sandbox, connected,
                                                             monkeypatch) -> None:
    """Refused before any call to Xero, a dry run too; the right granted, the same
    command approves; taken away, it is refused again while viewing goes on."""
    first = _draft_invoice(sandbox, connected)
    monkeypatch.setenv("XEROLINK_USER", "bob")
    control(sandbox.base_url, "POST", "stats/reset")
    for args in (["approve", first, "--yes"], ["approve", first, "--dry-run"],
                 ["approve", first, "--dry-run", "--json"]):
        code, out, err = cli(*args)
        assert code == 4 and out == "", args
        assert err == ("error: you do not have the right to approve or send documents of "
                       "Kauri Bay Trading Ltd; " + SEND_HINT.format(user="bob")), args
    assert control(sandbox.base_url, "GET", "stats")["total"] == 0  # not even a read
    assert _status(sandbox, connected, first) == "DRAFT"
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli("access", "grant", "bob", "--send")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    control(sandbox.base_url, "POST", "stats/reset")
    assert cli("approve", first, "--yes")[0] == 0
    assert _status(sandbox, connected, first) == "AUTHORISED" and _writes(sandbox)
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli("access", "revoke", "bob", "--send")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    second = _draft_invoice(sandbox, connected)
    control(sandbox.base_url, "POST", "stats/reset")
    code, _, err = cli("approve", second, "--yes")
    assert code == 4 and err.endswith(SEND_HINT.format(user="bob"))
    assert _writes(sandbox) == {} and _status(sandbox, connected, second) == "DRAFT"
    assert cli("details", "c1")[0] == 0, "a viewer still"


def test_a_grant_never_takes_an_admin_down(cli, world) -> None:
    """`grant --send` to an admin, or a plain grant (the last admin granting themselves
    used to become a viewer, leaving nobody to manage access), changes nothing."""
    assert cli("access", "grant", "dana", "--admin")[0] == 0
    before = _rights(cli)
    for args in (["dana", "--send"], ["bob", "dana"], ["alice"]):
        code, out, err = cli("access", "grant", *args)
        assert code == 2 and out == "" and "nothing was changed" in err, (args, err)
    assert "dana is an admin of Kauri Bay Trading Ltd and admins always have the right to " \
        "send" in cli("access", "grant", "dana", "--send")[2]
    assert "granting without --admin does not make them a viewer" in cli(
        "access", "grant", "alice")[2]
    assert _rights(cli) == before
    assert cli("access", "revoke", "dana")[0] == 0
    assert cli("access", "grant", "dana")[0] == 0 and _rights(cli)["dana"] == ("viewer", False)


def _rights(cli) -> dict[str, tuple[str, bool]]:
    return {row["user"]: (row["role"], row["may_send"]) for row in cli.json("access", "list")}


def test_only_an_admin_gives_or_takes_the_right_to_send(cli, world, monkeypatch) -> None:
    before = _rights(cli)
    assert before == {"alice": ("admin", True), "bob": ("viewer", False),
                      "erin": ("viewer", True)}
    for user, args in [("bob", ["access", "grant", "bob", "--send"]),
                       ("bob", ["access", "grant", "bob", "--admin"]),
                       ("erin", ["access", "grant", "bob", "--send"]),
                       ("erin", ["access", "revoke", "erin", "--send"]),
                       ("mallory", ["access", "grant", "mallory", "--send"])]:
        monkeypatch.setenv("XEROLINK_USER", user)
        code, out, err = cli(*args)
        assert code == 4 and out == "" and "only an admin" in err, (user, args, err)
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert _rights(cli) == before


def test_the_right_to_send_is_kept_by_a_regrant_and_goes_with_access(cli, world) -> None:
    change = cli.json("access", "grant", "erin")
    assert change["send_right"] is None and change["role"] == "viewer"
    assert _rights(cli)["erin"] == ("viewer", True), "granted again without --send: kept"
    change = cli.json("access", "revoke", "erin", "--send")
    assert change == {"tenant_id": change["tenant_id"], "users": ["erin"], "role": "viewer",
                      "revoked": False, "send_right": "revoked"}
    assert _rights(cli)["erin"] == ("viewer", False)
    code, _, err = cli("access", "revoke", "erin", "--send")
    assert code == 5 and "erin had no right to send" in err and "nothing was revoked" in err
    assert cli.json("access", "grant", "erin", "--send")["send_right"] == "granted"
    assert cli("access", "revoke", "erin")[0] == 0
    assert cli("access", "grant", "erin")[0] == 0
    assert _rights(cli)["erin"] == ("viewer", False), "access revoked takes the right too"
    code, out, _ = cli("access", "grant", "frank", "--send")
    assert code == 0 and out == "Kauri Bay Trading Ltd: granted viewer access and the right " \
        "to send for frank\n"


def test_an_admins_right_to_send_cannot_be_revoked_apart(cli, world) -> None:
    before = _rights(cli)
    code, out, err = cli("access", "revoke", "erin", "alice", "--send")
    assert code == 2 and out == ""
    assert err == ("error: alice is an admin of Kauri Bay Trading Ltd and admins always have "
                   "the right to send; nothing was changed (to make them viewers: xerolink "
                   "access revoke alice, then xerolink access grant alice)\n")
    assert _rights(cli) == before, "erin's right too: nothing changed"
    code, out, _ = cli("access", "revoke", "erin", "--send")
    assert code == 0
    assert out == "Kauri Bay Trading Ltd: took the right to send from erin (they keep viewer " \
        "access)\n"


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

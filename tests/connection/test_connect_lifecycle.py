"""connect, status, remove and access, run as a new user would, against the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from support import control, running_sandbox
from xerolink.sandbox import SandboxOptions, SandboxServer
from xerolink.store.models import CrmContact, Link
from xerolink.store.sqlite import SqliteStore

KAURI, WATTLE = "Kauri Bay Trading Ltd", "Wattle & Stone Supplies Pty Ltd"


def _store(env) -> SqliteStore:
    return SqliteStore(env.home / "profiles" / "default" / "xerolink.db")


def test_connect_status_remove_and_reconnect_keep_links_per_organisation(env, sandbox) -> None:
    base = sandbox.base_url
    result = env.connect(base, "--tenant", KAURI)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Xero connected successfully",
                                          "Connection Status: Running",
                                          f"Connected Company: {KAURI}"]
    status = env.run("status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["status"], report["tenant_name"], report["verified"]) == (
        "Running", KAURI, True)
    kauri = report["tenant_id"]

    store = _store(env)
    now = datetime.now(UTC)
    store.upsert_crm_records(contacts=[CrmContact("42", "Ada", "Lovelace")], at=now)
    store.put_link(Link(kauri, "42", "xero-contact-1", "alice", now), replace=False)
    store.close()

    removed = env.run("remove", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["kept"] == {"links": 1, "deal_documents": 0, "access": 1}
    assert json.loads(removed.stdout)["revoked_at_xero"] is True
    gone = env.run("status", "--json")
    assert gone.returncode == 3 and json.loads(gone.stdout)["status"] == "Not connected"
    assert json.loads(env.keyring.read_text()) == {}, "remove deletes the stored tokens"

    again = env.connect(base, "--tenant", KAURI)
    assert again.returncode == 0, again.stderr
    store = _store(env)
    assert [link.crm_contact_id for link in store.list_links(kauri)] == ["42"]
    store.close()

    wattle = next(t.tenant_id for t in sandbox.sandbox.tenants.values() if t.name == WATTLE)
    other = env.connect(base, "--tenant", WATTLE, tenants=[wattle])  # chosen at consent
    assert other.returncode == 0, other.stderr
    store = _store(env)
    active = store.active_connection()
    assert active.tenant_name == WATTLE and store.list_links(active.tenant_id) == []
    store.close()


def test_twenty_status_processes_after_expiry_refresh_once_and_keep_the_newest(env) -> None:
    # The stored token is made to expire, rather than a short TTL waited out: with a TTL
    # of seconds, a process that starts late on a loaded machine would rightly refresh
    # the new token again once it, too, had expired.
    server = SandboxServer(SandboxOptions(seed=2, contacts=10))
    base = server.start()
    try:
        assert env.connect(base, "--tenant", KAURI).returncode == 0
        keys = json.loads(env.keyring.read_text())
        name, text = next(iter(keys.items()))
        keys[name] = json.dumps({**json.loads(text), "expires_at": 0})
        env.keyring.write_text(json.dumps(keys))
        control(base, "POST", "stats/reset")
        procs = [env.start("status", "--json") for _ in range(20)]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        for code, out, err in results:
            assert code == 0, err
            assert json.loads(out)["status"] == "Running"
        stats = control(base, "GET", "stats")
        assert stats["invalid_grant"] == 0
        assert stats["token_grants"] == {"refresh_token": 1}
        stored = json.loads(next(iter(json.loads(env.keyring.read_text()).values())))
        live = [token for token, record in server.sandbox.identity.refresh_tokens.items()
                if record.used_at is None]
        assert live == [stored["refresh_token"]], "the stored refresh token is the newest"
    finally:
        server.stop()


def _kill_the_tokens(env, base: str) -> None:
    """Revoke the profile's refresh token at the sandbox and mark its access token
    expired, as a long absence leaves them."""
    from support import form
    from xerolink.sandbox import PKCE_CLIENT_ID

    keys = json.loads(env.keyring.read_text())
    name, text = next(iter(keys.items()))
    tokens = json.loads(text)
    form(base, "/connect/revocation", {"token": tokens["refresh_token"],
                                       "client_id": PKCE_CLIENT_ID})
    tokens["expires_at"] = 0  # make xerolink want a refresh
    keys[name] = json.dumps(tokens)
    env.keyring.write_text(json.dumps(keys))


def test_a_dead_refresh_token_ends_in_expired_and_exit_3_without_looping(env, sandbox) -> None:
    base = sandbox.base_url
    assert env.connect(base, "--tenant", KAURI).returncode == 0
    _kill_the_tokens(env, base)
    control(base, "POST", "stats/reset")
    result = env.run("status")
    assert result.returncode == 3
    assert "Expired — run xerolink connect" in result.stdout
    assert control(base, "GET", "stats")["invalid_grant"] == 1
    summary = env.run("remove")
    assert summary.returncode == 0, "an admin can still remove an expired connection"


def test_connect_run_again_as_told_reconnects_where_the_connection_was_made(env, sandbox
                                                                            ) -> None:
    """Expired, status says "run xerolink connect": run as written, with no --xero-url,
    it connects to the server the connection was made with (a sandbox here), as the
    same app, and the links stay."""
    base = sandbox.base_url
    assert env.connect(base, "--tenant", KAURI).returncode == 0
    _kill_the_tokens(env, base)
    assert env.run("status").returncode == 3
    again = env.connect(base, "--tenant", KAURI, "--json", name_url=False)
    assert again.returncode == 0, again.stderr
    assert f"connecting to {base}, where this profile's connection was made" in again.stderr
    status = env.run("status", "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["xero_url"] == base
    assert json.loads(again.stdout)["connected_at"] == shown["connected_at"], "one time, "\
        "to the second, in both"


def test_access_settings_guard_every_command(env, sandbox) -> None:
    assert env.connect(sandbox.base_url, "--tenant", KAURI).returncode == 0
    stranger = env.run("status", user="mallory")
    assert stranger.returncode == 4
    assert stranger.stderr == ("error: you do not have access to Xero details in this "
                               "profile; ask an admin (xerolink access grant mallory)\n")
    for args in (["remove"], ["access", "list"], ["access", "grant", "mallory"]):
        assert env.run(*args, user="mallory").returncode == 4, args
    assert env.connect(sandbox.base_url, "--tenant", KAURI, user="mallory").returncode == 4
    assert env.run("access", "grant", "bob").returncode == 0
    assert env.run("status", "--offline", user="bob").returncode == 0
    assert env.run("remove", user="bob").returncode == 4
    assert env.run("access", "revoke", "alice").returncode == 2, "the last admin stays"
    listing = json.loads(env.run("access", "list", "--json").stdout)
    assert [(row["user"], row["role"]) for row in listing] == [("alice", "admin"),
                                                               ("bob", "viewer")]
    assert env.run("access", "revoke", "bob").returncode == 0
    assert env.run("status", "--offline", user="bob").returncode == 4


def test_several_organisations_without_a_terminal_need_tenant(env, sandbox) -> None:
    sandbox.sandbox.options.bulk_connections = True  # an Advanced-tier app
    result = env.connect(sandbox.base_url)
    assert result.returncode == 2
    assert "pass --tenant with one of" in result.stderr and KAURI in result.stderr
    assert env.run("status").returncode == 3, "nothing was connected"
    revoked = [r for r in sandbox.sandbox.identity.grants.values() if r.revoked]
    assert len(revoked) == 1, "the unused authorisation is revoked"


def test_one_organisation_per_consent_unless_bulk_connections(env, sandbox) -> None:
    from support import authorize_url, pkce_pair, request

    page = request(sandbox.base_url, "GET", authorize_url(sandbox.base_url, pkce_pair()[1])
                   .removeprefix(sandbox.base_url))[2].decode()
    assert page.count('type="radio" name="tenant"') == 2 and 'type="checkbox"' not in page
    result = env.connect(sandbox.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Connected Company: {KAURI}"


def test_a_single_chosen_organisation_needs_no_tenant_flag(env, sandbox) -> None:
    wattle = next(t for t in sandbox.sandbox.tenants.values() if t.name == WATTLE)
    result = env.connect(sandbox.base_url, tenants=[wattle.tenant_id])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Connected Company: {WATTLE}"


def test_cancelling_in_xero_changes_nothing(env, sandbox) -> None:
    result = env.connect(sandbox.base_url, allow=False)
    assert result.returncode == 3
    assert "cancelled in Xero" in result.stderr
    assert not (env.home / "profiles" / "default" / "tokens.json").exists()


def test_without_a_keyring_connect_names_the_opt_in_and_stores_nothing(env, sandbox) -> None:
    env.vars["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    result = env.run("connect", "--xero-url", sandbox.base_url, "--no-browser")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: no OS keyring is available")
    assert "XEROLINK_TOKEN_STORE=file" in lines[-1]
    assert "Traceback" not in result.stderr
    store = _store(env)
    assert store.active_connection() is None
    store.close()
    filed = env.connect(sandbox.base_url, "--tenant", KAURI)
    assert filed.returncode == 3, "still refused without the opt-in"
    env.vars["XEROLINK_TOKEN_STORE"] = "file"
    result = env.connect(sandbox.base_url, "--tenant", KAURI)
    assert result.returncode == 0, result.stderr
    token_file = env.home / "profiles" / "default" / "tokens.json"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_custom_connection_reads_its_secret_from_stdin_and_renews(env, sandbox) -> None:
    base = sandbox.base_url
    custom = control(base, "GET", "apps")["custom_connection"]
    result = env.run("connect", "--custom-connection", "--xero-url", base, "--client-id",
                     custom["client_id"], "--client-secret-stdin",
                     stdin=custom["client_secret"] + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Connected Company: {KAURI}"
    assert custom["client_secret"] not in result.stdout + result.stderr
    keys = json.loads(env.keyring.read_text())
    name, text = next(iter(keys.items()))
    tokens = json.loads(text)
    # the sandbox's app was given what xerolink reads, what was paid included
    assert "accounting.payments.read" in tokens["scope"].split()
    tokens["expires_at"] = 0
    keys[name] = json.dumps(tokens)
    env.keyring.write_text(json.dumps(keys))
    assert env.run("status").returncode == 0
    assert control(base, "GET", "stats")["token_grants"]["client_credentials"] == 2
    wrong = env.run("connect", "--custom-connection", "--xero-url", base, "--client-id",
                    custom["client_id"], "--client-secret-stdin", stdin="nope\n")
    assert wrong.returncode == 6 and "invalid_client" in wrong.stderr


@pytest.mark.parametrize("args, message", [
    (["--client-secret-stdin"], "goes with --custom-connection"),
    (["--custom-connection", "--client-id", "X"], "needs its secret"),
    (["--xero-url", "http://example.com"], "loopback"),
])
def test_bad_connect_input_is_one_line_and_exit_2(env, sandbox, args, message) -> None:
    if "--xero-url" not in args:
        args = ["--xero-url", sandbox.base_url, *args]
    result = env.run("connect", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_connect_to_an_address_where_nothing_listens_says_so_not_no_client_id(env) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    result = env.run("connect", "--xero-url", base, "--no-browser", "--timeout", "1")
    assert result.returncode == 7, result.stderr
    assert "nothing is listening" in result.stderr and base in result.stderr
    assert "client id" not in result.stderr and "Traceback" not in result.stderr


def test_a_no_browser_connect_that_times_out_does_not_advise_no_browser(env, sandbox) -> None:
    result = env.run("connect", "--xero-url", sandbox.base_url, "--no-browser",
                     "--timeout", "1", "--port", "0")
    assert result.returncode == 3, result.stderr
    assert "no answer from the browser within 1 s" in result.stderr
    assert "--no-browser" not in result.stderr


@pytest.mark.parametrize("entry", ["[1, 2]", "not json", '{"kind": 5}'])
def test_a_damaged_keyring_entry_says_connect_again_not_exit_1(env, sandbox, entry) -> None:
    assert env.connect(sandbox.base_url, "--tenant", KAURI).returncode == 0
    keys = json.loads(env.keyring.read_text())
    name = next(k for k in keys if "__probe__" not in k)
    keys[name] = entry
    env.keyring.write_text(json.dumps(keys))
    status = env.run("status")
    assert status.returncode == 3, status.stderr
    assert "damaged" in status.stderr and "xerolink connect" in status.stderr
    assert "Traceback" not in status.stderr


def test_without_a_browser_connect_says_at_once_how_to_open_the_link(env) -> None:
    """Headless (SSH, a server): the way forward is printed with the link, not after
    the timeout; and the way it names for a sandbox (--auto-approve, then curl the
    link) really connects."""
    import urllib.request

    from connection.conftest import free_port

    with running_sandbox(auto_approve=True) as server:
        port = free_port()
        proc = env.start("connect", "--xero-url", server.base_url, "--no-browser",
                         "--tenant", KAURI, "--port", str(port), "--timeout", "30")
        assert proc.stderr is not None
        lines: list[str] = []
        while len(lines) < 10 and not (lines and lines[-1].startswith("Waiting")):
            lines.append(proc.stderr.readline())
        url = next(line.strip() for line in lines if line.startswith("http"))
        advice = lines[lines.index(url + "\n") + 1]
        assert advice.startswith("No browser was opened on this machine"), lines
        assert lines[-1].startswith("Waiting up to 30 s") and lines[-2] == advice
        assert f"ssh -L {port}:127.0.0.1:{port}" in advice and "--auto-approve" in advice
        with urllib.request.urlopen(url, timeout=30) as answer:  # what curl -sL does
            assert answer.status == 200
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == f"Connected Company: {KAURI}"

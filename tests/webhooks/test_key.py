"""The webhook key: from XEROLINK_WEBHOOK_KEY or the token store, put there by
``xerolink webhooks key --stdin`` (admins), never taken from a command-line value and
never shown."""

from __future__ import annotations

import io
import json

from xerolink.credentials import FileTokenStore
from xerolink.errors import ExitCode
from xerolink.webhooks import webhook_key

KEY = "Zm9vYmFyLXdlYmhvb2sta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5YWJjZGVm+/="


def _stored(home) -> FileTokenStore:
    return FileTokenStore(home / "profiles" / "default" / "tokens.json")


def test_the_key_is_stored_from_stdin_and_never_printed(cli, connected, home, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    code, out, err = cli("webhooks", "key", "--stdin", "--debug")
    assert code == 0, err
    assert "file token store" in out
    assert KEY not in out + err
    assert webhook_key({}, _stored(home)) == KEY
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    code, out, err = cli("webhooks", "key", "--stdin", "--json")
    assert json.loads(out) == {"stored": True, "token_store": "file"}
    assert KEY not in out + err


def test_the_environment_wins_over_the_token_store(cli, connected, home, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert cli("webhooks", "key", "--stdin")[0] == 0
    assert webhook_key({"XEROLINK_WEBHOOK_KEY": " from-env "}, _stored(home)) == "from-env"
    assert webhook_key({}, None) is None


def test_no_key_as_a_value_and_no_empty_key(cli, connected, home, monkeypatch):
    code, _, err = cli("webhooks", "key")
    assert code == ExitCode.USAGE and "--stdin" in err
    code, _, err = cli("webhooks", "key", KEY)
    assert code == ExitCode.USAGE and KEY not in err
    for text in ("\n", "two words\n"):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        code, _, err = cli("webhooks", "key", "--stdin")
        assert code == ExitCode.USAGE, err
    assert webhook_key({}, _stored(home)) is None


def test_only_an_admin_stores_the_key(cli, connected, home, monkeypatch):
    monkeypatch.setenv("XEROLINK_USER", "mallory")
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    code, _, err = cli("webhooks", "key", "--stdin")
    assert code == ExitCode.PERMISSION_DENIED, err
    assert KEY not in err
    assert webhook_key({}, _stored(home)) is None

"""After a full scenario, no token, code verifier or client secret appears in any
output or any file under XEROLINK_HOME."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from support import control

KAURI = "Kauri Bay Trading Ltd"
_TOKENISH = re.compile(rb"[A-Za-z0-9_-]{43,128}")


def _s256(candidate: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(candidate).digest()).rstrip(b"=").decode()


def test_no_secret_reaches_output_or_files(env, sandbox) -> None:
    base = sandbox.base_url
    outputs: list[str] = []

    def keep(result):
        outputs.extend([result.stdout, result.stderr])
        return result

    assert keep(env.connect(base, "--tenant", KAURI, "--debug", "--verbose")).returncode == 0
    keep(env.run("status", "--json", "--verbose", "--debug"))
    keep(env.run("status", "--debug"))
    keep(env.run("access", "list", "--json"))
    keep(env.run("status", user="mallory", extra={"XEROLINK_USER": "mallory"}))
    keep(env.run("remove", "--debug"))
    assert keep(env.connect(base, "--tenant", KAURI)).returncode == 0
    custom = control(base, "GET", "apps")["custom_connection"]
    keep(env.run("connect", "--custom-connection", "--xero-url", base, "--client-id",
                 custom["client_id"], "--client-secret-stdin", "--debug",
                 stdin=custom["client_secret"] + "\n"))
    keep(env.run("connect", "--custom-connection", "--xero-url", base, "--client-id",
                 custom["client_id"], "--client-secret-stdin", "--debug",
                 stdin="wrong-secret-value-123\n"))
    keep(env.run("status", "--json"))

    identity = sandbox.sandbox.identity
    secrets = {*identity.access_tokens, *identity.refresh_tokens, *identity.codes,
               custom["client_secret"], "wrong-secret-value-123"}
    challenges = {code.challenge for code in identity.codes.values()}
    assert secrets and challenges

    files = [p for p in Path(env.home).rglob("*") if p.is_file()]
    assert any(p.name == "xerolink.db" for p in files)
    blobs = [text.encode() for text in outputs] + [p.read_bytes() for p in files]
    for blob in blobs:
        for secret in secrets:
            assert secret.encode() not in blob
        for candidate in _TOKENISH.findall(blob):
            assert _s256(candidate) not in challenges, "a PKCE code verifier leaked"


def test_a_secret_that_is_a_word_leaves_the_messages_whole(connected, cli, monkeypatch) -> None:
    """A token that is a word ("pipe", "access") was once masked in every later message:
    "*** it to --token-stdin"."""
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", "access")
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                       "--salesmate-url", "http://127.0.0.1:9")
    assert code == 9, err  # nothing answers there: the token was read, and registered
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", "")
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo")
    assert code == 2
    assert "no Salesmate access token: pipe it to --token-stdin" in err, err

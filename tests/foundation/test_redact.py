"""Secrets are masked wherever a message might carry them."""

from __future__ import annotations

from xerolink.redact import redact, register_secret


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secret("rt-0123456789abcdef")
    assert redact("token rt-0123456789abcdefX in text") == "token ***X in text"


def test_token_shapes_are_masked_without_registration() -> None:
    text = ('{"access_token": "eyJhbGciOi.abc.def", "refresh_token":"r1r2r3r4"} '
            "Authorization: Basic dXNlcjpwYXNz code_verifier=abcdef123456 "
            "client_secret=shhh&code=thecode")
    masked = redact(text)
    for secret in ("eyJhbGciOi", "r1r2r3r4", "dXNlcjpwYXNz", "abcdef123456", "shhh", "thecode"):
        assert secret not in masked


def test_innocent_text_is_untouched() -> None:
    text = "account_code=200 sales_account: 210 ContactID 1234"
    assert redact(text) == text

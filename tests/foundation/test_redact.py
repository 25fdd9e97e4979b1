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


def test_a_secret_never_shows_its_value() -> None:
    import pickle

    import pytest

    from xerolink.redact import Secret

    held = Secret("sm-0123456789abcdef0123")
    shown = [repr(held), str(held), f"{held}", f"{held!r:>40}", "%s" % held]  # noqa: UP031
    assert all("0123" not in text for text in shown), shown
    assert held.reveal() == "sm-0123456789abcdef0123"
    with pytest.raises(TypeError):
        pickle.dumps(held)
    with pytest.raises(AttributeError):
        held._value = "changed"  # type: ignore[misc]


def test_a_token_record_keeps_its_tokens_out_of_repr_and_vars() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from xerolink.tokenstore import TokenSet

    tokens = TokenSet("custom", "CLIENT", "at-0123456789abcdef", datetime(2031, 1, 1, tzinfo=UTC),
                      refresh_token="rt-0123456789abcdef", client_secret="cs-0123456789abcdef")
    for text in (repr(tokens), str(tokens), repr(vars(tokens))):
        assert "0123456789abcdef" not in text and "CLIENT" in repr(tokens), text
    assert TokenSet.from_json(tokens.to_json()) == tokens
    assert (tokens.access_token, tokens.refresh_token, tokens.client_secret) == (
        "at-0123456789abcdef", "rt-0123456789abcdef", "cs-0123456789abcdef")
    assert replace(tokens, access_token="at-new-0123456789").access_token == "at-new-0123456789"

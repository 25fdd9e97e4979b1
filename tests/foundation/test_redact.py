"""Secrets are masked wherever a message might carry them."""

from __future__ import annotations

import pytest

from xerolink.redact import MIN_SECRET_LENGTH, redact, register_secret

MESSAGES = [
    "no Salesmate access token: pipe it to --token-stdin or set XEROLINK_SALESMATE_TOKEN "
    "(Salesmate: My Account > Access Key)",
    "a Custom Connection needs its secret: pipe it to --client-secret-stdin or set "
    "XEROLINK_CLIENT_SECRET",
    "the Salesmate access token is empty or not a token (one line of printable characters)",
    "Salesmate refused the access token: check it (code: 4010)",
]


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

    from xerolink.credentials import TokenSet

    tokens = TokenSet("custom", "CLIENT", "at-0123456789abcdef", datetime(2031, 1, 1, tzinfo=UTC),
                      refresh_token="rt-0123456789abcdef", client_secret="cs-0123456789abcdef")
    for text in (repr(tokens), str(tokens), repr(vars(tokens))):
        assert "0123456789abcdef" not in text and "CLIENT" in repr(tokens), text
    assert TokenSet.from_json(tokens.to_json()) == tokens
    assert (tokens.access_token, tokens.refresh_token, tokens.client_secret) == (
        "at-0123456789abcdef", "rt-0123456789abcdef", "cs-0123456789abcdef")
    assert replace(tokens, access_token="at-new-0123456789").access_token == "at-new-0123456789"


@pytest.mark.parametrize("message", MESSAGES)
def test_a_secret_that_is_a_word_never_blanks_the_words_of_a_message(message) -> None:
    for word in ("pipe", "access", "Salesmate", "printable", "token-stdin"):
        register_secret(word)  # shorter than any token: not remembered
    assert redact(message) == message


def test_only_a_value_as_long_as_a_token_is_remembered() -> None:
    short, long = "p" * (MIN_SECRET_LENGTH - 1), "q" * MIN_SECRET_LENGTH
    register_secret(short)
    register_secret(long)
    assert redact(f"{short} {long}") == f"{short} ***"


@pytest.mark.parametrize(("text", "shown"), [
    ('{"accessToken": "pipe"}', '{"accessToken": "***"}'),
    ("accessToken: pipe", "accessToken: ***"),
    ('{"token": "pipe"}', '{"token": "***"}'),
    ("token=pipe&linkname=demo", "token=***&linkname=demo"),
    ("XEROLINK_SALESMATE_TOKEN=pipe", "XEROLINK_SALESMATE_TOKEN=***"),
    ("token: 0123456789abcdefXYZ was refused", "token: *** was refused"),
    ("postgresql://xl:hunter2@127.0.0.1:5432/team", "postgresql://xl:***@127.0.0.1:5432/team"),
    ("http://127.0.0.1:8080/connect?x=1", "http://127.0.0.1:8080/connect?x=1"),
])
def test_a_token_is_masked_where_it_appears_as_a_value(text, shown) -> None:
    assert redact(text) == shown

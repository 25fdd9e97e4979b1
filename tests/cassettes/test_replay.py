"""The gateway against recorded exchanges (cassettes/, made by
scripts/record_cassettes.py): every call xerolink makes and each error shape real
Xero gives, replayed with no server and no network. Replay only: a request that
differs from the recorded one (a dropped ``unitdp=4``, a longer id list) finds no
recording and fails the test."""

from __future__ import annotations

import io
import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import vcr

from cassette_scenarios import SCENARIOS, TENANT, Ctx
from xerolink.errors import NotFoundError, XeroRefusedError
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import MAX_URL, ScopeMissing, UriTooLong, XeroGateway
from xerolink.xero.http import RetryPolicy

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
INDEX = json.loads((CASSETTES / "index.json").read_text())


@pytest.fixture(autouse=True)
def no_network(monkeypatch) -> None:
    """Replays reach no server: any real connection attempt fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a cassette test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def replay(name: str) -> tuple[Any, Ctx, Any]:
    """Run scenario ``name`` against its cassette: (result or exception, ctx, cassette)."""
    params = INDEX["params"]
    ctx = Ctx(gateway=lambda provider, **options: XeroGateway(
        Endpoints.real_xero(), provider, tenant_id=TENANT,
        retry=RetryPolicy(base_delay=0.0, max_delay=0.0, sleep=lambda s: None),
        **{"sleep": lambda s: None, **options}),
        tokens={k: f"placeholder-{k}" for k in ("good", "expired", "bogus", "contacts_only")},
        contact_ids=params["contact_ids"], search_term=params["search_term"],
        taken_name=params["taken_name"], documents=params["documents"],
        control=lambda path, body: None)
    player = vcr.VCR(record_mode="none")
    with player.use_cassette(str(CASSETTES / f"{name}.yaml"),
                             allow_playback_repeats=False) as cassette:
        try:
            result: Any = SCENARIOS[name](ctx)
        except Exception as exc:  # the errors are what is tested
            result = exc
        assert cassette.all_played, f"{name}: not every recorded exchange was asked for"
    return result, ctx, cassette


def test_every_scenario_has_a_cassette_and_a_record_of_where_it_was_made() -> None:
    assert set(SCENARIOS) <= set(INDEX["recorded"])
    for name in SCENARIOS:
        assert (CASSETTES / f"{name}.yaml").exists(), name
        assert INDEX["recorded"][name]["where"]


def test_reads() -> None:
    tenants, _, _ = replay("connections")
    assert [t.tenant_id for t in tenants] == [TENANT]
    org, _, _ = replay("organisation")
    assert org.short_code and len(org.base_currency) == 3
    (contacts, pages), _, _ = replay("contacts_page")
    assert contacts and pages >= 1
    found, _, _ = replay("search_contacts")
    assert found
    quotes, _, _ = replay("quotes_for_contact")
    assert isinstance(quotes, list)


def test_an_id_list_is_one_call_whose_url_stays_under_xeros_limit() -> None:
    (invoices, _), _, cassette = replay("invoices_by_contact_ids")
    assert isinstance(invoices, list)
    assert len(cassette.requests) == 1
    assert len(cassette.requests[0].uri) <= MAX_URL
    assert cassette.requests[0].uri.count("%2C") >= 40


def test_creates_send_unitdp_4_and_keep_four_decimal_unit_amounts() -> None:
    for name, key in (("create_invoice", "Invoices"), ("create_quote", "Quotes")):
        created, _, cassette = replay(name)
        assert "unitdp=4" in cassette.requests[0].uri, name
        assert cassette.requests[0].headers["Idempotency-Key"]
        line = created["LineItems"][0]
        assert Decimal(str(line["LineAmount"])) == Decimal("164.80"), (name, key)
    contact, _, _ = replay("create_contact")
    assert contact["Name"] == "Cassette Recording Ltd"


def test_a_long_id_list_is_too_long_not_not_found() -> None:
    error, _, cassette = replay("long_id_list")
    assert isinstance(error, UriTooLong)
    assert cassette.responses[0]["status"]["code"] == 404
    assert cassette.responses[0]["body"]["string"].startswith(b"The resource you're looking")


def test_an_unknown_id_is_not_found() -> None:
    error, _, _ = replay("unknown_id")
    assert isinstance(error, NotFoundError)


def test_a_concurrent_429_without_retry_after_is_retried_after_a_short_pause() -> None:
    org, ctx, cassette = replay("concurrent_429")
    assert org.short_code
    first = cassette.responses[0]
    assert first["status"]["code"] == 429
    assert "Retry-After" not in first["headers"]
    assert len(ctx.slept) == 1 and ctx.slept[0] < 1.0, "a short pause, never a minute"


def test_a_missing_scope_is_named_and_not_refreshed() -> None:
    error, ctx, _ = replay("scope_missing")
    assert isinstance(error, ScopeMissing)
    assert error.scope == "accounting.invoices.read"
    assert 'xerolink connect --scopes "offline_access accounting.contacts.read ' \
           'accounting.invoices.read"' in str(error)
    assert ctx.slept == [0.0], "no refresh was attempted"


@pytest.mark.parametrize("name", ["token_expired", "bad_token"])
def test_an_expired_or_bad_token_is_refreshed_once(name: str) -> None:
    (org, refreshes), _, cassette = replay(name)
    assert org.short_code and refreshes == 1
    detail = json.loads(cassette.responses[0]["body"]["string"])["Detail"]
    assert detail.startswith("TokenExpired" if name == "token_expired"
                             else "AuthenticationUnsuccessful")


def test_query_parse_and_validation_errors_are_one_readable_line() -> None:
    error, _, cassette = replay("query_parse")
    assert isinstance(error, XeroRefusedError) and "\n" not in str(error)
    assert json.loads(cassette.responses[0]["body"]["string"])["ErrorNumber"] == 16
    error, _, _ = replay("validation")
    assert isinstance(error, XeroRefusedError)
    assert "already assigned to another contact" in str(error)


def test_a_pdf_is_asked_for_with_accept_pdf_and_its_bytes_kept_whole() -> None:
    from pypdf import PdfReader

    for name in ("invoice_pdf", "credit_note_pdf"):
        data, _, cassette = replay(name)
        request = cassette.requests[-1]
        assert request.headers["Accept"] == "application/pdf", name
        assert data == cassette.responses[-1]["body"]["string"] and data.startswith(b"%PDF-")
        assert PdfReader(io.BytesIO(data)).pages, name
    note, _, cassette = replay("credit_note_by_number")
    assert note.number == INDEX["params"]["documents"]["credit_note_number"]
    assert 'CreditNoteNumber=="' in unquote(cassette.requests[0].uri)


def test_an_online_invoice_is_an_https_link_and_a_drafts_a_refusal() -> None:
    url, _, _ = replay("online_invoice")
    assert url.startswith("https://in.xero.com/")
    error, _, cassette = replay("online_invoice_of_a_draft")
    assert isinstance(error, XeroRefusedError) and "\n" not in str(error)
    assert "DRAFT" in str(error)
    assert cassette.responses[0]["status"]["code"] == 400


def test_the_pdf_of_an_unknown_id_is_not_found() -> None:
    error, _, cassette = replay("pdf_of_an_unknown_id")
    assert isinstance(error, NotFoundError)
    assert cassette.responses[0]["status"]["code"] == 404


def test_an_email_is_one_post_with_its_key_and_no_body_back() -> None:
    result, _, cassette = replay("email_invoice")
    assert result is None
    request = cassette.requests[0]
    assert request.method == "POST" and request.uri.endswith("/Email")
    assert request.headers["Idempotency-Key"] == "cassette-email-1"
    assert request.body in (b"{}", "{}")
    assert cassette.responses[0]["status"]["code"] == 204


def test_an_email_of_a_draft_is_refused_and_of_an_unknown_id_not_found() -> None:
    error, _, cassette = replay("email_of_a_draft")
    assert isinstance(error, XeroRefusedError) and "\n" not in str(error)
    assert "DRAFT" in str(error) and cassette.responses[0]["status"]["code"] == 400
    error, _, cassette = replay("email_of_an_unknown_id")
    assert isinstance(error, NotFoundError)
    assert cassette.responses[0]["status"]["code"] == 404


def test_the_history_says_when_an_invoice_was_emailed() -> None:
    from datetime import datetime

    when, _, cassette = replay("invoice_history")
    assert isinstance(when, datetime) and when.tzinfo is not None
    assert cassette.requests[0].uri.endswith("/History")


def test_cassettes_hold_no_secret_tenant_id_or_email() -> None:
    import re

    email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    guid = re.compile(r"tenantId\W+([0-9a-f-]{36})")
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert not re.search(r"Bearer (?!\[scrubbed\]|error=)", text), path
        assert not re.search(r"(access|refresh)_token|client_secret|code_verifier", text), path
        assert set(email.findall(text)) <= {"person@example.invalid"}, path
        assert set(guid.findall(text)) <= {TENANT}, path
        assert "127.0.0.1" not in text, path


def test_payments_and_credit_are_read_with_where_on_date_and_status_1000_a_page() -> None:
    """What was paid, and credit: one call each, 1,000 a page, every item readable."""
    from datetime import UTC, datetime

    from cassette_scenarios import PAID_SINCE
    from xerolink.xero import models

    at = datetime(2026, 12, 1, tzinfo=UTC)
    (payments, pages), _, cassette = replay("payments_since")
    query = unquote(cassette.requests[0].uri)
    assert f"Date>=DateTime({PAID_SINCE.year},{PAID_SINCE.month},{PAID_SINCE.day})" in query
    assert 'Status=="AUTHORISED"' in query and "pageSize=1000" in query
    read = [models.payment(p, at, base_currency="NZD") for p in payments]
    assert payments and pages == 1 and all(p is not None for p in read)
    assert all(p.paid_on >= PAID_SINCE and isinstance(p.amount, Decimal)
               for p in read if p is not None)
    for name, source in (("credit_notes_with_credit", "credit_note"),
                         ("overpayments_with_credit", "overpayment"),
                         ("prepayments_with_credit", "prepayment")):
        (items, _), _, cassette = replay(name)
        assert 'Status=="AUTHORISED"' in unquote(cassette.requests[0].uri)
        credits = [models.credit(source, c, at, base_currency="NZD") for c in items]
        assert credits and all(c.status == "AUTHORISED" and c.remaining >= 0
                               for c in credits), name


def test_a_connection_without_the_payments_scope_is_told_to_reconnect() -> None:
    error, ctx, _ = replay("payments_scope_missing")
    assert isinstance(error, ScopeMissing)
    assert error.scope == "accounting.payments.read"
    assert "accounting.transactions.read" in str(error), "the broad scope is named too"
    assert 'xerolink connect --scopes "offline_access accounting.contacts.read ' \
           'accounting.payments.read"' in str(error)
    assert ctx.slept == [0.0], "no refresh was attempted"

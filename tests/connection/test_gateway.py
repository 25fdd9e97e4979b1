"""The gateway keeps working through Xero's faults and limits, and never doubles a write."""

from __future__ import annotations

import http.client
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from support import control, sandbox_token
from xerolink.credentials import FileTokenStore, TokenSet
from xerolink.errors import ExitCode, XeroRefusedError, XeroUnreachableError
from xerolink.sandbox import PKCE_CLIENT_ID, SandboxOptions, SandboxServer
from xerolink.xero.callback import CallbackServer
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import XeroGateway
from xerolink.xero.http import RetryPolicy
from xerolink.xero.oauth import IdentityClient
from xerolink.xero.tokens import TokenManager, file_lock


def _gateway(server: SandboxServer, tmp_path, **kwargs) -> XeroGateway:
    base = server.base_url
    answer = sandbox_token(base)
    tenant = next(iter(server.sandbox.tenants))
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(tenant, TokenSet("pkce", PKCE_CLIENT_ID, answer["access_token"],
                                datetime.now(UTC) + timedelta(seconds=1800),
                                refresh_token=answer["refresh_token"]))
    endpoints = Endpoints.at(base)
    fast = RetryPolicy(base_delay=0.01, max_delay=0.05)
    manager = TokenManager(store, IdentityClient(endpoints, fast), tenant,
                           file_lock(tmp_path / "lock"))
    return XeroGateway(endpoints, manager, tenant_id=tenant, retry=fast, **kwargs)


def _create_quote(gateway: XeroGateway, contact_id: str, key: str) -> dict:
    from xero_python.accounting.models import Contact, LineItem, Quote, Quotes

    api = gateway.accounting_api()
    quotes = Quotes(quotes=[Quote(contact=Contact(contact_id=contact_id), date=date.today(),
                                  line_items=[LineItem(description="Once only", quantity=1,
                                                       unit_amount=10)])])
    return gateway.call("PUT Quotes", lambda: api.create_quotes(
        gateway.tenant_id, quotes, idempotency_key=key, _preload_content=False),
        idempotent=True)


def test_reads_succeed_with_a_fifth_of_answers_failing(sandbox, tmp_path) -> None:
    gateway = _gateway(sandbox, tmp_path)
    control(sandbox.base_url, "POST", "faults", {"error_rate": 0.1, "drop_rate": 0.1})
    for _ in range(30):
        assert gateway.organisation().short_code == "!kB7xQ"
    assert gateway.log.retries > 0, "faults were injected and retried"


def test_commit_then_drop_on_a_create_yields_exactly_one_document(sandbox, tmp_path) -> None:
    gateway = _gateway(sandbox, tmp_path)
    books = sandbox.sandbox.tenants[gateway.tenant_id]
    contact = next(c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE")
    before = len(books.quotes)
    control(sandbox.base_url, "POST", "faults", {"commit_then_drop_rate": 1.0,
                                                  "methods": ["PUT"]})
    created = _create_quote(gateway, contact["ContactID"], gateway.new_idempotency_key())
    assert len(books.quotes) == before + 1
    assert created["Quotes"][0]["QuoteID"] in books.quotes


def test_a_write_without_an_idempotency_key_is_never_retried(sandbox, tmp_path) -> None:
    gateway = _gateway(sandbox, tmp_path)
    control(sandbox.base_url, "POST", "faults", {"error_rate": 1.0, "methods": ["PUT"]})
    api = gateway.accounting_api()
    with pytest.raises(XeroUnreachableError):
        gateway.call("PUT Contacts", lambda: api.create_contacts(
            gateway.tenant_id, {"Contacts": [{"Name": "No Retry"}]}, _preload_content=False),
            idempotent=False)
    assert gateway.log.calls["PUT Contacts"] == 1


def test_minute_limit_is_waited_out_with_a_notice(sandbox, tmp_path) -> None:
    notices: list[str] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # waiting out the minute, without the minute
        slept.append(seconds)
        control(sandbox.base_url, "POST", "limits", {"minute": 60})

    gateway = _gateway(sandbox, tmp_path, notice=notices.append, sleep=sleep)
    control(sandbox.base_url, "POST", "limits", {"minute": 2})
    control(sandbox.base_url, "POST", "faults", {"retry_after": 1})
    gateway.organisation()
    gateway.organisation()
    gateway.organisation()  # the first answer is 429; after the wait it succeeds
    assert slept == [1.0]
    assert notices and "minute rate limit" in notices[0]


def test_minute_limit_beyond_max_wait_and_day_limit_fail_fast(sandbox, tmp_path) -> None:
    gateway = _gateway(sandbox, tmp_path, max_wait=5, sleep=lambda s: None)
    control(sandbox.base_url, "POST", "limits", {"minute": 0})
    with pytest.raises(XeroRefusedError, match="would pass --max-wait"):
        gateway.organisation()
    control(sandbox.base_url, "POST", "limits", {"minute": 60, "day": 0})
    with pytest.raises(XeroRefusedError, match="daily call limit") as caught:
        gateway.organisation()
    assert caught.value.exit_code == ExitCode.XERO_REFUSED
    assert "resets in about 24 h" in str(caught.value) or "resets in about 23 h" in str(
        caught.value)


def test_at_most_five_requests_are_in_flight(tmp_path) -> None:
    server = SandboxServer(SandboxOptions(seed=4, contacts=10, latency_ms=200))
    server.start()
    try:
        gateway = _gateway(server, tmp_path)
        threads = [threading.Thread(target=gateway.organisation) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert control(server.base_url, "GET", "stats")["status_429"] == 0
        assert gateway.log.calls["GET Organisation"] == 12
    finally:
        server.stop()


def test_validation_and_unreadable_answers_become_one_line(sandbox, tmp_path) -> None:
    gateway = _gateway(sandbox, tmp_path)
    taken = next(iter(sandbox.sandbox.tenants[gateway.tenant_id].contacts.values()))["Name"]
    api = gateway.accounting_api()
    with pytest.raises(XeroRefusedError) as caught:
        gateway.call("PUT Contacts", lambda: api.create_contacts(
            gateway.tenant_id, {"Contacts": [{"Name": taken}]}, _preload_content=False),
            idempotent=False)
    assert str(caught.value).startswith("Xero refused PUT Contacts: The contact name")
    assert "\n" not in str(caught.value)


def test_an_html_answer_is_reported_not_crashed_on(sandbox, tmp_path) -> None:
    from xerolink.xero.gateway import validation_message
    from xerolink.xero.jsonutil import MalformedAnswer, loads

    with pytest.raises(MalformedAnswer, match="a web page"):
        loads(b"<!DOCTYPE html><html>oops</html>")
    with pytest.raises(MalformedAnswer, match="truncated"):
        loads(b'{"Invoices": [{"Total": 1')
    assert validation_message(b"<html>") == "a web page"
    assert validation_message(b'{"error": "request_rejected"}') == "request_rejected"
    assert validation_message(b'{"title": "Bad Request", "detail": "No tenant"}') == "No tenant"


def test_callback_accepts_only_the_right_state_once_and_answers_with_the_outcome() -> None:
    import socket

    from xerolink.xero.callback import connected

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = CallbackServer(port, "good-state")
    assert server._server.server_address[0] == "127.0.0.1"
    results: dict[str, str] = {}

    def wait_then_answer() -> None:
        results["code"] = server.wait(10)
        server.respond(connected("Kauri <Bay> & Co"))  # the page waits for this

    waiter = threading.Thread(target=wait_then_answer)
    waiter.start()

    def hit(query: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/callback?{query}")
        response = conn.getresponse()
        status, body = response.status, response.read().decode()
        conn.close()
        return status, body

    assert hit("code=evil&state=wrong")[0] == 400
    status, body = hit("code=real&state=good-state")
    waiter.join(timeout=10)
    assert results == {"code": "real"}
    assert status == 200 and "Connected to Kauri &lt;Bay&gt; &amp; Co" in body
    server.close()
    with pytest.raises(ConnectionRefusedError):
        hit("code=real&state=good-state")  # a replay finds nobody listening

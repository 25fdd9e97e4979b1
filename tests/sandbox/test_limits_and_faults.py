"""Xero's rate limits, idempotency under faults, and the control API."""

from __future__ import annotations

import http.client
import threading
from datetime import date

import pytest

from support import api, control, request, sandbox_token
from xerolink.sandbox import SandboxOptions, SandboxServer


@pytest.fixture
def limited() -> SandboxServer:
    # Both organisations in one consent (an Advanced-tier app): the limits are per
    # organisation, and one token reaching both shows it.
    server = SandboxServer(SandboxOptions(seed=5, contacts=20, bulk_connections=True))
    server.start()
    yield server
    server.stop()


def _tenant(server: SandboxServer) -> str:
    return next(iter(server.sandbox.tenants))


def test_the_61st_call_in_a_minute_gets_429_with_retry_after(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    remaining = []
    for _ in range(60):
        status, headers, _ = api(base, token, tenant, "GET", "/Organisation")
        assert status == 200
        remaining.append(int(headers["x-minlimit-remaining"]))
    assert remaining[0] == 59 and remaining[-1] == 0
    assert int(headers["x-daylimit-remaining"]) == 4940
    status, headers, _ = api(base, token, tenant, "GET", "/Organisation")
    assert status == 429
    assert headers["x-rate-limit-problem"] == "minute"
    assert 1 <= int(headers["retry-after"]) <= 61
    assert control(base, "GET", "stats")["status_429"] == 1
    # The other organisation has its own budget.
    other = list(limited.sandbox.tenants)[1]
    assert api(base, token, other, "GET", "/Organisation")[0] == 200


def test_a_sixth_concurrent_call_gets_429_concurrent(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    control(base, "POST", "faults", {"latency_ms": 700})
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def call() -> None:
        status, headers, _ = api(base, token, tenant, "GET", "/Organisation")
        with lock:
            results.append((status, headers.get("x-rate-limit-problem")))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(results, key=lambda r: r[0]) == [(200, None)] * 5 + [(429, "concurrent")]


def test_the_day_limit_answers_429_day_with_a_long_retry_after(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    control(base, "POST", "limits", {"day": 3})
    for _ in range(3):
        assert api(base, token, tenant, "GET", "/Organisation")[0] == 200
    status, headers, _ = api(base, token, tenant, "GET", "/Organisation")
    assert status == 429 and headers["x-rate-limit-problem"] == "day"
    assert int(headers["retry-after"]) > 3600
    control(base, "POST", "faults", {"retry_after": 2})
    assert api(base, token, tenant, "GET", "/Organisation")[1]["retry-after"] == "2"


def test_injected_errors_and_drops(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    control(base, "POST", "faults", {"error_rate": 1.0})
    status, _, _ = api(base, token, tenant, "GET", "/Organisation")
    assert status in (500, 503)
    control(base, "POST", "faults", {"drop_rate": 1.0})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        api(base, token, tenant, "GET", "/Organisation")
    control(base, "POST", "faults", {"drop_rate": 1.0, "methods": ["PUT"]})
    assert api(base, token, tenant, "GET", "/Organisation")[0] == 200
    control(base, "POST", "faults", {})
    assert control(base, "GET", "faults")["drop_rate"] == 0


def test_commit_then_drop_with_an_idempotency_key_yields_one_document(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    books = limited.sandbox.tenants[tenant]
    contact = next(c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE")
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                          "Date": date.today().isoformat(),
                          "LineItems": [{"Description": "Retry me", "Quantity": 1,
                                         "UnitAmount": 42, "AccountCode": "200"}]}]}
    before = len(books.invoices)
    control(base, "POST", "faults", {"commit_then_drop_rate": 1.0})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        api(base, token, tenant, "PUT", "/Invoices", body, {"Idempotency-Key": "k-42"})
    assert len(books.invoices) == before + 1, "the write happened before the drop"
    control(base, "POST", "faults", {})
    status, _, replay = api(base, token, tenant, "PUT", "/Invoices", body,
                            {"Idempotency-Key": "k-42"})
    assert status == 200 and len(books.invoices) == before + 1
    assert replay["Invoices"][0]["Reference"] == ""


def test_stats_count_calls_by_endpoint_and_reset(limited) -> None:
    base, tenant = limited.base_url, _tenant(limited)
    token = sandbox_token(base)
    control(base, "POST", "stats/reset")
    api(base, token, tenant, "GET", "/Contacts?page=1&pageSize=1000")
    one = next(iter(limited.sandbox.tenants[tenant].contacts))
    api(base, token, tenant, "GET", f"/Contacts/{one}")
    stats = control(base, "GET", "stats")
    assert stats["total"] == 2
    assert stats["by_endpoint"] == {"GET /api.xro/2.0/Contacts": 1,
                                    "GET /api.xro/2.0/Contacts/{id}": 1}
    assert request(base, "GET", "/_sandbox/nothing")[0] == 404

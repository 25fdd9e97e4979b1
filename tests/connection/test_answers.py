"""Xero's answers in every form live Xero (or something in front of it) gives them:
400s that are not JSON, problem bodies in either case, a server that is not there,
lists without ``pagination``, and rate-limit waits shared with other processes."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connection.conftest import free_port
from connection.test_gateway import _gateway
from support import control, running_sandbox, serve_in_thread
from xerolink.credentials import FileTokenStore, TokenSet
from xerolink.errors import ExitCode, NotConnectedError, XeroRefusedError, XeroUnreachableError
from xerolink.sandbox.answers import EDGE_PAGE
from xerolink.xero.answers import ScopeMissing
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import CONTACTS_PAGE, XeroGateway
from xerolink.xero.http import RetryPolicy
from xerolink.xero.oauth import IdentityClient
from xerolink.xero.pacing import MinutePacer
from xerolink.xero.tokens import TokenManager, file_lock

TENANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
XML_VALIDATION = (b'<ApiException xmlns:xsd="http://www.w3.org/2001/XMLSchema">\r\n'
                  b"  <ErrorNumber>10</ErrorNumber><Type>ValidationException</Type>\r\n"
                  b"  <Message>A validation exception occurred</Message><Elements>\r\n"
                  b"  <DataContractBase><ValidationErrors><ValidationError><Message>"
                  b"Account code &apos;999&apos; is not a valid code</Message>"
                  b"</ValidationError><ValidationError><Message>Due Date must be specified"
                  b"</Message></ValidationError></ValidationErrors></DataContractBase>"
                  b"</Elements></ApiException>")


class Foreign:
    """A tiny server on 127.0.0.1 that answers every request with one canned answer,
    as an edge, a proxy or an old Xero answer would; it counts the requests."""

    def __init__(self, status: int, body: bytes, content_type: str | None) -> None:
        self.answer = (status, body, content_type)
        self.paths: list[str] = []
        foreign = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                foreign.paths.append(self.path)
                status, body, kind = foreign.answer
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _any

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serve_in_thread(self.server)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def foreign() -> Iterator[list[Foreign]]:
    started: list[Foreign] = []
    yield started
    for server in started:
        server.stop()


def _gateway_at(base: str, tmp_path, **kwargs) -> XeroGateway:
    """A gateway with a stored token (no refresh due) for a server that is not a sandbox."""
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(TENANT, TokenSet("pkce", "client", "an-access-token",
                                datetime.now(UTC) + timedelta(seconds=1800),
                                refresh_token="a-refresh-token"))
    endpoints = Endpoints.at(base)
    fast = RetryPolicy(base_delay=0.01, max_delay=0.02)
    manager = TokenManager(store, IdentityClient(endpoints, fast), TENANT,
                           file_lock(tmp_path / "lock"))
    return XeroGateway(endpoints, manager, tenant_id=TENANT, retry=fast, **kwargs)


def _create_invoice(gateway: XeroGateway) -> dict:
    return gateway.create_invoice({"Type": "ACCREC", "Contact": {"ContactID": TENANT},
                                   "LineItems": []}, gateway.new_idempotency_key())


# -- 400s that are not JSON -------------------------------------------------------------
@pytest.mark.parametrize(("body", "kind", "reason"), [
    (EDGE_PAGE, "text/html", "HTTP 400: a web page, 400 Bad Request Bad Request Your "
                             "request could not be processed."),
    (b"", None, "HTTP 400 with an empty answer"),
    (XML_VALIDATION, "text/xml", "HTTP 400: Account code '999' is not a valid code; "
                                 "Due Date must be specified"),
])
def test_a_400_that_is_not_json_is_refused_with_its_status_and_reason(
        foreign, tmp_path, body, kind, reason) -> None:
    """xero-python's AccountingBadRequestException.status parses the body as JSON:
    the status is read from the HTTP response instead, and the body is cut to a line."""
    server = Foreign(400, body, kind)
    foreign.append(server)
    gateway = _gateway_at(server.base_url, tmp_path)
    with pytest.raises(XeroRefusedError) as caught:
        _create_invoice(gateway)
    message = str(caught.value)
    assert message.startswith(f"Xero refused PUT Invoices: {reason}")
    assert "\n" not in message and len(message) < 600
    assert caught.value.exit_code == ExitCode.XERO_REFUSED
    assert len(server.paths) == 1, "a 400 is not retried"
    with pytest.raises(XeroRefusedError, match="HTTP 400"):
        gateway.invoices_page(1, contact_ids=[TENANT])  # one id: not "too long"


def test_an_html_400_on_a_list_of_ids_still_means_too_long(foreign, tmp_path) -> None:
    from xerolink.xero.answers import UriTooLong

    server = Foreign(400, EDGE_PAGE, "text/html")
    foreign.append(server)
    gateway = _gateway_at(server.base_url, tmp_path)
    with pytest.raises(UriTooLong):
        gateway.invoices_page(1, contact_ids=[TENANT, TENANT.replace("0f", "1f")])


def test_a_very_long_html_page_is_cut_to_one_short_line(foreign, tmp_path) -> None:
    page = b"<html><body>" + b"<p>word</p>\r\n" * 20000 + b"<script>" * 50000 + b"</body>"
    server = Foreign(400, page, "text/html")
    foreign.append(server)
    with pytest.raises(XeroRefusedError) as caught:
        _create_invoice(_gateway_at(server.base_url, tmp_path))
    assert len(str(caught.value)) <= 600 and str(caught.value).endswith("...")


# -- problem bodies in either case ------------------------------------------------------
def test_a_lowercase_401_problem_body_is_read_like_a_capitalised_one(foreign, tmp_path
                                                                    ) -> None:
    server = Foreign(401, json.dumps({"title": "Unauthorized", "status": 401,
                                      "detail": "AuthorizationUnsuccessful",
                                      "instance": "x"}).encode(), "application/json")
    foreign.append(server)
    with pytest.raises(ScopeMissing):
        _gateway_at(server.base_url, tmp_path).organisation()
    assert len(server.paths) == 1, "a missing scope costs no refresh and no second call"


def test_a_lowercase_403_problem_body_means_reconnect(foreign, tmp_path) -> None:
    server = Foreign(403, json.dumps({"title": "Forbidden", "status": 403,
                                      "detail": "AuthenticationUnsuccessful"}).encode(),
                     "application/json")
    foreign.append(server)
    with pytest.raises(NotConnectedError, match="no longer connected"):
        _gateway_at(server.base_url, tmp_path).organisation()


# -- nothing listening ------------------------------------------------------------------
def test_a_refused_connection_says_so_and_where(tmp_path) -> None:
    port = free_port()  # bound and released: nothing listens there now
    gateway = _gateway_at(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(XeroUnreachableError) as caught:
        gateway.organisation()
    message = str(caught.value)
    assert f"nothing is listening at 127.0.0.1:{port}" in message
    assert "read_timeout" not in message and "did not answer" not in message
    assert caught.value.exit_code == ExitCode.XERO_UNREACHABLE


# -- lists without pagination -----------------------------------------------------------
def test_contacts_without_pagination_are_read_to_the_short_page() -> None:
    """Older live answers have no ``pagination``: a full page says nothing about the
    rest, so paging goes on to a short page (it once stopped after page 1)."""
    with running_sandbox(contacts=CONTACTS_PAGE + 150) as server:
        control(server.base_url, "POST", "faults", {"no_pagination": True})
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            gateway = _gateway(server, Path(folder))
            pages = list(gateway.contact_pages())
        books = next(iter(server.sandbox.tenants.values()))
        assert sum(len(p.items) for p in pages) == len(books.contacts)
        assert [p.count for p in pages] == [None, None]
        assert gateway.log.calls["GET Contacts"] == 2


def test_invoices_without_pagination_are_read_to_the_short_page() -> None:
    with running_sandbox(contacts=200) as server:
        control(server.base_url, "POST", "faults", {"no_pagination": True})
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            gateway = _gateway(server, Path(folder))
            pages = list(gateway.invoice_pages())
        books = next(iter(server.sandbox.tenants.values()))
        assert len(books.invoices) > 1000
        assert sum(len(p.items) for p in pages) == len(books.invoices)
        assert gateway.log.calls["GET Invoices"] == len(books.invoices) // 1000 + 1


def test_a_server_that_ignores_page_is_an_error_not_an_endless_read(foreign, tmp_path
                                                                   ) -> None:
    page = {"Contacts": [{"ContactID": f"{n:08d}-0000-0000-0000-000000000000",
                          "Name": f"C{n}"} for n in range(CONTACTS_PAGE)]}
    server = Foreign(200, json.dumps(page).encode(), "application/json")
    foreign.append(server)
    gateway = _gateway_at(server.base_url, tmp_path)
    with pytest.raises(XeroUnreachableError, match="not paging"):
        list(gateway.contact_pages())
    assert len(server.paths) == 2


# -- minute-limit waits shared with other processes ---------------------------------------
class Monotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_window_waited_out_after_a_429_is_not_counted_twice(sandbox, tmp_path) -> None:
    """Another thread's answer arrives while a 429's Retry-After is slept out; the
    pacer then waits its margin past the same window. That is one window, within
    --max-wait: it once exited 6 with "waiting 0 s more would pass --max-wait"."""
    clock = Monotonic()
    pacer = MinutePacer(clock)
    pacer.answered(pacer.send(), 59)  # this run began the window at t=100: ends ~161
    other = pacer.send()  # another thread's call, answered during the wait
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds
        if other.done is False:
            pacer.answered(other, 0)
        control(sandbox.base_url, "POST", "limits", {"minute": 60, "reset": True})

    gateway = _gateway(sandbox, tmp_path, pacer=pacer, sleep=sleep, max_wait=60)
    control(sandbox.base_url, "POST", "limits", {"minute": 0})
    control(sandbox.base_url, "POST", "faults", {"retry_after": 60})
    assert gateway.organisation().short_code
    assert slept[0] == 60 and len(slept) == 2 and slept[1] <= 1.5


def test_a_wait_longer_than_max_wait_names_the_real_wait(sandbox, tmp_path) -> None:
    clock = Monotonic()
    pacer = MinutePacer(clock)
    pacer.answered(pacer.send(), 59)
    clock.t += 20.0  # 41 s left of the window (and the pacer's 1 s margin)
    for _ in range(59):
        pacer.answered(pacer.send(), 0)
    gateway = _gateway(sandbox, tmp_path, pacer=pacer, sleep=lambda s: None, max_wait=30)
    with pytest.raises(XeroRefusedError) as caught:
        gateway.organisation()
    assert "the wait for it, 40 s, would pass --max-wait (30 s)" in str(caught.value)
    assert gateway.log.total == 0, "refused before a call Xero would refuse"


def test_a_400_that_is_not_text_to_get_connections_is_refused_not_crashed_on(
        foreign, tmp_path) -> None:
    """xero-python's identity API decodes a 400's body as UTF-8 before raising."""
    server = Foreign(400, b"\xff\xfe\x00 not text", "text/html")
    foreign.append(server)
    with pytest.raises(XeroRefusedError, match="HTTP 400 with an answer that is not UTF-8"):
        _gateway_at(server.base_url, tmp_path).connections()


# -- JSON nested past the parser's depth ------------------------------------------------
DEEP = b"[" * 100_000


@pytest.mark.parametrize("status", [200, 400, 401, 500])
def test_json_nested_past_the_parser_depth_is_an_unreadable_answer(foreign, tmp_path,
                                                                   status) -> None:
    """``[`` a hundred thousand times made Python's parser raise RecursionError, and every
    command that reads Xero exited 1; now it is an answer that could not be read."""
    server = Foreign(status, DEEP, "application/json")
    foreign.append(server)
    gateway = _gateway_at(server.base_url, tmp_path)
    with pytest.raises((XeroUnreachableError, XeroRefusedError, NotConnectedError)) as caught:
        gateway.contacts_page(1)
    assert caught.value.exit_code != ExitCode.UNEXPECTED
    assert len(str(caught.value)) < 600 and "\n" not in str(caught.value)
    if status == 200:
        assert caught.value.exit_code == ExitCode.XERO_UNREACHABLE
        assert "could not be read (truncated or invalid JSON)" in str(caught.value)


def test_an_identity_answer_nested_past_the_parser_depth_is_refused(foreign) -> None:
    server = Foreign(200, DEEP, "application/json")
    foreign.append(server)
    identity = IdentityClient(Endpoints.at(server.base_url),
                              RetryPolicy(base_delay=0.01, max_delay=0.02))
    with pytest.raises(XeroRefusedError, match="no usable body"):
        identity.refresh(client_id="client", refresh_token="a-refresh-token")


def test_a_sandbox_probe_nested_past_the_parser_depth_is_not_a_sandbox(foreign) -> None:
    from xerolink.xero.discovery import sandbox_client_id

    server = Foreign(200, DEEP, "application/json")
    foreign.append(server)
    assert sandbox_client_id(Endpoints.at(server.base_url)) is None

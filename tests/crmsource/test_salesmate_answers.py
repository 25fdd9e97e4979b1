"""The Salesmate client against answers the sandbox's slice does not give: a server
that redirects to a login page, answers HTML, keeps answering 429 without Retry-After
or 5xx, and record shapes Salesmate's documentation leaves open. Each failure is one
line, a documented exit code, and nothing kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from support import serve_in_thread
from xerolink.crmsource.salesmate import parse_time, pick


class Stub(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"")
    seen: list[str] = []  # noqa: RUF012 - one stub server per test

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(self.path)
        status, headers, body = type(self).answer
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[Stub]]]:
    handler = type("Handler", (Stub,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serve_in_thread(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("answer,code,words", [
    ((302, {"Location": "https://salesmate.io/login"}, b""), 8, "check the linkname"),
    ((404, {"Content-Type": "text/html"}, b"<html>no such site</html>"), 8, "linkname"),
    ((200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"), 9, "other than JSON"),
    ((429, {}, b'{"Status":"failure"}'), 9, "rate limit"),
    ((500, {}, b"oops"), 9, "kept failing"),
    ((401, {}, b""), 8, "refused the access token"),
])
def test_a_foreign_server_s_failures_are_one_line_and_keep_nothing(stub, cli, monkeypatch,
                                                                    answer, code, words):
    base, handler = stub
    handler.answer = answer
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", "a-token-from-salesmate")
    assert cli("config", "set", "max_wait", "3")[0] == 0
    got, out, err = cli("crm", "connect", "salesmate", "--linkname", "acme",
                        "--salesmate-url", base)
    assert got == code, err
    assert words in err and len(err.strip().splitlines()) == 1
    assert "a-token-from-salesmate" not in out + err
    _, out, _ = cli("status", "--json")  # exit 3: no Xero connection either
    assert json.loads(out)["crm_source"]["source"] is None
    assert len(handler.seen) <= 5


def test_record_shapes_salesmate_may_answer_in() -> None:
    assert pick({"company": {"id": 5}}, "company.id") == 5
    assert pick({"company.id": 6}, "company.id") == 6
    assert pick({"company": 7}, "company.id") == 7
    assert pick({"company": None}, "company.id") is None
    assert parse_time("2026-11-26T10:00:00Z") == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert parse_time("2026-11-26T10:00:00") == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert parse_time(1_764_151_200_000) == datetime(2025, 11, 26, 10, tzinfo=UTC)
    assert parse_time("yesterday") is None and parse_time(True) is None

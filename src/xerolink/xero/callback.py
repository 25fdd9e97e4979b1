"""The loopback callback that receives the authorization code: 127.0.0.1 only, path
``/callback``, ``state`` checked, and closed after the one good request."""

from __future__ import annotations

import hmac
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from xerolink.errors import NotConnectedError, UsageError, XerolinkError

_DONE = (b"<!doctype html><title>xerolink</title><h1>xerolink is connected to Xero</h1>"
         b"<p>You can close this tab and return to the terminal.</p>")
_FAILED = (b"<!doctype html><title>xerolink</title><h1>Not connected</h1>"
           b"<p>Return to the terminal for details.</p>")


class CallbackServer:
    def __init__(self, port: int, state: str) -> None:
        self.state = state
        self.result: dict[str, str] | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self._answer(404, b"not found")
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if not hmac.compare_digest(query.get("state", ""), owner.state):
                    self._answer(400, b"state does not match; ignored")
                    return
                owner.result = query
                self._answer(200 if "code" in query else 400,
                             _DONE if "code" in query else _FAILED)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the request line carries the code: never log it

        try:
            self._server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} for Xero's callback ({exc.strerror}); "
                "pass another --port that your Xero app allows as a redirect URI") from None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def wait(self, timeout: float) -> str:
        """Serve until a request with the right state arrives; return its code."""
        deadline = time.monotonic() + timeout
        try:
            while self.result is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotConnectedError(
                        f"no answer from the browser within {int(timeout)} s; run "
                        "xerolink connect again (use --no-browser to open the link yourself)")
                self._server.timeout = min(remaining, 1.0)
                self._server.handle_request()
        finally:
            self.close()
        if "code" not in self.result:
            error = self.result.get("error", "no code")
            if error == "access_denied":
                raise NotConnectedError("the connection was cancelled in Xero; nothing changed")
            raise XerolinkError(f"Xero's authorisation failed ({error[:60]}); nothing changed")
        return self.result["code"]

    def close(self) -> None:
        self._server.server_close()

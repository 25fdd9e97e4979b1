"""The loopback callback that receives the authorization code: 127.0.0.1 only, path
``/callback``, ``state`` checked, and closed after the one good request.

The browser is answered only once the outcome is known: the request that brings the
code is held open while xerolink exchanges the code and reads the organisation, and
then gets a page that says what happened (connected to which organisation; what went
wrong and what to do; or that the terminal is asking which organisation).
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from xerolink.errors import NotConnectedError, UsageError, XerolinkError
from xerolink.xero.pages import page

HOLD_SECONDS = 600.0  # how long the browser's request waits for the outcome at most


@dataclass(frozen=True)
class Outcome:
    status: int
    title: str
    message: str
    tone: str  # "ok", "wait" or "fail"

    def html(self) -> bytes:
        return page(self.title, self.message, self.tone).encode("utf-8")


def connected(organisation: str) -> Outcome:
    return Outcome(200, f"Connected to {organisation}",
                   "xerolink can now show this organisation's quotes, invoices and bills. "
                   "You can close this tab and return to the terminal.", "ok")


def failed(reason: str) -> Outcome:
    return Outcome(400, "Not connected",
                   f"{reason}. Nothing was changed. Return to the terminal for what to do "
                   "next.", "fail")


def choose_on_consent(wanted: str, granted: list[str]) -> Outcome:
    """The consent allowed other organisations than the one --tenant names (Xero's
    page preselects one): say which, and what to choose next time."""
    return Outcome(400, f"Choose {wanted} on the consent page",
                   f"Xero gave xerolink access to {' and '.join(granted)}, not {wanted}, so "
                   "nothing was connected. Run the connect command again, and on Xero's "
                   f"consent page choose {wanted} before you allow access.", "fail")


CHOOSE_IN_TERMINAL = Outcome(
    200, "Choose the organisation in your terminal",
    "Xero gave xerolink access to more than one organisation. Return to the terminal "
    "and pick the one to connect; you can close this tab.", "wait")


class CallbackServer:
    def __init__(self, port: int, state: str) -> None:
        self.state = state
        self.result: dict[str, str] | None = None
        self._arrived = threading.Event()
        self._answered = threading.Event()
        self._outcome: Outcome | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self._answer(404, b"not found")
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if owner.result is not None or not hmac.compare_digest(
                        query.get("state", ""), owner.state):
                    self._answer(400, b"state does not match; ignored")
                    return
                owner.result = query
                owner._arrived.set()
                # Hold this request until xerolink knows how it went (bounded).
                owner._answered.wait(HOLD_SECONDS)
                outcome = owner._outcome or failed("xerolink stopped before it finished")
                self._answer(outcome.status, outcome.html())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
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
        self._server.timeout = 0.2
        self._thread = threading.Thread(target=self._serve, name="xerolink-callback",
                                        daemon=True)
        self._stopping = False
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping and not self._arrived.is_set():
            self._server.handle_request()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def wait(self, timeout: float) -> str:
        """Wait for the request with the right state; return its code. The browser is
        still waiting for its page: ``respond`` answers it."""
        deadline = time.monotonic() + timeout
        while not self._arrived.wait(0.2):
            if time.monotonic() >= deadline:
                raise NotConnectedError(
                    f"no answer from the browser within {int(timeout)} s; run "
                    "xerolink connect again, open the link it shows in a browser on this "
                    "machine and allow access (--timeout gives more time)")
        assert self.result is not None
        if "code" not in self.result:
            error = self.result.get("error", "no code")
            if error == "access_denied":
                self.respond(Outcome(200, "Connection cancelled",
                                     "You cancelled in Xero, so nothing was connected. You "
                                     "can close this tab.", "fail"))
                raise NotConnectedError("the connection was cancelled in Xero; nothing changed")
            self.respond(failed(f"Xero's authorisation failed ({error[:60]})"))
            raise XerolinkError(f"Xero's authorisation failed ({error[:60]}); nothing changed")
        return self.result["code"]

    def respond(self, outcome: Outcome) -> None:
        """Answer the browser's waiting request (the first answer stands)."""
        if not self._answered.is_set():
            self._outcome = outcome
            self._answered.set()

    def close(self) -> None:
        self._stopping = True
        self.respond(failed("xerolink stopped before it finished"))
        self._thread.join(timeout=5)
        self._server.server_close()

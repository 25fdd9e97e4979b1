"""The sandbox's socket server: a thread per connection on a loopback port, each request
answered by the Sandbox (server.py), which can be reset between tests."""

from __future__ import annotations

import copy
import dataclasses
import gc
import io
import pickle  # only ever loads what this process dumped, never input
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from xerolink.sandbox.answers import too_long
from xerolink.sandbox.seed import build_tenants
from xerolink.sandbox.server import Sandbox, is_loopback
from xerolink.sandbox.state import Response, SandboxOptions

MAX_BODY = 10 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer's headers and body are two writes; with Nagle's algorithm the body waits
    # for the client's delayed ACK (40 ms on Linux) on every kept-alive call.
    disable_nagle_algorithm = True
    server_version = "xerolink-sandbox"
    sys_version = ""

    def _dispatch(self) -> None:
        sandbox: Sandbox = self.server.sandbox  # type: ignore[attr-defined]
        if self.command not in ("GET", "HEAD") and \
                self.path.lower().startswith(("/api.xro", "/_sandbox")):
            # marked now, not once the body is in: a reset while it arrives copies the
            # books afresh rather than keep the ones this write will change
            sandbox.books_written = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send((413, b'{"error":"body too large"}', {"Content-Type": "application/json"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # an incomplete request (RFC 9112 6.3): never handled
            self.close_connection = True
            return
        # Xero measures the whole URL: scheme, host and target.
        url_length = len(f"https://{self.headers.get('Host') or ''}{self.path}")
        if not self.path.startswith("/_sandbox"):
            with sandbox.stats.lock:
                sandbox.stats.longest_url = max(sandbox.stats.longest_url, url_length)
        if url_length > sandbox.options.max_url:
            self._send(too_long(sandbox.options.long_url_answer))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = sandbox.handle(self.command, self.path, headers, body)
        if response is None:
            self.close_connection = True  # a dropped response: the client sees no answer
            return
        if not self.path.startswith("/_sandbox"):
            with sandbox.stats.lock:
                sandbox.stats.bytes_sent += len(response[1])
        self._send(response)

    def _send(self, response: Response) -> None:
        from email.utils import formatdate

        sandbox: Sandbox = self.server.sandbox  # type: ignore[attr-defined]
        status, payload, headers = response
        self.send_response_only(status)
        self.send_header("Server", self.version_string())
        # One Date header, from the sandbox's clock (which the control API can move),
        # so that clients' clock-skew checks can be tested.
        self.send_header("Date", formatdate(sandbox.clock.now(), usegmt=True))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the control API's stats are the sandbox's record


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away (killed, timed out): nothing to answer
        super().handle_error(request, client_address)


class _Frozen:
    """Books kept to be copied: pickled, with each distinct amount, date and time kept
    aside once and shared by every copy (they are immutable; building them again was
    half of a copy's time)."""

    def __init__(self, books: Any) -> None:
        buffer = io.BytesIO()
        pickler = _SetAside(buffer)
        pickler.dump(books)
        self._dump, self._values = buffer.getvalue(), pickler.values

    def thaw(self) -> Any:
        """A copy that shares nothing mutable with the books or any other copy."""
        return _TakeBack(self._dump, self._values).load()  # our own dump, never input


class _SetAside(pickle.Pickler):
    SHARED = (Decimal, date, datetime)

    def __init__(self, buffer: io.BytesIO) -> None:
        super().__init__(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self.values: list[Any] = []
        self._index: dict[str, int] = {}

    def persistent_id(self, obj: Any) -> int | None:
        if type(obj) not in self.SHARED:
            return None
        # Not the value: 1.0 equals 1.00, and a time equals the same instant in another
        # zone; the repr tells them apart.
        key = repr(obj)
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(obj)
        return self._index[key]


class _TakeBack(pickle.Unpickler):
    def __init__(self, dump: bytes, values: list[Any]) -> None:
        super().__init__(io.BytesIO(dump))
        self._values = values

    def persistent_load(self, pid: Any) -> Any:
        return self._values[pid]


class SandboxServer:
    """Start and stop the sandbox on a loopback port, in-process or from the CLI."""

    def __init__(self, options: SandboxOptions | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, tenants: list[Any] | None = None) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox only listens on loopback addresses, not {host}")
        self._options = options or SandboxOptions()
        self._tenants = copy.deepcopy(tenants)
        self._sandbox = Sandbox(dataclasses.replace(self._options), tenants)
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self._sandbox  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._seeded: tuple[date, _Frozen] | None = None  # the day's books, for reset()
        self._pristine: date | None = None  # the day whose books are as seeded, unread

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox's state, to read or change straight (tests do both): the books
        are then taken to be changed, and the next reset copies them afresh."""
        self._pristine = None
        return self._sandbox

    @property
    def tenants(self) -> list[Any]:
        """The organisations, only to be read: what a test's own helpers look up (ids,
        names, contacts) without the next reset having to copy the books again."""
        return list(self._sandbox.tenants.values())

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._start_webhooks()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="xerolink-sandbox", daemon=True)
        self._thread.start()
        return self.base_url

    @property
    def serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def reset(self) -> None:
        """Become, on the same port, what a new server with the same options would be:
        the books seeded afresh; grants, tokens, faults, limits, clock and statistics
        forgotten. Tests share one server this way instead of starting one each."""
        if self._sandbox.webhooks is not None:
            self._sandbox.webhooks.stop()
        self._sandbox = Sandbox(dataclasses.replace(self._options), self._fresh_tenants())
        self._server.sandbox = self._sandbox  # type: ignore[attr-defined]
        self._start_webhooks()

    def _fresh_tenants(self) -> list[Any] | None:
        """The books a new server would seed: the same seed gives the same books on the
        same day, so the day's are seeded once and each reset takes a copy (a third of
        the seeding's time). Another day, or a clock that runs faster than real time,
        seeds afresh."""
        if self._tenants is not None:
            return copy.deepcopy(self._tenants)
        if self._options.clock_speed != 1:
            return None
        now = datetime.now(UTC)
        if self._pristine == now.date() and not self._sandbox.books_written:
            # Nothing but reads since the last copy (no request other than GET or HEAD,
            # nobody holding ``sandbox``): the books are still as seeded today.
            return list(self._sandbox.tenants.values())
        if self._seeded is None or self._seeded[0] != now.date():
            seeded = build_tenants(self._options.seed, self._options.contacts, now.date(), now)
            self._seeded = (now.date(), _Frozen(seeded))
        self._pristine = now.date()
        # Tens of thousands of small objects at once set off the collector's full passes
        # over the whole process (a test run's heap): paused, a copy takes half the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            tenants: list[Any] = self._seeded[1].thaw()
        finally:
            if collecting:
                gc.enable()
        return tenants

    def serve_forever(self) -> None:
        self._start_webhooks()
        self._server.serve_forever()

    def _start_webhooks(self) -> None:
        if self._sandbox.webhooks is not None:
            self._sandbox.webhooks.start()

    def close(self) -> None:
        """Release the port after ``serve_forever`` returned (the CLI's path)."""
        if self._sandbox.webhooks is not None:
            self._sandbox.webhooks.stop()
        self._server.server_close()

    def stop(self) -> None:
        if self._sandbox.webhooks is not None:
            self._sandbox.webhooks.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

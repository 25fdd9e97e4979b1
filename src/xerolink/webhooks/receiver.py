"""Receiving Xero's webhooks: a WSGI application on waitress (a production server
that runs in a thread of this process and stops cleanly), on loopback behind the
TLS reverse proxy Xero talks to.

Each delivery is checked (size, then ``x-xero-signature`` over the raw bytes, in
constant time), its events are stored, and only then answered 200 with an empty
body; the service re-reads what they name later (``services.webhooks``). Xero's
intent-to-receive needs nothing special: a correctly signed empty list gets 200, a
wrongly signed one 401, as every delivery does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xerolink.store import Store
from xerolink.store.webhooks import WebhookEvent

MAX_BODY = 1024 * 1024  # Xero documents no limit; 1 MiB is thousands of events
CATEGORIES = frozenset({"CONTACT", "INVOICE", "CREDITNOTE"})
EVENT_TYPES = frozenset({"CREATE", "UPDATE"})
STOP_SECONDS = 5.0
_HEX = frozenset("0123456789abcdef-")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def signature(body: bytes, key: str) -> str:
    """Xero's ``x-xero-signature``: base64 of HMAC-SHA256 of the raw body."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_correctly(body: bytes, header: str, key: str) -> bool:
    """Whether ``header`` is the body's signature, compared in constant time."""
    expected = signature(body, key).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("latin-1", "replace"))


def _guid(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if len(text) == 36 and set(text) <= _HEX else None


def parse_events(body: bytes) -> list[WebhookEvent] | None:
    """The events of a delivery that xerolink acts on (other categories, such as
    SUBSCRIPTION, are dropped); None when the body is not Xero's payload. Only the
    ids, category, type and date are kept: nothing else in an event is trusted."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        return None
    events = []
    for raw in data["events"]:
        event = _event(raw) if isinstance(raw, dict) else None
        if event is not None:
            events.append(event)
    return events


def _event(raw: dict[str, Any]) -> WebhookEvent | None:
    category = str(raw.get("eventCategory") or "").upper()
    event_type = str(raw.get("eventType") or "").upper()
    tenant, resource = _guid(raw.get("tenantId")), _guid(raw.get("resourceId"))
    date = str(raw.get("eventDateUtc") or "").strip()
    if category not in CATEGORIES or event_type not in EVENT_TYPES or not 0 < len(date) <= 40:
        return None
    if tenant is None or resource is None:
        return None
    return WebhookEvent(tenant, category, resource, event_type, date)


@dataclass
class Health:
    """What the receiver has seen, for ``status``: counts and when."""

    accepted: int = 0
    rejected: int = 0
    events_added: int = 0
    unreadable: int = 0  # correctly signed, but not Xero's payload: nothing stored
    last_accepted_at: str | None = None
    last_rejected_at: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {"accepted": self.accepted, "rejected": self.rejected,
                    "events_added": self.events_added, "unreadable": self.unreadable,
                    "last_accepted_at": self.last_accepted_at,
                    "last_rejected_at": self.last_rejected_at}


class Receiver:
    """The WSGI application. The store is the receiver's own (one connection, used
    under one lock); ``wake`` is set whenever new events were stored."""

    def __init__(self, key: str, store: Store, wake: threading.Event,
                 now: Callable[[], datetime] | None = None) -> None:
        if not key:
            raise ValueError("the webhook key is empty")
        self._key = key
        self._store = store
        store.durable_writes()  # an event answered 200 outlives a power cut too
        self._store_lock = threading.Lock()
        self.wake = wake
        self.health = Health()
        self._now = now or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:  # the key never shows
        return "Receiver(key=***)"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        status = self._answer(environ)
        start_response(status, [("Content-Length", "0")])
        return [b""]

    def _answer(self, environ: dict[str, Any]) -> str:
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request"
        if length > MAX_BODY:
            return "413 Payload Too Large"
        body = environ["wsgi.input"].read(min(max(length, 0), MAX_BODY + 1))
        if len(body) > MAX_BODY:
            return "413 Payload Too Large"
        if not signed_correctly(body, environ.get("HTTP_X_XERO_SIGNATURE", ""), self._key):
            self._count(accepted=False)
            return "401 Unauthorized"
        events = parse_events(body)
        if events is None:  # Xero: 200 for every correctly signed payload
            with self.health.lock:
                self.health.unreadable += 1
            return "200 OK"
        try:
            with self._store_lock:
                added = self._store.add_webhook_events(events, self._now())
        except Exception:  # not stored: Xero must retry; never a 200
            return "503 Service Unavailable"
        self._count(accepted=True, added=added)
        if added:
            self.wake.set()
        return "200 OK"

    def _count(self, *, accepted: bool, added: int = 0) -> None:
        at = self._now().isoformat(timespec="seconds")
        with self.health.lock:
            if accepted:
                self.health.accepted += 1
                self.health.events_added += added
                self.health.last_accepted_at = at
            else:
                self.health.rejected += 1
                self.health.last_rejected_at = at


class ReceiverHandle:
    """A running receiver: its address, its health, and ``stop()``."""

    def __init__(self, server: Any, receiver: Receiver, thread: threading.Thread,
                 closing: threading.Event) -> None:
        self._server = server
        self.receiver = receiver
        self._thread = thread
        self._closing = closing
        self.host, self.port = str(server.effective_host), int(server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def health(self) -> Health:
        return self.receiver.health

    def stop(self) -> None:
        """Close every socket from the server's own loop, then wait for its threads."""
        server = self._server

        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        def close_all_but_the_pipe() -> None:
            """From this thread, the pipe's numbers left alone: they may name another
            file by now. The loop ends at its next turn, on an empty map."""
            from waitress import wasyncore

            for dispatcher in list(server._map.values()):
                if dispatcher is server.trigger:
                    continue
                with contextlib.suppress(OSError):
                    if dispatcher is server:  # its socket, not (as its close does) the pipe
                        wasyncore.dispatcher.close(dispatcher)
                    else:
                        dispatcher.close()
            server._map.clear()

        if self._thread.is_alive():
            try:
                server.trigger.pull_trigger(close_all)
            except OSError:  # its wake-up pipe was closed under it (EBADF)
                self._closing.set()  # the loop may meet a socket closed mid-turn: its end
                close_all_but_the_pipe()
            self._thread.join(timeout=STOP_SECONDS)
        server.task_dispatcher.shutdown(timeout=STOP_SECONDS)


def start_receiver(host: str, port: int, key: str, store: Store, wake: threading.Event,
                   *, now: Callable[[], datetime] | None = None) -> ReceiverHandle:
    """Listen on ``host:port`` (loopback; port 0 picks one) in a daemon thread."""
    from waitress.server import create_server

    if not _is_loopback(host):
        raise ValueError(f"the webhook receiver listens on loopback only, not {host!r}; "
                         "put a TLS reverse proxy in front of it")
    receiver = Receiver(key, store, wake, now)
    server = create_server(receiver, host=host, port=port, threads=4, ident="",
                           max_request_body_size=MAX_BODY + 1, channel_timeout=30,
                           clear_untrusted_proxy_headers=True)
    closing = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, closing), name="xerolink-webhooks",
                              daemon=True)
    thread.start()
    return ReceiverHandle(server, receiver, thread, closing)


def _serve(server: Any, closing: threading.Event) -> None:
    """The server's loop. Sockets closed from another thread while it waits in select
    (``stop()`` without the wake-up pipe) end it with EBADF: that is its end, not an
    error; any other time, the error stands."""
    try:
        server.run()
    except OSError:
        if not closing.is_set():
            raise


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

"""The sandbox's webhook sender, as Xero sends them: the intent-to-receive exchange
first (a correctly signed empty delivery must get 200, a wrongly signed one 401),
then, for every create or update of a contact, invoice or bill, signed deliveries of
batched events in Xero's payload shape, each retried with growing delays on anything
but 200. Self-contained (stdlib only): the sandbox shares nothing with xerolink's
own receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

TIMEOUT = 5.0  # Xero gives a receiver 5 seconds
MAX_ATTEMPTS = 8  # then the delivery is marked failed (Xero: retries for 24 hours)
MAX_DELAY = 60.0
MAX_KEPT = 1000  # deliveries listed under /_sandbox/webhooks
XERO_API = "https://api.xero.com/api.xro/2.0"  # as Xero names resources in events
RESOURCE_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
                            ).decode("ascii")


class WebhookSender:
    """Queues events as the books change and delivers them from its own thread."""

    def __init__(self, url: str, key: str, now: Callable[[], float], *,
                 retry_base: float = 1.0,
                 batch_seconds: float = 0.2) -> None:
        self.url, self._key, self._now = url, key, now
        self.retry_base, self.batch_seconds = retry_base, batch_seconds
        self._queue: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.deliveries: list[dict[str, Any]] = []
        self.intent: dict[str, Any] = {"status": "not tried", "answers": []}
        self.sequence = 0
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"WebhookSender(url={self.url!r}, key=***)"

    # -- what the books tell it ------------------------------------------------------
    def event(self, tenant_id: str, category: str, resource_id: str, event_type: str) -> None:
        moment = datetime.fromtimestamp(self._now(), UTC)
        with self._cond:
            self._queue.append({
                "resourceUrl": f"{XERO_API}/{RESOURCE_PATHS[category]}/{resource_id}",
                "resourceId": resource_id,
                "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "eventType": event_type,
                "eventCategory": category,
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
            })
            self._cond.notify()

    # -- the thread ------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 1)

    def _run(self) -> None:
        self.intent_to_receive()
        while not self._stopping.is_set():
            events = self._next_batch()
            if events:
                self._deliver(self._new_delivery(events))

    def _next_batch(self) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._stopping.is_set(), timeout=1.0)
        if self._stopping.wait(self.batch_seconds):  # nearby changes join this batch
            return []
        with self._cond:
            events, self._queue = self._queue, []
        return events

    # -- sending ---------------------------------------------------------------------
    def intent_to_receive(self) -> bool:
        """Xero's check before it enables a webhook: one correctly signed empty
        delivery (200 wanted) and one wrongly signed (401 wanted)."""
        body = self._payload([])
        right = self._post(body, sign(body, self._key))
        wrong = self._post(body, sign(body, self._key + "-not-the-key"))
        passed = right == 200 and wrong == 401
        with self._lock:
            self.intent = {"status": "passed" if passed else "failed",
                           "answers": [{"signed": True, "status": right, "wanted": 200},
                                       {"signed": False, "status": wrong, "wanted": 401}]}
        return passed

    def _payload(self, events: list[dict[str, Any]], first: int = 0, last: int = 0) -> bytes:
        return json.dumps({"events": events, "firstEventSequence": first,
                           "lastEventSequence": last,
                           "entropy": secrets.token_hex(10).upper()}).encode("utf-8")

    def _new_delivery(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            first = self.sequence + 1
            self.sequence += len(events)
            delivery = {"id": first, "events": events, "status": "pending", "attempts": [],
                        "firstEventSequence": first, "lastEventSequence": self.sequence}
            self.deliveries.append(delivery)
            del self.deliveries[:-MAX_KEPT]
        return delivery

    def _deliver(self, delivery: dict[str, Any]) -> None:
        """Until a 200, with growing delays (retry_base, twice that, ...), boundedly."""
        if self.intent["status"] != "passed" and not self.intent_to_receive():
            delivery["status"] = "not sent: intent to receive failed"
            return
        body = self._payload(delivery["events"], delivery["firstEventSequence"],
                             delivery["lastEventSequence"])
        delay = self.retry_base
        for attempt in range(1, MAX_ATTEMPTS + 1):
            status = self._post(body, sign(body, self._key))
            with self._lock:
                delivery["attempts"].append({"at": self._now(), "status": status,
                                             "attempt": attempt})
            if status == 200:
                delivery["status"] = "delivered"
                return
            if attempt == MAX_ATTEMPTS or self._stopping.wait(delay):
                break
            delay = min(delay * 2, MAX_DELAY)
        delivery["status"] = "failed"

    def _post(self, body: bytes, signature: str) -> int | None:
        """The receiver's status, or None when it could not be reached in time."""
        # The URL is http(s) on loopback: the sandbox checked it when it started.
        request = urllib.request.Request(self.url, data=body, method="POST", headers={  # noqa: S310
            "Content-Type": "application/json", "x-xero-signature": signature,
            "User-Agent": "Xero-Webhooks (sandbox)"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (OSError, ValueError):
            return None

    # -- the control route -----------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {"url": self.url, "intent": dict(self.intent),
                    "queued": len(self._queue),
                    "deliveries": [{**d, "attempts": list(d["attempts"]),
                                    "events": list(d["events"])} for d in self.deliveries]}



def sender_for(options: Any, now: Callable[[], float], books: Any) -> WebhookSender | None:
    """The sender ``options`` ask for (``webhook_url`` on loopback, with a key), told of
    every write to ``books`` (the Accounting API); None when none is asked for."""
    import ipaddress
    from urllib.parse import urlsplit

    if not options.webhook_url:
        return None
    url = urlsplit(options.webhook_url)
    host = url.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if url.scheme not in ("http", "https") or not loopback or not options.webhook_key:
        raise ValueError("the sandbox sends webhooks to a loopback URL, with a key")
    sender = WebhookSender(options.webhook_url, options.webhook_key, now,
                           retry_base=options.webhook_retry_base,
                           batch_seconds=options.webhook_batch_seconds)
    books.on_write = sender.event
    return sender

"""Posting signed deliveries to a receiver as Xero posts them."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any

from xerolink.webhooks import ReceiverHandle, signature

KEY = "sandbox-webhook-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/="


def post(handle: ReceiverHandle, body: bytes, sig: str | None, *,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """POST a raw body to the receiver, as Xero does; (status, body, headers)."""
    conn = http.client.HTTPConnection(handle.host, handle.port, timeout=10)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if sig is not None:
            sent["x-xero-signature"] = sig
        conn.request("POST", "/", body=body, headers=sent)
        answer = conn.getresponse()
        return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
    finally:
        conn.close()


def event(tenant: str, resource: str, category: str = "INVOICE", event_type: str = "UPDATE",
          date: str = "2026-11-30T10:00:00.123") -> dict[str, Any]:
    paths = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/{paths[category]}/{resource}",
            "resourceId": resource, "eventDateUtc": date, "eventType": event_type,
            "eventCategory": category, "tenantId": tenant, "tenantType": "ORGANISATION"}


def payload(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events), "firstEventSequence": 1 if events else 0,
                       "lastEventSequence": len(events), "entropy": "ABCDEFGHIJ"}).encode()


def signed(handle: ReceiverHandle, body: bytes, key: str = KEY) -> int:
    return post(handle, body, signature(body, key))[0]


def new_id() -> str:
    return str(uuid.uuid4())

"""What Xero answers, as xerolink's types: refusals, tenants, the organisation, the
log of a run's calls, and Xero's error bodies turned into one readable line."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from xerolink.errors import NotConnectedError, XeroRefusedError
from xerolink.xero.jsonutil import MalformedAnswer, loads, text


class UriTooLong(XeroRefusedError):
    """Xero refused a URL as too long: send fewer ids per request."""


class ScopeMissing(NotConnectedError):
    """Xero's 401 AuthorizationUnsuccessful: the token lacks the call's scope (or the
    app's tier lacks the endpoint). Refreshing cannot help; reconnecting with the
    scope can."""

    def __init__(self, message: str, scope: str | None) -> None:
        super().__init__(message)
        self.scope = scope


class EndpointUnavailable(XeroRefusedError):
    """The server does not serve this endpoint (a 404 on a list, not on an id)."""



class TokenProvider(Protocol):
    def access_token(self, rejected: str | None = None) -> str: ...


@dataclass(frozen=True)
class TenantInfo:
    tenant_id: str
    tenant_name: str
    tenant_type: str
    connection_id: str


@dataclass(frozen=True)
class OrganisationInfo:
    name: str
    short_code: str
    base_currency: str
    timezone: str
    country_code: str



@dataclass
class CallLog:
    """What this run cost: calls by endpoint, retries, waits, last rate-limit headroom."""

    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    retries: int = 0
    waited_seconds: float = 0.0
    limits: dict[str, Any] = field(default_factory=dict)
    bytes_in: int = 0  # response bodies downloaded: Xero bills egress by the GB
    server_date: str | None = None  # Xero's Date header, for clock-skew checks
    server_date_seen_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def header(headers: Any, name: str) -> Any:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None:
        value = getter(name.lower())
    return value


def problem_detail(body: bytes | None) -> str:
    """The ``Detail`` of Xero's 401 problem body ("TokenExpired: ...",
    "AuthenticationUnsuccessful", "AuthorizationUnsuccessful"); empty if unreadable."""
    try:
        data = loads(body) if body else {}
    except MalformedAnswer:
        return ""
    return text(data.get("Detail")) if isinstance(data, dict) else ""


def validation_message(body: bytes) -> str:
    """Xero's ValidationException as one readable line."""
    try:
        data = loads(body) if body else {}
    except MalformedAnswer as exc:
        return f"an answer that is {exc}"
    messages: list[str] = []
    if isinstance(data, dict):
        for element in data.get("Elements") or []:
            for error in (element or {}).get("ValidationErrors") or []:
                message = text((error or {}).get("Message")).strip()
                if message and message not in messages:
                    messages.append(message)
        if not messages:
            for key in ("Message", "Detail", "error_description", "Title"):
                if data.get(key):
                    messages.append(text(data[key]))
                    break
    return "; ".join(messages)[:500] or "no reason given"

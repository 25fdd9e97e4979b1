"""What Xero answers, as xerolink's types: refusals, tenants, the organisation, the
log of a run's calls, and Xero's error bodies turned into one readable line."""

from __future__ import annotations

import collections
import html
import re
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


def http_status(exc: Any) -> int:
    """The HTTP status of a refused call, read from the response itself. xero-python's
    ``AccountingBadRequestException.status`` parses the body as JSON first, so on an
    HTML, empty or XML 400 reading ``exc.status`` raises (docs/xero-fidelity.md)."""
    status = getattr(getattr(exc, "http_resp", None), "status", None)
    if not isinstance(status, int):
        from xero_python.exceptions import ApiException

        status = ApiException.status.fget(exc)  # the base property: no body parsing
    return status if isinstance(status, int) else 0


def problem_field(data: Any, name: str) -> str:
    """A field of a problem body, whichever case Xero used: ``Detail`` on a 401,
    ``detail`` on some 403s (docs/xero-fidelity.md)."""
    if not isinstance(data, dict):
        return ""
    value = data.get(name)
    if value is None:
        value = data.get(name.lower())
    return text(value)


def problem_detail(body: bytes | None) -> str:
    """The ``Detail`` of Xero's 401 problem body ("TokenExpired: ...",
    "AuthenticationUnsuccessful", "AuthorizationUnsuccessful"); empty if unreadable."""
    try:
        data = loads(body) if body else {}
    except MalformedAnswer:
        return ""
    return problem_field(data, "Detail")


MAX_REASON = 500
_XML_ERRORS = re.compile(r"<ValidationError>\s*<Message>(.*?)</Message>", re.S)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)


def refusal_reason(body: bytes | None, status: int | None = None) -> str:
    """Why Xero (or something in front of it) refused a call, as one readable line:
    a ValidationException's messages, a problem body's detail, the messages of Xero's
    XML ``ApiException``, or a cut of an HTML or text page; never a parse error. An
    answer that is not Xero's JSON is named with its HTTP ``status``."""
    raw = (body or b"")[:100_000]
    named = f"HTTP {status} with " if status else ""
    if not raw.strip():
        return f"{named}an empty answer"
    try:
        data = loads(raw)
    except MalformedAnswer:
        # A cut of the page is enough to name it, and keeps the patterns' work small.
        reason = _non_json_reason(raw[:20_000].decode("utf-8", errors="replace"))
        return f"HTTP {status}: {reason}" if status else reason
    messages = _json_messages(data) if isinstance(data, dict) else []
    return _one_line("; ".join(messages)) or "no reason given"


def validation_message(body: bytes) -> str:
    """Xero's ValidationException (JSON or XML) as one readable line."""
    return refusal_reason(body)


def _json_messages(data: dict[str, Any]) -> list[str]:
    messages: list[str] = []
    for element in data.get("Elements") or []:
        errors = element.get("ValidationErrors") if isinstance(element, dict) else None
        for error in errors or []:
            message = text((error or {}).get("Message") if isinstance(error, dict)
                           else None).strip()
            if message and message not in messages:
                messages.append(message)
    if not messages:
        for key in ("Message", "Detail", "error_description", "Title", "error"):
            found = problem_field(data, key)
            if found:
                messages.append(found)
                break
    return messages


def _non_json_reason(page: str) -> str:
    stripped = page.lstrip()
    if stripped.startswith(("<ApiException", "<?xml")) or "<ApiException" in page[:500]:
        found = [html.unescape(m).strip() for m in _XML_ERRORS.findall(page)]
        found = [m for i, m in enumerate(found) if m and m not in found[:i]]
        if not found:
            found = [html.unescape(m).strip() for m in _XML_MESSAGE.findall(page)[:1]]
        if found:
            return _one_line("; ".join(found))
    if stripped.lower().startswith(("<!doctype", "<html")) or "<body" in page[:2000].lower():
        words = _one_line(html.unescape(_TAGS.sub(" ", page)))
        return f"a web page, {words}" if words else "a web page"
    return _one_line(page)


def _one_line(value: str) -> str:
    """Whitespace and control characters collapsed, cut to ``MAX_REASON``."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    return flat if len(flat) <= MAX_REASON else flat[:MAX_REASON - 3] + "..."

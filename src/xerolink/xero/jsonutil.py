"""Reading Xero's JSON on the client side: exact amounts and ``/Date(...)/`` dates."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from xerolink.money import CENT

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class MalformedAnswer(ValueError):
    pass


def loads(body: bytes) -> Any:
    """Parse a Xero answer with every number as Decimal; HTML or truncated JSON raises."""
    try:
        return json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:40].decode("utf-8", errors="replace").strip()
        kind = "a web page" if snippet.lower().startswith(("<!doctype", "<html")) else (
            "truncated or invalid JSON")
        raise MalformedAnswer(kind) from exc


def ms_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        match = _MS_DATE.match(value.strip())
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def ms_date(value: Any) -> date | None:
    moment = ms_datetime(value)
    return None if moment is None else moment.date()


def amount(value: Any) -> Decimal:
    """An amount as Decimal; missing means zero. Floats are converted via their text."""
    if value is None or value == "":
        return Decimal("0")
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise MalformedAnswer(f"{value!r} is not an amount") from exc


def money(value: Any) -> Decimal:
    """A Xero money amount (always in cents) as Decimal with two places."""
    return amount(value).quantize(CENT)


def text(value: Any) -> str:
    return "" if value is None else str(value)

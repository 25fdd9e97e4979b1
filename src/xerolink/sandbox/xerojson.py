"""Xero's JSON conventions: PascalCase, ``/Date(ms+0000)/`` dates, numbers for amounts."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def ms_date(value: date | datetime) -> str:
    """``/Date(1700000000000+0000)/``; a plain date is midnight UTC of that day."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=UTC)
    millis = int(value.timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def date_string(value: date) -> str:
    """Xero's ``DateString``: ``2026-11-26T00:00:00``."""
    return f"{value.isoformat()}T00:00:00"


def parse_date(value: Any) -> date | None:
    """Accept what clients send for a date: ISO ``YYYY-MM-DD[T...]`` or ``/Date(ms)/``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    match = _MS_DATE.match(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    text = value.strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    return date.fromisoformat(text)


def decimal_number(value: Decimal) -> float:
    """An amount as a JSON number. Safe because amounts carry at most 15 significant
    digits, where the shortest float repr round-trips to the same decimal text."""
    digits = len(value.as_tuple().digits)
    if digits > 15:
        raise ValueError(f"amount {value} has too many digits to send as a JSON number")
    return float(value)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_number(value)
    if isinstance(value, datetime):
        return ms_date(value)
    if isinstance(value, date):
        return ms_date(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_default, separators=(",", ":")).encode("utf-8")


def utc_now_iso(now: datetime) -> str:
    """The envelope's ``DateTimeUTC``: ``2026-11-26T10:00:00.1234567`` (no offset)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"

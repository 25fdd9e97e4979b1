"""Reading Xero's JSON on the client side: exact amounts and ``/Date(...)/`` dates."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from xerolink.money import CENT
from xerolink.validation import FIRST_YEAR, LAST_YEAR

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# The bounds xerolink's own inputs keep (services/create.py, validation.py): an answer
# outside them is the server's fault, not a figure to add up.
LIMIT = Decimal("1e12")
MAX_PLACES = 4
RATE_PLACES = 10
_FIRST_MS = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000)
_LAST_MS = int(datetime(LAST_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)


class MalformedAnswer(ValueError):
    pass


def loads(body: bytes) -> Any:
    """Parse a Xero answer with every number as Decimal; HTML or truncated JSON raises."""
    try:
        return json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than Python's parser can follow.
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
            digits = match.group(1)
            ms = int(digits) if len(digits) <= 20 else _LAST_MS + 1  # no 4300-digit int()
            if not _FIRST_MS <= ms <= _LAST_MS:
                raise MalformedAnswer(f"{value[:40]!r} is not a date from {FIRST_YEAR} "
                                      f"to {LAST_YEAR}")
            return datetime.fromtimestamp(ms / 1000, UTC)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise MalformedAnswer(f"{value[:40]!r} is not a date from {FIRST_YEAR} to "
                                  f"{LAST_YEAR}")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def ms_date(value: Any) -> date | None:
    moment = ms_datetime(value)
    return None if moment is None else moment.date()


def amount(value: Any, places: int = MAX_PLACES) -> Decimal:
    """An amount as Decimal; missing means zero. Floats are converted via their text.
    Not a finite number below 10^12 with at most ``places`` decimals: malformed."""
    if value is None or value == "":
        return Decimal("0")
    shown = repr(value)[:40]
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise MalformedAnswer(f"{shown} is not an amount")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise MalformedAnswer(f"{shown} is not an amount") from exc
    if not number.is_finite() or abs(number) >= LIMIT:
        raise MalformedAnswer(f"{shown} is not an amount below 1,000,000,000,000")
    if number.normalize().as_tuple().exponent < -places:  # type: ignore[operator]
        raise MalformedAnswer(f"{shown} has more than {places} decimal places")
    return number


def money(value: Any) -> Decimal:
    """A Xero money amount (always in cents) as Decimal with two places."""
    return amount(value).quantize(CENT)


def rate(value: Any) -> Decimal | None:
    """A currency rate: a positive amount, or None where the answer has none."""
    if value is None or value == "":
        return None
    number = amount(value, RATE_PLACES)
    if number <= 0:
        raise MalformedAnswer(f"{repr(value)[:40]} is not a rate above zero")
    return number


def text(value: Any) -> str:
    return "" if value is None else str(value)

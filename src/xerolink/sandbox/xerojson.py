"""Xero's JSON conventions: PascalCase, ``/Date(ms+0000)/`` dates, numbers for amounts,
and the forms live answers take on the wire (docs/xero-fidelity.md, "Answers"):
pretty-printed with CRLF line ends, the dates' slashes escaped (``\\/Date(...)\\/``),
the envelope's ``DateTimeUTC`` without an offset."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def ms_date(value: date | datetime) -> str:
    """``/Date(1700000000000+0000)/``; a plain date is midnight UTC of that day."""
    if type(value) is date or (type(value) is datetime and value.tzinfo is UTC):
        return _cached_ms_date(value)
    # Not cached: a local time, or a zone's, where two equal keys can be different
    # instants (``fold``: the hour a clock goes back is lived twice).
    return _ms_date(value)


def _ms_date(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=UTC)
    millis = int(value.timestamp() * 1000)
    return f"/Date({millis}+0000)/"


# The books' dates repeat (days, due dates) in every answer; a date, or a time in UTC,
# stands for one instant, so equal keys have the same text.
_cached_ms_date = functools.lru_cache(maxsize=8192)(_ms_date)


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
    text = str(value)
    if len(text) <= 15 and value.is_finite():  # then at most 15 digits: ``float(value)``
        return float(text)                      # reads this same text
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


# Dates and times go through _default (Xero's /Date(ms+0000)/), not orjson's ISO form.
# orjson writes what json.dumps(indent=2) or its compact form writes, byte for byte
# for the books' usual values (amounts within 15 digits, dates, ASCII text), about
# four times as fast; but text as UTF-8, not \u escapes (both are JSON, and the
# answers say charset=utf-8). The pretty answers were most of the sandbox's time.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(data: Any) -> bytes:
    """Compact JSON, for the control API and internal records."""
    try:
        return orjson.dumps(data, default=_default, option=_OPTIONS)
    except TypeError:  # what orjson refuses and json writes: a lone surrogate, a huge int
        return json.dumps(data, default=_default, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Forms:
    """The forms of the Accounting API's answers. The defaults are live Xero's; the
    others are forms live answers have also taken, switched on by faults."""

    pretty: bool = True  # indented, CRLF line ends (False: compact)
    date_offsets: bool = True  # /Date(ms+0000)/ (False: /Date(ms)/, as older answers)
    pagination: bool = True  # a paged list answer carries ``pagination``
    currency_rate: bool = True  # base-currency documents carry CurrencyRate 1
    xml_errors: bool = False  # validation answers as Xero's XML ApiException


_WIRE_DATE = re.compile(rb'"/Date\((-?\d+)([+-]\d{4})?\)/"')


def wire(data: Any, forms: Forms) -> bytes:
    """An Accounting API answer as live Xero writes it."""
    if forms.pretty:
        try:
            body = orjson.dumps(data, default=_default, option=_OPTIONS | orjson.OPT_INDENT_2
                                ).replace(b"\n", b"\r\n")
        except TypeError:  # as in dumps
            body = json.dumps(data, default=_default, indent=2).replace("\n", "\r\n").encode()
    else:
        body = dumps(data)

    def escaped(match: re.Match[bytes]) -> bytes:
        offset = (match.group(2) or b"") if forms.date_offsets else b""
        return b'"\\/Date(' + match.group(1) + offset + b')\\/"'

    return _WIRE_DATE.sub(escaped, body)


def ms_instant(value: datetime) -> str:
    """``/Date(ms)/`` without an offset: the envelope's ``DateTimeUTC`` in live answers."""
    return f"/Date({int(value.timestamp() * 1000)})/"


def utc_now_iso(now: datetime) -> str:
    """The envelope's ``DateTimeUTC``: ``2026-11-26T10:00:00.1234567`` (no offset)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def xml_api_exception(body: dict[str, Any]) -> bytes:
    """A validation answer as Xero's XML ``ApiException`` (XeroAPI-Schemas #13, pyxero
    #43): the same messages, in the form older answers and some errors still take."""
    from xml.sax.saxutils import escape

    elements = []
    for element in body.get("Elements") or []:
        errors = "".join(
            f"\r\n        <ValidationError>\r\n          <Message>{escape(str(e['Message']))}"
            "</Message>\r\n        </ValidationError>"
            for e in element.get("ValidationErrors") or [])
        elements.append("\r\n    <DataContractBase xsi:type=\"Element\">\r\n      "
                        f"<ValidationErrors>{errors}\r\n      </ValidationErrors>\r\n"
                        "    </DataContractBase>")
    text = ('<ApiException xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n'
            f"  <ErrorNumber>{body.get('ErrorNumber', 10)}</ErrorNumber>\r\n"
            f"  <Type>{escape(str(body.get('Type', 'ValidationException')))}</Type>\r\n"
            f"  <Message>{escape(str(body.get('Message', '')))}</Message>\r\n"
            f"  <Elements>{''.join(elements)}\r\n  </Elements>\r\n</ApiException>")
    return text.encode("utf-8")

"""What text from users and files may hold: one set of rules for every input.

- No control characters (C0, DEL, C1) and no bidi controls, which make text read in
  an order other than it is stored (the "Trojan source" trick), in ids and names.
- Numbers are plain ASCII decimals: Python's ``Decimal`` also accepts ``1_000``,
  exponents (``1e3``), ``+100``, `` 100`` and other scripts' digits (``١٢٣``), which a
  person reading the file would not expect.
- Currency codes are three ASCII letters as written (``ßu`` upper-cases to ``SSU``).
- Amounts are below 10^12 with at most 4 decimal places (Xero's unit amounts): a
  CRM's or a server's 1e30 is not a deal's value.
- Dates are ``YYYY-MM-DD`` between 1900 and 2100 (``date.fromisoformat`` also takes
  ISO week dates such as ``2026-W48-4``).
- A name that begins like a spreadsheet formula is refused wherever a CRM file would
  refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

# C0 controls but tab and newline, DEL, C1 controls, and the bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                    "\u2066-\u2069]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FIRST_YEAR, LAST_YEAR = 1900, 2100
AMOUNT_LIMIT = Decimal(10) ** 12  # amounts are below this
AMOUNT_PLACES = 4  # and have at most this many decimal places
MAX_LINES = 100  # on one quote, invoice or bill


def has_unsafe(text: str, *, allow_newlines: bool = False) -> bool:
    """Control or bidi characters (tab and newline only where ``allow_newlines``)."""
    if not allow_newlines and ("\t" in text or "\n" in text):
        return True
    return UNSAFE.search(text) is not None


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def decimal(text: str) -> Decimal | None:
    """A plain ASCII decimal number (digits, an optional point, an optional leading
    minus; no exponent, plus sign or spaces, which the docs do not promise), or None."""
    if not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None


def amount_problem(value: Decimal) -> str | None:
    """Why ``value`` is not an amount xerolink keeps (not finite, negative, 10^12 or
    more, more than 4 places); None when it is one."""
    if not value.is_finite():
        return "is not a finite number"
    if value < 0:
        return "is negative"
    if value >= AMOUNT_LIMIT:
        return "is 1,000,000,000,000 or more"
    if value.as_tuple().exponent < -AMOUNT_PLACES:  # type: ignore[operator]
        return f"has more than {AMOUNT_PLACES} decimal places"
    return None


def currency(text: str) -> str | None:
    """Three ASCII letters as given, upper-cased; None otherwise."""
    text = text.strip()
    return text.upper() if _CURRENCY.match(text) else None


def iso_date(text: str) -> date | None:
    """A calendar date written YYYY-MM-DD, from 1900 to 2100; None otherwise."""
    text = text.strip()
    if not _DATE.match(text):
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None


def shown(text: str, limit: int = 60) -> str:
    """Input echoed in a message: quoted, and cut to a readable length."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


class Priced(Protocol):
    """A document line, as far as its amount goes."""

    @property
    def quantity(self) -> Decimal: ...

    @property
    def unit_amount(self) -> Decimal: ...


def lines_problem(lines: Sequence[Priced], *, may_be_negative: bool) -> str | None:
    """Why a document's lines cannot be sent: too many, or (an invoice or bill) all zero
    or less, one below. A negative line is a discount, as in Xero; but those lines make
    a negative total whatever the tax, and Xero keeps such an invoice as a draft it
    never approves. Mixed lines, whose total the tax rates decide, are Xero's to judge."""
    if len(lines) > MAX_LINES:
        return f"at most {MAX_LINES} lines"
    amounts = [line.quantity * line.unit_amount for line in lines]
    if may_be_negative or not any(a < 0 for a in amounts) or any(a > 0 for a in amounts):
        return None
    return (f"the lines add up to {sum(amounts, Decimal(0)):,.2f} before tax: an invoice or "
            "bill in Xero cannot be approved with a negative total (a negative line is fine "
            "as a discount beside others); a refund or credit is a credit note in Xero")

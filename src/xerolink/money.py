"""Money: ``Decimal`` always, rounded to the cent half-up as Xero rounds. Standard
library only, so the sandbox (which stands alone) shares it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """``value`` to two places, half-up (1.005 -> 1.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# An amount with more digits than this either side of the point is shown in exponent
# form: no real amount has them, and 1E+999999999 written out is a billion digits.
WRITTEN_DIGITS = 40


def is_whole_cents(value: Decimal) -> bool:
    """No digit past the cents. Read from the digits, not by quantize, which a value
    beyond the context's 28 digits (1E+30 from a misbehaving CRM) makes raise."""
    if not value.is_finite():
        return False
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return not any(digits[max(0, len(digits) + exponent + 2):])


def plain(value: Decimal) -> str:
    """``value`` written out (``1500.00``), or in exponent form when it is not finite or
    too long to write out (a store a misbehaving source wrote)."""
    if not value.is_finite() or value.adjusted() >= WRITTEN_DIGITS \
            or value.as_tuple().exponent < -WRITTEN_DIGITS:  # type: ignore[operator]
        return str(value)
    return format(value, "f")



def grouped(value: Decimal) -> str:
    """For people: whole cents grouped (``1,500.00``), anything finer written out,
    an amount too long to write out in exponent form."""
    written = plain(value)
    return f"{value:,.2f}" if is_whole_cents(value) and "E" not in written else written

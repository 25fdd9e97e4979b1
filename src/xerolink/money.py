"""Money: ``Decimal`` always, rounded to the cent half-up as Xero rounds. Standard
library only, so the sandbox (which stands alone) shares it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """``value`` to two places, half-up (1.005 -> 1.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def is_whole_cents(value: Decimal) -> bool:
    return value == value.quantize(CENT)

"""What a customer owes, what is late, what is quoted: five figures from documents.

Definitions (also in the README):
- open quote: status DRAFT or SENT; amount Total.
- outstanding invoice: ACCREC, AUTHORISED, AmountDue above 0; amount AmountDue.
- overdue invoice: an outstanding invoice whose DueDate is before today in the
  organisation's timezone.
- outstanding and overdue bills: the same for ACCPAY.
A document's base-currency amount is amount / CurrencyRate, rounded half-up to the
cent; totals add those. Per-currency totals add the documents' own amounts. All
arithmetic is Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from xerolink.formats import local_date
from xerolink.money import cents
from xerolink.store.records import CachedDocument
from xerolink.vocabulary import (
    FIGURE_KEYS,
    FIGURE_LABELS,
    OPEN_QUOTE_STATUSES,
    OWING_STATUS,
    DocumentKind,
)

FIGURES = FIGURE_KEYS
LABELS = FIGURE_LABELS

def organisation_today(now: datetime, xero_timezone: str | None) -> date:
    """Today where the organisation is (UTC for a timezone xerolink does not know)."""
    return local_date(now, xero_timezone)


@dataclass
class Figure:
    count: int = 0
    total: Decimal = Decimal("0.00")
    by_currency: dict[str, Decimal] = field(default_factory=dict)

    def add(self, amount: Decimal, currency: str, rate: Decimal) -> None:
        self.count += 1
        self.total += to_base(amount, rate)
        self.by_currency[currency] = self.by_currency.get(currency, Decimal("0.00")) + amount

    def as_json(self, *, base_known: bool = True) -> dict[str, object]:
        """``total`` is in the base currency, so it is null when that is unknown (a
        connection that cannot read the Organisation); ``by_currency`` always holds."""
        return {"available": True, "count": self.count,
                "total": _money(self.total) if base_known else None,
                "by_currency": {k: _money(v) for k, v in sorted(self.by_currency.items())}}


def unavailable_json(reason: str) -> dict[str, object]:
    """A figure this connection cannot compute (quotes it cannot read)."""
    return {"available": False, "count": None, "total": None, "by_currency": {},
            "reason": reason}


def _money(value: Decimal) -> str:
    return format(cents(value), "f")


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """amount / CurrencyRate in the base currency, rounded half-up to the cent."""
    if rate <= 0:
        raise ValueError(f"a CurrencyRate of {rate} cannot convert {amount}")
    return cents(amount / rate)


def figures(documents: list[CachedDocument], today: date) -> dict[str, Figure]:
    result = {name: Figure() for name in FIGURES}
    for doc in documents:
        if doc.kind == DocumentKind.QUOTE:
            if doc.status in OPEN_QUOTE_STATUSES:
                result["open_quotes"].add(doc.total, doc.currency, doc.currency_rate)
            continue
        if doc.status != OWING_STATUS or doc.amount_due <= 0:
            continue
        kind = "invoices" if doc.kind == "invoice" else "bills"
        result[f"outstanding_{kind}"].add(doc.amount_due, doc.currency, doc.currency_rate)
        if doc.due_date is not None and doc.due_date < today:
            result[f"overdue_{kind}"].add(doc.amount_due, doc.currency, doc.currency_rate)
    return result

"""The seeded books' payments and credit: the payments behind what each document
shows as paid, and unallocated credit notes, overpayments and prepayments. Drawn from a
stream of their own after everything in ``seed`` is drawn, so they change no id, number
or figure of the books before them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from xerolink.sandbox.seed import Tenant, _currency, _Ids, _stamp, money


def settle(tenants: list[Tenant], seed: int, today: date, now: datetime) -> None:
    """Payments behind what the seeded documents show as paid, and unallocated credit
    (credit notes, overpayments, prepayments), drawn from a stream of their own: added
    after everything else, they change no id, number or figure drawn before them."""
    rng = random.Random(f"settlements:{seed}")
    new_id = _Ids(rng)
    for tenant in tenants:
        tenant.bank_accounts = {"090": {"AccountID": new_id(), "Code": "090",
                                        "Name": "Business Bank Account", "Type": "BANK"}}
        for invoice in tenant.invoices.values():
            if invoice["AmountPaid"] > 0:
                _seed_payments(tenant, rng, invoice, today, now)
        active = [c for c in tenant.contacts.values() if c["ContactStatus"] == "ACTIVE"]
        for kind, chance in (("credit", 0.08), ("over", 0.04), ("pre", 0.04)):
            chosen = [c for c in active if rng.random() < chance] or active[:1]
            for contact in chosen:  # at least one of each kind in every organisation
                _seed_credit(tenant, rng, new_id, contact, kind, today, now)


_DEPOSIT_FLOOR = Decimal("20")
_SHARES = (Decimal("0.2"), Decimal("0.3"), Decimal("0.5"))
_DAY = timedelta(days=1)


def _guid(rng: random.Random) -> str:
    """A version-4 GUID from the stream, as ``seed._Ids`` makes them, without the cost
    of a ``uuid.UUID`` for each of tens of thousands of payments."""
    x = rng.getrandbits(128)
    x = (x & ~(0xF000 << 64)) | (4 << 76)
    x = (x & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _seed_payments(tenant: Tenant, rng: random.Random, invoice: dict[str, Any],
                   today: date, now: datetime) -> None:
    """One payment of what was paid, or a deposit and the rest; a fully paid
    document's last payment falls on its FullyPaidOnDate. Kept cheap (one draw for
    each choice): it runs for every paid document of a 10,000-contact sandbox."""
    paid, issued = invoice["AmountPaid"], invoice["Date"]
    random_ = rng.random
    last = invoice["FullyPaidOnDate"] or issued + _DAY * int(
        random_() * ((today - issued).days + 1))
    parts = [paid]
    if paid >= _DEPOSIT_FLOOR and random_() < 0.3:
        deposit = money(paid * _SHARES[int(random_() * 3)])
        parts = [deposit, paid - deposit]
    kind = "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT"
    ids = tenant.payments_by_invoice.setdefault(invoice["InvoiceID"], [])
    for n, amount in enumerate(parts):
        when = last if n == len(parts) - 1 else issued + _DAY * int(
            random_() * ((last - issued).days + 1))
        stamp = datetime(when.year, when.month, when.day, tzinfo=UTC) + timedelta(
            seconds=int(random_() * 86400))
        reference = random_()
        payment = {
            "PaymentID": _guid(rng), "InvoiceID": invoice["InvoiceID"], "Date": when,
            "Amount": amount, "CurrencyRate": invoice["CurrencyRate"],
            "Reference": f"DD-{1000 + int(reference * 18000)}" if reference < 0.5 else "",
            "AccountCode": "090", "Status": "AUTHORISED", "IsReconciled": random_() < 0.6,
            "PaymentType": kind, "UpdatedDateUTC": min(now, stamp),
        }
        tenant.payments[payment["PaymentID"]] = payment
        ids.append(payment["PaymentID"])


def _seed_credit(tenant: Tenant, rng: random.Random, new_id: _Ids, contact: dict[str, Any],
                 kind: str, today: date, now: datetime) -> None:
    """A credit note, an overpayment or a prepayment for a contact, unallocated (all
    its credit remaining) or voided."""
    currency, rate = _currency(tenant, rng, contact)
    issued = today - timedelta(days=rng.randint(1, 120))
    total = money(Decimal(rng.randint(2000, 80000)) / Decimal("100"))
    voided = rng.random() < 0.15
    supplier = contact["IsSupplier"] and rng.random() < 0.3
    item = {"ContactID": contact["ContactID"], "Date": issued, "Total": total,
            "Status": "VOIDED" if voided else "AUTHORISED",
            "RemainingCredit": Decimal("0.00") if voided else total,
            "CurrencyCode": currency, "CurrencyRate": rate, "Allocations": [],
            "Reference": f"REF-{rng.randint(100, 9999)}" if rng.random() < 0.5 else "",
            "UpdatedDateUTC": _stamp(rng, issued, now)}
    if kind == "credit":
        number = len(tenant.credit_notes) + 1
        note = {**item, "CreditNoteID": new_id(), "CreditNoteNumber": f"CN-{number:05d}",
                "Type": "ACCPAYCREDIT" if supplier else "ACCRECCREDIT"}
        tenant.credit_notes[note["CreditNoteID"]] = note
    elif kind == "over":
        over = {**item, "OverpaymentID": new_id(),
                "Type": "SPEND-OVERPAYMENT" if supplier else "RECEIVE-OVERPAYMENT"}
        tenant.overpayments[over["OverpaymentID"]] = over
    else:
        pre = {**item, "PrepaymentID": new_id(),
               "Type": "SPEND-PREPAYMENT" if supplier else "RECEIVE-PREPAYMENT"}
        tenant.prepayments[pre["PrepaymentID"]] = pre

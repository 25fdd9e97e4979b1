"""Seeded demo organisations: contacts, quotes, invoices and bills that look like a
real small business's books, relative to "today" so something is always overdue.

Everything is derived from one ``random.Random(seed)``: the same seed, contact count
and day give the same data, down to the ids.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from xerolink.money import cents
from xerolink.sandbox.names import (
    BUSINESS_KINDS,
    BUSINESS_SUFFIXES,
    BUSINESS_WORDS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    RATES_PER_AUD,
    RATES_PER_NZD,
)


@dataclass
class TaxRate:
    tax_type: str
    name: str
    rate: Decimal  # percent


@dataclass
class Tenant:
    """One organisation and everything in its books."""

    tenant_id: str
    organisation_id: str
    name: str
    short_code: str
    base_currency: str
    country_code: str
    timezone: str
    created: datetime
    rates: dict[str, Decimal]
    tax_rates: dict[str, TaxRate]
    accounts: dict[str, str]  # code -> name
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices_by_contact: dict[str, list[str]] = field(default_factory=dict)
    quotes_by_contact: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # lower(name) -> contact id
    next_invoice_number: int = 1
    next_quote_number: int = 1
    # Money received and credit (seeded by ``_settle``, from a stream of its own):
    bank_accounts: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> account
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments_by_invoice: dict[str, list[str]] = field(default_factory=dict)
    overpayments: dict[str, dict[str, Any]] = field(default_factory=dict)
    prepayments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What was sent, and each document's history (Xero's History and Notes):
    outbox: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


TENANT_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "name": "Kauri Bay Trading Ltd",
        "short_code": "!kB7xQ",
        "base_currency": "NZD",
        "country_code": "NZ",
        "timezone": "NEWZEALANDSTANDARDTIME",
        "rates": RATES_PER_NZD,
        "tax_rates": [TaxRate("OUTPUT2", "15% GST on Income", Decimal("15")),
                      TaxRate("INPUT2", "15% GST on Expenses", Decimal("15")),
                      TaxRate("NONE", "No GST", Decimal("0"))],
        "sales_tax": "OUTPUT2",
        "purchases_tax": "INPUT2",
    },
    {
        "name": "Wattle & Stone Supplies Pty Ltd",
        "short_code": "!wS4pL",
        "base_currency": "AUD",
        "country_code": "AU",
        "timezone": "AUSEASTERNSTANDARDTIME",
        "rates": RATES_PER_AUD,
        "tax_rates": [TaxRate("OUTPUT", "GST on Income", Decimal("10")),
                      TaxRate("INPUT", "GST on Expenses", Decimal("10")),
                      TaxRate("EXEMPTOUTPUT", "GST Free Income", Decimal("0"))],
        "sales_tax": "OUTPUT",
        "purchases_tax": "INPUT",
    },
)

ACCOUNTS = {"200": "Sales", "260": "Other Revenue", "300": "Purchases",
            "400": "Advertising", "429": "General Expenses"}

QUOTE_STATUSES = (("DRAFT", 3), ("SENT", 4), ("DECLINED", 1), ("ACCEPTED", 2),
                  ("INVOICED", 1), ("DELETED", 1))
INVOICE_STATUSES = (("DRAFT", 2), ("SUBMITTED", 1), ("AUTHORISED", 6), ("PAID", 5),
                    ("VOIDED", 1), ("DELETED", 1))


money = cents  # amounts in the books: to the cent, half-up


def line_amounts(
    lines: list[dict[str, Any]], tax_rates: dict[str, TaxRate], amount_types: str
) -> tuple[Decimal, Decimal, Decimal]:
    """Fill each line's LineAmount and TaxAmount; return SubTotal, TotalTax, Total.

    Exclusive: tax is added on top of each line. Inclusive: the line amount already
    contains the tax. NoTax: no tax at all. Rounded per line, as Xero does.
    """
    sub_total = total_tax = Decimal("0")
    for line in lines:
        gross = money(line["Quantity"] * line["UnitAmount"])
        discount = line.get("DiscountRate")
        if discount:
            gross = money(gross * (Decimal("100") - discount) / Decimal("100"))
        rate = tax_rates[line["TaxType"]].rate if amount_types != "NoTax" else Decimal("0")
        if amount_types == "Inclusive":
            tax = money(gross * rate / (Decimal("100") + rate))
            sub_total += gross - tax
        else:
            tax = money(gross * rate / Decimal("100"))
            sub_total += gross
        line["LineAmount"] = gross
        line["TaxAmount"] = tax
        total_tax += tax
    return sub_total, total_tax, sub_total + total_tax


class _Ids:
    """Version-4 UUIDs from the seed's stream, each the text that
    ``str(uuid.UUID(int=bits, version=4))`` makes, written out without the UUID object
    (a 10,000-contact organisation draws 350,000 of them)."""

    KEEP = ~((0xC000 << 48) | (0xF000 << 64))  # the variant and version bits, cleared
    SET = (0x8000 << 48) | (4 << 76)  # RFC 4122's variant, version 4

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        text = f"{self.rng.getrandbits(128) & self.KEEP | self.SET:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@functools.cache
def _table(choices: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    """The names and their cumulative weights: ``choices`` draws the same with them as
    with the weights (it accumulates them first), without doing so at every draw."""
    return [c for c, _ in choices], list(itertools.accumulate(w for _, w in choices))


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    names, cumulative = _table(choices)
    return rng.choices(names, cum_weights=cumulative)[0]


def build_tenants(seed: int, contacts: int, today: date, now: datetime) -> list[Tenant]:
    """Two organisations: the first with ``contacts`` contacts, the second smaller."""
    rng = random.Random(seed)
    new_id = _Ids(rng)
    tenants = []
    for index, template in enumerate(TENANT_TEMPLATES):
        tenant = Tenant(
            tenant_id=new_id(),
            organisation_id=new_id(),
            name=template["name"],
            short_code=template["short_code"],
            base_currency=template["base_currency"],
            country_code=template["country_code"],
            timezone=template["timezone"],
            created=datetime(2019, 4, 1, tzinfo=UTC),
            rates=dict(template["rates"]),
            tax_rates={t.tax_type: t for t in template["tax_rates"]},
            accounts=dict(ACCOUNTS),
        )
        count = contacts if index == 0 else max(min(contacts, 12), contacts // 5)
        _populate(tenant, rng, new_id, count, today, now, template)
        tenants.append(tenant)
    settle(tenants, seed, today, now)
    return tenants


def _populate(
    tenant: Tenant,
    rng: random.Random,
    new_id: _Ids,
    count: int,
    today: date,
    now: datetime,
    template: dict[str, Any],
) -> None:
    used_emails: set[str] = set()
    for n in range(count):
        contact = _make_contact(tenant, rng, new_id, n, now, used_emails)
        tenant.contacts[contact["ContactID"]] = contact
        tenant.names[contact["Name"].lower()] = contact["ContactID"]
        tenant.invoices_by_contact[contact["ContactID"]] = []
        tenant.quotes_by_contact[contact["ContactID"]] = []
    for contact in list(tenant.contacts.values()):
        if contact["ContactStatus"] != "ACTIVE":
            continue
        documents = rng.choice((0, 2, 5, 8, 10, 12, 14, 16, 18, 25))
        for _ in range(documents):
            roll = rng.random()
            if roll < 0.22:
                _make_quote(tenant, rng, new_id, contact, today, now, template["sales_tax"])
            elif roll < 0.72 or not contact["IsSupplier"]:
                _make_invoice(tenant, rng, new_id, contact, "ACCREC", today, now,
                              template["sales_tax"])
            else:
                _make_invoice(tenant, rng, new_id, contact, "ACCPAY", today, now,
                              template["purchases_tax"])


def _unique_name(tenant: Tenant, name: str, rng: random.Random) -> str:
    candidate, tries = name, 0
    while candidate.lower() in tenant.names:
        tries += 1
        candidate = f"{name} ({rng.randint(2, 999)})" if tries > 3 else (
            f"{name.split(' ', 1)[0]} {chr(65 + rng.randrange(26))}. {name.split(' ', 1)[-1]}"
        )
    return candidate


def _email(first: str, last: str, rng: random.Random, used: set[str]) -> str:
    base = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    domain = rng.choice(EMAIL_DOMAINS)
    email = f"{base}@{domain}"
    n = 1
    while email in used and rng.random() > 0.02:  # about 2% of clashes stay duplicated
        n += 1
        email = f"{base}{n}@{domain}"
    used.add(email)
    return email


def _make_contact(
    tenant: Tenant, rng: random.Random, new_id: _Ids, n: int, now: datetime, used: set[str]
) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    is_business = rng.random() < 0.4
    persons: list[dict[str, Any]] = []
    if is_business:
        name = (f"{rng.choice(BUSINESS_WORDS)} {rng.choice(BUSINESS_KINDS)} "
                f"{rng.choice(BUSINESS_SUFFIXES)}")
        email = f"accounts@{name.split()[0].lower()}{n}.example.com"
        for _ in range(rng.choice((0, 1, 1, 2))):
            p_first, p_last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            persons.append({"FirstName": p_first, "LastName": p_last,
                            "EmailAddress": _email(p_first, p_last, rng, used),
                            "IncludeInEmails": rng.random() < 0.5})
    else:
        name = f"{first} {last}"
        email = _email(first, last, rng, used) if rng.random() > 0.05 else ""
        if rng.random() < 0.03:  # a near-duplicate spelling already on file
            name = name.replace("o", "oh", 1) if "o" in name else name + " Jr"
    name = _unique_name(tenant, name, rng)
    contact: dict[str, Any] = {
        "ContactID": new_id(),
        "ContactNumber": f"C{n + 1:05d}",
        "ContactStatus": "ARCHIVED" if rng.random() < 0.05 else "ACTIVE",
        "Name": name,
        "FirstName": first,
        "LastName": last,
        "EmailAddress": email,
        "ContactPersons": persons,
        "IsCustomer": True,
        "IsSupplier": rng.random() < 0.3,
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": f"{rng.randint(2000000, 9999999)}",
                    "PhoneAreaCode": "09", "PhoneCountryCode": "64"}],
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": f"PO Box {rng.randint(1, 9999)}",
                       "City": "Auckland", "PostalCode": f"{rng.randint(1000, 9999)}",
                       "Country": tenant.country_code}],
        "UpdatedDateUTC": now - timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86399)),
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    if rng.random() < 0.08:
        foreign = [c for c in tenant.rates if c != tenant.base_currency]
        contact["DefaultCurrency"] = rng.choice(foreign)
    return contact


def _currency(tenant: Tenant, rng: random.Random, contact: dict[str, Any]) -> tuple[str, Decimal]:
    code = contact.get("DefaultCurrency") or (
        rng.choice(list(tenant.rates)) if rng.random() < 0.15 else tenant.base_currency
    )
    if code == tenant.base_currency:
        return code, Decimal("1")
    drift = Decimal(rng.randint(-200, 200)) / Decimal("10000")
    return code, (tenant.rates[code] * (Decimal("1") + drift)).quantize(Decimal("0.000001"))


def _lines(rng: random.Random, account: str, tax_type: str) -> list[dict[str, Any]]:
    lines = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        description, price = rng.choice(PRODUCTS)
        quantity = Decimal(rng.choice((1, 1, 2, 3, 5, 8, 10))) / (2 if rng.random() < 0.1 else 1)
        lines.append({"Description": description, "Quantity": quantity, "UnitAmount": price,
                      "AccountCode": account, "TaxType": tax_type})
    return lines


def _stamp(rng: random.Random, issued: date, now: datetime) -> datetime:
    start = datetime(issued.year, issued.month, issued.day, tzinfo=UTC)
    span = max(1, int((now - start).total_seconds()))
    # One draw whatever the span: randrange's rejection sampling takes a number of draws
    # that depends on the span, so every later id and number would shift with the clock.
    return start + timedelta(seconds=int(rng.random() * span),
                             milliseconds=rng.randrange(1000))


def _make_invoice(
    tenant: Tenant, rng: random.Random, new_id: _Ids, contact: dict[str, Any], kind: str,
    today: date, now: datetime, tax_type: str,
) -> None:
    status = _weighted(rng, INVOICE_STATUSES)
    issued = today - timedelta(days=rng.randint(1, 150))
    due = issued + timedelta(days=rng.choice((7, 14, 20, 30, 60)))
    account = "200" if kind == "ACCREC" else rng.choice(("300", "400", "429"))
    currency, rate = _currency(tenant, rng, contact)
    lines = _lines(rng, account, tax_type)
    sub_total, total_tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
    paid = Decimal("0")
    if status == "PAID":
        paid = total
    elif status == "AUTHORISED" and rng.random() < 0.25:
        paid = money(total * Decimal(rng.choice((20, 25, 40, 50))) / Decimal("100"))
    invoice = {
        "InvoiceID": new_id(),
        "Type": kind,
        "InvoiceNumber": (f"INV-{tenant.next_invoice_number:05d}" if kind == "ACCREC"
                          else f"SUP-{rng.randint(1000, 99999)}"),
        "Reference": f"PO-{rng.randint(100, 9999)}" if rng.random() < 0.5 else "",
        "ContactID": contact["ContactID"],
        "Date": issued,
        "DueDate": due,
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": lines,
        "SubTotal": sub_total,
        "TotalTax": total_tax,
        "Total": total,
        "AmountDue": total - paid if status not in ("VOIDED", "DELETED") else Decimal("0"),
        "AmountPaid": paid,
        "AmountCredited": Decimal("0"),
        "CurrencyCode": currency,
        "CurrencyRate": rate,
        "SentToContact": status in ("AUTHORISED", "PAID") and rng.random() < 0.7,
        "UpdatedDateUTC": _stamp(rng, issued, now),
        "FullyPaidOnDate": (issued + timedelta(days=rng.randint(0, 40))) if status == "PAID"
        else None,
    }
    if kind == "ACCREC":
        tenant.next_invoice_number += 1
    _add_line_ids(invoice, new_id)
    tenant.invoices[invoice["InvoiceID"]] = invoice
    tenant.invoices_by_contact[contact["ContactID"]].append(invoice["InvoiceID"])


def _make_quote(
    tenant: Tenant, rng: random.Random, new_id: _Ids, contact: dict[str, Any],
    today: date, now: datetime, tax_type: str,
) -> None:
    status = _weighted(rng, QUOTE_STATUSES)
    issued = today - timedelta(days=rng.randint(0, 90))
    currency, rate = _currency(tenant, rng, contact)
    lines = _lines(rng, "200", tax_type)
    sub_total, total_tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
    quote = {
        "QuoteID": new_id(),
        "QuoteNumber": f"QU-{tenant.next_quote_number:04d}",
        "Reference": f"RFQ-{rng.randint(100, 999)}" if rng.random() < 0.4 else "",
        "Title": rng.choice(("Proposal", "Quote", "Estimate", "Renewal")),
        "Summary": "",
        "Terms": "Valid for 30 days.",
        "ContactID": contact["ContactID"],
        "Date": issued,
        "ExpiryDate": issued + timedelta(days=30),
        "Status": status,
        "LineAmountTypes": "EXCLUSIVE",
        "LineItems": lines,
        "SubTotal": sub_total,
        "TotalTax": total_tax,
        "Total": total,
        "CurrencyCode": currency,
        "CurrencyRate": rate,
        "UpdatedDateUTC": _stamp(rng, issued, now),
    }
    tenant.next_quote_number += 1
    _add_line_ids(quote, new_id)
    tenant.quotes[quote["QuoteID"]] = quote
    tenant.quotes_by_contact[contact["ContactID"]].append(quote["QuoteID"])


def _add_line_ids(document: dict[str, Any], new_id: _Ids) -> None:
    for line in document["LineItems"]:
        line["LineItemID"] = new_id()


# -- payments and credit ---------------------------------------------------------------
# The seeded books' payments and credit: the payments behind what each document shows
# as paid, and unallocated credit notes, overpayments and prepayments. Drawn from a
# stream of their own after everything above is drawn, so they change no id, number or
# figure of the books before them.
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

"""The benchmark's organisation: 10,000 contacts; 1,000 of them (the ones a CRM links)
with 4,000 outstanding invoices and bills and 1,000 open quotes; one large customer
with 5 open quotes, 40 outstanding invoices and 10 bills and a paid history."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from xerolink.sandbox.seed import ACCOUNTS, RATES_PER_NZD, TENANT_TEMPLATES, Tenant, line_amounts


@dataclass
class Scale:
    contacts: int
    linked: int
    company: int
    history: int  # paid invoices of the large customer


SCALES = {"full": Scale(10_000, 1_000, 50, 100), "small": Scale(300, 40, 10, 20)}


@dataclass
class Plan:
    tenant: Tenant
    big_customer: str  # ContactID
    linked: list[str]  # ContactIDs with open documents
    company: list[str]  # ContactIDs of the company's members
    emails: dict[str, str]  # ContactID -> email


def empty_tenant(rng: random.Random, name: str, short_code: str
                 ) -> tuple[Tenant, Callable[[], str]]:
    """A New Zealand organisation with no contacts yet, and its id maker (ids drawn
    from ``rng``, so a seed gives the same organisation every run)."""
    template = TENANT_TEMPLATES[0]

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    tenant = Tenant(tenant_id=new_id(), organisation_id=new_id(), name=name,
                    short_code=short_code, base_currency="NZD", country_code="NZ",
                    timezone=template["timezone"], created=datetime(2019, 1, 1, tzinfo=UTC),
                    rates=dict(RATES_PER_NZD),
                    tax_rates={t.tax_type: t for t in template["tax_rates"]},
                    accounts=dict(ACCOUNTS))
    return tenant, new_id


def build(scale: Scale, seed: int = 5) -> Plan:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    tenant, new_id = empty_tenant(rng, "Benchmark Trading Ltd", "!bEnch")
    emails = {}
    for n in range(scale.contacts):
        contact_id = new_id()
        email = f"person{n}@bench.example.com"
        tenant.contacts[contact_id] = {
            "ContactID": contact_id, "ContactNumber": f"B{n:05d}", "ContactStatus": "ACTIVE",
            "Name": f"Person {n:05d}", "FirstName": "Person", "LastName": f"{n:05d}",
            "EmailAddress": email, "ContactPersons": [], "IsCustomer": True,
            "IsSupplier": True, "Phones": [], "Addresses": [],
            "UpdatedDateUTC": now - timedelta(days=30), "HasAttachments": False,
        }
        tenant.names[f"person {n:05d}"] = contact_id
        tenant.invoices_by_contact[contact_id] = []
        tenant.quotes_by_contact[contact_id] = []
        emails[contact_id] = email
    ids = list(tenant.contacts)
    linked = ids[:scale.linked]

    def invoice(contact: str, kind: str, status: str, due_in: int) -> None:
        issued = today - timedelta(days=rng.randint(10, 60))
        lines = [{"Description": "Services", "Quantity": Decimal(rng.randint(1, 5)),
                  "UnitAmount": Decimal(rng.randint(50, 900)), "AccountCode":
                  "200" if kind == "ACCREC" else "429",
                  "TaxType": "OUTPUT2" if kind == "ACCREC" else "INPUT2",
                  "LineItemID": new_id()}]
        sub, tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
        foreign = rng.random() < 0.1
        doc = {"InvoiceID": new_id(), "Type": kind,
               "InvoiceNumber": f"INV-{tenant.next_invoice_number:06d}", "Reference": "",
               "ContactID": contact, "Date": issued, "DueDate": today + timedelta(days=due_in),
               "Status": status, "LineAmountTypes": "Exclusive", "LineItems": lines,
               "SubTotal": sub, "TotalTax": tax, "Total": total,
               "AmountDue": Decimal("0") if status == "PAID" else total,
               "AmountPaid": total if status == "PAID" else Decimal("0"),
               "AmountCredited": Decimal("0"), "CurrencyCode": "USD" if foreign else "NZD",
               "CurrencyRate": tenant.rates["USD"] if foreign else Decimal("1"),
               "SentToContact": True, "UpdatedDateUTC": now - timedelta(days=5),
               "FullyPaidOnDate": issued if status == "PAID" else None}
        tenant.next_invoice_number += 1
        tenant.invoices[doc["InvoiceID"]] = doc
        tenant.invoices_by_contact[contact].append(doc["InvoiceID"])

    def quote(contact: str, status: str) -> None:
        issued = today - timedelta(days=rng.randint(1, 20))
        lines = [{"Description": "Proposal", "Quantity": Decimal(1),
                  "UnitAmount": Decimal(rng.randint(500, 5000)), "AccountCode": "200",
                  "TaxType": "OUTPUT2", "LineItemID": new_id()}]
        sub, tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
        doc = {"QuoteID": new_id(), "QuoteNumber": f"QU-{tenant.next_quote_number:06d}",
               "Reference": "", "Title": "Proposal", "Summary": "", "Terms": "",
               "ContactID": contact, "Date": issued, "ExpiryDate": issued + timedelta(days=30),
               "Status": status, "LineAmountTypes": "EXCLUSIVE", "LineItems": lines,
               "SubTotal": sub, "TotalTax": tax, "Total": total, "CurrencyCode": "NZD",
               "CurrencyRate": Decimal("1"), "UpdatedDateUTC": now - timedelta(days=5)}
        tenant.next_quote_number += 1
        tenant.quotes[doc["QuoteID"]] = doc
        tenant.quotes_by_contact[contact].append(doc["QuoteID"])

    big = linked[0]
    for n in range(40):
        invoice(big, "ACCREC", "AUTHORISED", -20 if n % 2 else 15)
    for n in range(10):
        invoice(big, "ACCPAY", "AUTHORISED", -5 if n % 2 else 20)
    for n in range(5):
        quote(big, "SENT" if n % 2 else "DRAFT")
    for _ in range(scale.history):
        invoice(big, "ACCREC", "PAID", -100)
    # 4 outstanding invoices and bills and 1 open quote for each linked contact: the
    # large customer counts as ten of them.
    for n, contact in enumerate(linked[10:], start=1):
        invoice(contact, "ACCREC", "AUTHORISED", -10 if n % 3 == 0 else 20)
        invoice(contact, "ACCREC", "AUTHORISED", 25)
        invoice(contact, "ACCREC", "AUTHORISED", -3)
        invoice(contact, "ACCPAY", "AUTHORISED", 14)
        quote(contact, "SENT" if n % 2 else "DRAFT")
        invoice(contact, "ACCREC", "PAID", -60)
    for contact in ids[scale.linked:]:
        invoice(contact, "ACCREC", "PAID", -90)
    return Plan(tenant, big, linked, linked[1:scale.company + 1], emails)


"""The fast tier's FakeXero answers as the sandbox does: the sandbox's organisation,
copied into the fake through the real gateway, gives the same typed answers to the
reads services make (filters, archived contacts, If-Modified-Since, paging, unknown
ids). A fake that passed where the gateway fails would make the fast tests lie."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fakes import Clock, FakeXero
from support import sandbox_token
from xerolink.errors import NotFoundError, XerolinkError, XeroRefusedError
from xerolink.services.settlements import CREDIT_SOURCES
from xerolink.vocabulary import CREDIT_STATUSES, OPEN_INVOICE_STATUSES, PAYMENT_STATUS
from xerolink.xero.approval import FreshDocument, read_fresh
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import XeroGateway
from xerolink.xero.http import RetryPolicy
from xerolink.xero.sending import email_invoice

AT = datetime(2026, 11, 2, tzinfo=UTC)
UNKNOWN = "0c5c4c3e-1d1e-4b6f-9a52-0000000000ff"
EVER = date(2000, 1, 1)  # before any seeded payment


class _Token:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self, rejected: str | None = None) -> str:
        return self.token


@pytest.fixture
def pair(sandbox) -> tuple[XeroGateway, FakeXero]:
    """The sandbox through the real gateway, and a FakeXero holding the same books."""
    tenant = next(iter(sandbox.sandbox.tenants))
    real = XeroGateway(Endpoints.at(sandbox.base_url),
                       _Token(sandbox_token(sandbox.base_url)["access_token"]),
                       tenant_id=tenant, retry=RetryPolicy(base_delay=0.01, max_delay=0.05))
    fake = FakeXero(Clock(AT), base_currency=real.organisation().base_currency,
                    tenant_id=tenant)
    for _, contacts in real.contact_copy_pages():
        fake.contacts_by_id.update({c.contact_id: c for c in contacts})
    for document in real.invoices(AT, None) + real.quotes(AT, None):
        fake.documents[document.document_id] = document
        fake.rates.setdefault(document.currency, document.currency_rate)
    fake.payments_by_id.update({p.payment_id: p for p in real.payments(AT, None, since=EVER)})
    for source in CREDIT_SOURCES:
        fake.credits_by_id.update({c.credit_id: c for c in real.credits(source, AT, None)})
    return real, fake


def same(found: list[Any]) -> list[Any]:
    return sorted((replace(d, fetched_at=AT) if hasattr(d, "fetched_at") else d
                   for d in found), key=repr)


def test_the_fake_reads_and_fails_as_the_sandbox_does(pair) -> None:
    real, fake = pair
    contacts = list(fake.contacts_by_id.values())
    archived = [c for c in contacts if not c.active]
    assert contacts and fake.documents and archived, "the seed has what is compared"
    some = [contacts[0].contact_id, archived[0].contact_id, UNKNOWN]
    term = contacts[3].name.split()[0][:4]
    asked = [
        lambda g: g.contacts(some),
        lambda g: g.find_contacts(term),
        lambda g: g.contact(contacts[1].contact_id),
        lambda g: g.invoices(AT, None, contact_ids=[c.contact_id for c in contacts[:10]],
                             statuses=OPEN_INVOICE_STATUSES),
        lambda g: g.invoices(AT, None, statuses=("PAID",)),
        lambda g: g.quotes(AT, None, status="SENT"),
        lambda g: g.quotes(AT, None, contact_id=contacts[2].contact_id),
        lambda g: g.open_invoices(AT, None, fewer_pages_than=5),
    ]
    for number, ask in enumerate(asked):
        answer, expected = ask(fake), ask(real)
        wrapped = expected if isinstance(expected, list) else [expected]
        mine = answer if isinstance(answer, list) else [answer]
        assert same(mine) == same(wrapped), f"read {number} differs"
    # If-Modified-Since is "at or after" in both
    stamps = sorted({d.updated_utc for d in fake.documents.values() if d.updated_utc})
    middle = stamps[len(stamps) // 2]
    assert same(fake.invoices(AT, None, modified_since=middle)) == \
        same(real.invoices(AT, None, modified_since=middle))
    assert same(fake.quotes(AT, None, modified_since=middle)) == \
        same(real.quotes(AT, None, modified_since=middle))
    # unknown ids fail alike
    for ask in (lambda g: g.contact(UNKNOWN), lambda g: g.quote(UNKNOWN, AT, None)):
        with pytest.raises(XerolinkError) as theirs:
            ask(real)
        with pytest.raises(XerolinkError) as mine:
            ask(fake)
        assert type(mine.value) is type(theirs.value) is NotFoundError
        assert str(mine.value) == str(theirs.value)
    # and the calls are counted alike
    for gateway in (real, fake):
        gateway.log.calls.clear()
        gateway.quotes(AT, None)
        gateway.invoices(AT, None, statuses=OPEN_INVOICE_STATUSES)
    assert fake.log.calls == real.log.calls


def test_the_fake_reads_payments_and_credit_as_the_sandbox_does(pair) -> None:
    """The four settlement reads as refresh makes them: the first (``where`` on Date and
    Status, on Status for credit), the incremental (If-Modified-Since, at or after, no
    status filter), and counted alike."""
    real, fake = pair
    payments, credits = list(fake.payments_by_id.values()), list(fake.credits_by_id.values())
    assert payments and {c.source for c in credits} == set(CREDIT_SOURCES), \
        "the seed has payments and credit of each kind"
    assert any(c.status != CREDIT_STATUSES[0] for c in credits), "some credit is not open"
    days = sorted({p.paid_on for p in payments})
    some_day = days[len(days) // 2]
    stamps = sorted({p.updated_utc for p in payments if p.updated_utc})
    middle = stamps[len(stamps) // 2]
    credit_middle = sorted({c.updated_utc for c in credits if c.updated_utc})[len(credits) // 2]
    asked = [
        lambda g: g.payments(AT, None, since=some_day, status=PAYMENT_STATUS),
        lambda g: g.payments(AT, None, since=EVER),
        lambda g: g.payments(AT, None, since=some_day, modified_since=middle),
        lambda g: g.payments(AT, None, since=AT.date() + timedelta(days=400)),
        *(lambda g, s=source: g.credits(s, AT, None, status=CREDIT_STATUSES[0])
          for source in CREDIT_SOURCES),
        *(lambda g, s=source: g.credits(s, AT, None, modified_since=credit_middle)
          for source in CREDIT_SOURCES),
    ]
    for number, ask in enumerate(asked):
        assert same(ask(fake)) == same(ask(real)), f"settlement read {number} differs"
    for gateway in (real, fake):
        gateway.log.calls.clear()
        gateway.payments(AT, None, since=EVER)
        for source in CREDIT_SOURCES:
            gateway.credits(source, AT, None, modified_since=credit_middle)
    assert fake.log.calls == real.log.calls


def test_the_fake_emails_and_refuses_an_invoice_as_the_sandbox_does(pair, sandbox) -> None:
    """POST Invoices/{id}/Email: one email for one Idempotency-Key however often it is
    sent, SentToContact true after; a draft and a bill refused with the same words."""
    real, fake = pair
    tenant = sandbox.sandbox.tenants[real.tenant_id]

    def fresh(gateway: XeroGateway, document_id: str) -> FreshDocument:
        return read_fresh(gateway, document_id, "invoice", AT, None)

    invoices = [d for d in fake.documents.values() if d.kind == "invoice"]
    unsent = next(d for d in invoices if d.status == "AUTHORISED"
                  and fake.contacts_by_id[d.xero_contact_id].email
                  and not fresh(real, d.document_id).sent_to_contact)
    draft = next(d for d in invoices if d.status == "DRAFT")
    bill = next(d for d in fake.documents.values() if d.kind == "bill")
    for refused in (draft, bill):
        with pytest.raises(XerolinkError) as theirs:
            email_invoice(real, refused.document_id, str(uuid.uuid4()))
        with pytest.raises(XerolinkError) as mine:
            email_invoice(fake, refused.document_id, str(uuid.uuid4()))
        assert type(mine.value) is type(theirs.value) is XeroRefusedError
        assert str(mine.value) == str(theirs.value)
    outbox = len(tenant.outbox)
    key = str(uuid.uuid4())
    for gateway in (real, fake):
        gateway.log.calls.clear()
        assert not fresh(gateway, unsent.document_id).sent_to_contact
        email_invoice(gateway, unsent.document_id, key)
        email_invoice(gateway, unsent.document_id, key)  # a retry: the same email
        assert fresh(gateway, unsent.document_id).sent_to_contact
    assert len(tenant.outbox) == outbox + 1 and len(fake.outbox) == 1
    assert tenant.outbox[-1]["to"] == fake.outbox[0]["to"]
    assert fake.log.calls == real.log.calls

"""What was paid and what credit is left: the four figures beside the five (per currency
and in the base currency, each payment at its own CurrencyRate, Decimal, half-up to the
cent), the 90 days they count, a part-allocated credit note, company and deal sums,
``details --paid`` and its ``--since`` windows, and what the organisation-wide reads
cost. Against a fake Xero and a store in memory: no server, no process."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fakes import T0, World, world
from xerolink.errors import NotConnectedError
from xerolink.services import documents, paid, summary
from xerolink.services.crm import parse_ref
from xerolink.xero import gateway

TODAY = date(2026, 11, 2)  # T0 in New Zealand
WINDOW_START = TODAY - timedelta(days=90)
SETTLEMENT_READS = {"GET Payments": 1, "GET CreditNotes": 1, "GET Overpayments": 1,
                    "GET Prepayments": 1}
BOTH = {"invoice", "bill"}


def books() -> World:
    """Ann: an NZD invoice paid in two parts, a USD invoice paid at two rates, one paid
    tomorrow, one paid before the window, a paid bill; a part-allocated credit note,
    a used-up one, a voided one, an AUD overpayment, a supplier's prepayment."""
    w = world()
    w.xero.rates.update({"USD": Decimal("0.6"), "AUD": Decimal("0.9")})
    ann = w.linked("c1", "Ann Lee")
    x = w.xero
    nzd = x.add_document("invoice", ann, total="100.00", number="INV-1")
    x.pay(nzd, "40.00", on=TODAY - timedelta(days=10))
    x.pay(nzd, "60.00", on=TODAY)  # today counts
    usd = x.add_document("invoice", ann, total="60.01", currency="USD", number="INV-2")
    x.pay(usd, "50.00", on=TODAY - timedelta(days=3), rate="0.625")  # 80.00
    x.pay(usd, "10.01", on=WINDOW_START, rate="2")  # 5.005: half-up 5.01, the first day
    later = x.add_document("invoice", ann, total="7.00", number="INV-3")
    x.pay(later, "7.00", on=TODAY + timedelta(days=1))  # not yet paid
    old = x.add_document("invoice", ann, total="9.00", number="INV-4")
    x.pay(old, "9.00", on=WINDOW_START - timedelta(days=1))  # before the 90 days
    bill = x.add_document("bill", ann, total="30.00")
    x.pay(bill, "30.00", on=TODAY - timedelta(days=1))
    owing = x.add_document("invoice", ann, total="500.00", number="INV-5")
    note = x.add_credit_note(ann, total="100.00")
    x.allocate(note, owing, "35.00")  # 65.00 left
    used = x.add_credit_note(ann, total="20.00")
    x.allocate(used, owing, "20.00")  # none left: PAID
    x.add_credit_note(ann, total="44.00", status="VOIDED", remaining="0.00")
    x.add_overpayment(ann, total="20.00", currency="AUD", rate="0.9")  # 22.222: 22.22
    x.add_prepayment(ann, total="15.00", side="bill")
    return w


def test_the_four_figures_per_currency_and_in_base_currency_exactly() -> None:
    w = books()
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    s = report.settled
    assert (s["paid_invoices"].count, s["paid_invoices"].total) == (2, Decimal("185.01"))
    assert s["paid_invoices"].by_currency == {"NZD": Decimal("100.00"),
                                              "USD": Decimal("60.01")}
    assert (s["paid_bills"].count, s["paid_bills"].total) == (1, Decimal("30.00"))
    assert (s["customer_credit"].count, s["customer_credit"].total) == (2, Decimal("87.22"))
    assert s["customer_credit"].by_currency == {"NZD": Decimal("65.00"),
                                                "AUD": Decimal("20.00")}
    assert (s["supplier_credit"].count, s["supplier_credit"].total) == (1, Decimal("15.00"))
    assert report.paid_since == WINDOW_START
    data = report.to_json()
    assert data["paid_invoices"]["total"] == "185.01"
    assert data["paid_invoices"]["since"] == WINDOW_START.isoformat()
    assert data["customer_credit"]["by_currency"] == {"AUD": "20.00", "NZD": "65.00"}
    # the five are the documents': the credit allocated lowered what INV-5 owes
    assert report.figures["outstanding_invoices"].total == Decimal("445.00")


def test_a_payment_dated_after_today_counts_from_its_day() -> None:
    w = books()
    w.clock.advance(days=1)  # tomorrow: INV-3's payment is made; INV-2's 10.01 left
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=True)
    paid_now = report.settled["paid_invoices"]
    assert (paid_now.count, paid_now.total) == (3, Decimal("187.00"))  # 100 + 80 + 7
    assert paid_now.by_currency == {"NZD": Decimal("107.00"), "USD": Decimal("50.00")}


def test_a_company_sums_its_members_and_a_deal_its_documents_and_their_contacts() -> None:
    w = world()
    w.crm_company("k1", "Acme")
    ann, bob = w.xero.add_contact("Ann Lee"), w.xero.add_contact("Bob Ng")
    w.link(w.crm_contact("c1", "Ann", "Lee", company="k1"), ann)
    w.link(w.crm_contact("c2", "Bob", "Ng", company="k1"), bob)
    first = w.xero.add_document("invoice", ann, total="10.10")
    second = w.xero.add_document("invoice", ann, total="5.00")
    bobs = w.xero.add_document("invoice", bob, total="20.20")
    for invoice in (first, second, bobs):
        w.xero.pay(invoice, invoice.total, on=TODAY - timedelta(days=1))
    w.xero.add_overpayment(ann, total="3.00")
    w.xero.add_prepayment(bob, total="4.00")
    company = summary.summarize(w.deps, parse_ref("company:k1"), refresh=False).settled
    assert (company["paid_invoices"].count, company["paid_invoices"].total) == (
        3, Decimal("35.30"))
    assert company["customer_credit"].total == Decimal("7.00")
    w.crm_deal("d1", "Fit-out", "1000", "NZD")
    w.store.attach_deal_documents(w.deps.tenant, "d1", [(first.document_id, "invoice")],
                                  "alice", T0)
    deal = summary.summarize(w.deps, parse_ref("deal:d1"), refresh=False).settled
    assert (deal["paid_invoices"].count, deal["paid_invoices"].total) == (1, Decimal("10.10"))
    assert deal["customer_credit"].total == Decimal("3.00")  # Ann's, not Bob's


def test_a_deleted_payment_and_a_used_credit_leave_the_figures_on_the_next_refresh() -> None:
    w = books()
    summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    gone = next(p for p in w.xero.payments_by_id.values() if p.amount == Decimal("60.00"))
    w.clock.advance(minutes=1)
    w.xero.delete_payment(gone)
    (note,) = [c for c in w.xero.credits_by_id.values() if c.remaining == Decimal("65.00")]
    w.xero.allocate(note, w.xero.add_document("invoice", note.xero_contact_id,
                                              total="65.00"), "65.00")
    after = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=True).settled
    assert after["paid_invoices"].by_currency == {"NZD": Decimal("40.00"),
                                                  "USD": Decimal("60.01")}
    assert after["customer_credit"].by_currency == {"AUD": Decimal("20.00")}


# -- what the reads cost ------------------------------------------------------------------
def test_the_settlement_reads_are_organisation_wide_then_incremental() -> None:
    w = books()
    bob = w.linked("c2", "Bob Ng")
    w.xero.add_document("invoice", bob, total="1.00")
    summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1, **SETTLEMENT_READS}
    asked = dict(w.xero.asked)
    assert asked["get_payments"]["where"] == \
        'Date>=DateTime(2026,8,4)&&Status=="AUTHORISED"'
    assert asked["get_payments"]["page_size"] == 1000
    assert "if_modified_since" not in asked["get_payments"]
    assert {m: asked[m]["where"] for m in ("get_credit_notes", "get_overpayments",
                                           "get_prepayments")} == dict.fromkeys(
        ("get_credit_notes", "get_overpayments", "get_prepayments"), 'Status=="AUTHORISED"')
    w.xero.reset_calls()
    summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert w.xero.calls == {}  # cached: no call
    summary.summarize(w.deps, parse_ref("contact:c2"), refresh=False)
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1}  # settlements are cached
    w.xero.reset_calls()
    w.clock.advance(minutes=10)
    summary.refresh(w.deps, parse_ref("contact:c1"))
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1, **SETTLEMENT_READS}
    asked = dict(w.xero.asked)
    # everything changed since the last read (5 minutes' margin), whatever its status
    assert asked["get_payments"]["where"] == "Date>=DateTime(2026,8,4)"
    assert asked["get_payments"]["if_modified_since"] == T0 - timedelta(minutes=5)
    assert "where" not in asked["get_credit_notes"]
    assert asked["get_prepayments"]["if_modified_since"] == T0 - timedelta(minutes=5)


def test_payments_past_a_page_are_read_page_by_page(monkeypatch) -> None:
    """Xero answers 1,000 a page (asked for above); a page of 10 here, so that the paging
    is seen with eleven payments rather than a thousand and one."""
    monkeypatch.setattr(gateway, "SETTLEMENTS_PAGE", 10)
    w = world()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="11.00")
    for n in range(11):  # in instalments
        w.xero.pay(invoice, "1.00", on=TODAY - timedelta(days=n))
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert (report.settled["paid_invoices"].count,
            report.settled["paid_invoices"].total) == (1, Decimal("11.00"))
    assert w.xero.calls["GET Payments"] == 2
    assert [(f["page"], f["page_size"]) for m, f in w.xero.asked if m == "get_payments"] == [
        (1, 10), (2, 10)]


def test_refresh_all_reads_the_four_lists_once_for_every_contact() -> None:
    w = books()
    for n in (2, 3, 4):
        w.linked(f"c{n}", f"Person {n}")
    done = documents.refresh_all(w.deps, force=False)
    assert done.contacts == 4
    # the invoices in one id batch, each contact's quotes, and the four lists once
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 4, **SETTLEMENT_READS}
    assert done.xero_calls == 9


def test_a_connection_without_the_payments_scope_keeps_the_five_and_says_how_to_reconnect(
        ) -> None:
    w = books()
    w.xero.lack_scope("get_payments", "get_overpayments", "get_prepayments")
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert report.figures["outstanding_invoices"].total == Decimal("445.00")
    why = report.unavailable["paid_invoices"]
    assert "lacks the accounting.payments.read scope" in why and "xerolink connect" in why
    assert set(report.unavailable) == {"paid_invoices", "paid_bills", "customer_credit",
                                       "supplier_credit"}
    assert report.to_json()["paid_bills"]["available"] is False
    with pytest.raises(NotConnectedError) as refused:
        listed(w)
    assert str(refused.value).startswith(
        "payments cannot be read: this connection lacks the accounting.payments.read scope")


# -- details --paid ----------------------------------------------------------------------------
def listed(w: World, since: date | None = None, *, kinds: set[str] = BOTH,
           refresh: bool = False) -> list[tuple[str, list[tuple[date, Decimal]]]]:
    found = paid.paid(w.deps, parse_ref("contact:c1"), since=since, kinds=kinds,
                      refresh=refresh)
    return [(r["number"] or r["type"], [(p["date"], p["amount"]) for p in r["payments"]])
            for r in found.rows]


def test_details_paid_lists_the_window_from_the_cache_and_reads_an_earlier_since() -> None:
    w = books()
    summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    w.xero.reset_calls()
    assert listed(w) == [  # the last 90 days, by last payment; a payment tomorrow listed
        ("INV-2", [(WINDOW_START, Decimal("10.01")),
                   (TODAY - timedelta(days=3), Decimal("50.00"))]),
        ("bill", [(TODAY - timedelta(days=1), Decimal("30.00"))]),
        ("INV-1", [(TODAY - timedelta(days=10), Decimal("40.00")),
                   (TODAY, Decimal("60.00"))]),
        ("INV-3", [(TODAY + timedelta(days=1), Decimal("7.00"))])]
    assert w.xero.calls == {}
    assert [n for n, _ in listed(w, TODAY - timedelta(days=1), kinds={"invoice"})] == [
        "INV-1", "INV-3"]  # from yesterday: INV-1's part paid today
    assert [n for n, _ in listed(w, TODAY)] == ["INV-1", "INV-3"]
    assert w.xero.calls == {}  # within what the cache covers
    earlier = listed(w, WINDOW_START - timedelta(days=300))
    assert earlier[0] == ("INV-4", [(WINDOW_START - timedelta(days=1), Decimal("9.00"))])
    assert w.xero.calls == {"GET Payments": 1}  # the payments alone, from the earlier day
    (asked,) = [f for m, f in w.xero.asked if m == "get_payments"]
    assert asked["where"] == 'Date>=DateTime(2025,10,8)&&Status=="AUTHORISED"'
    w.xero.reset_calls()
    listed(w, WINDOW_START - timedelta(days=100))
    assert w.xero.calls == {}  # the cache now begins earlier still
    listed(w, refresh=True)
    assert w.xero.calls == {"GET Payments": 1}


def test_details_paid_before_any_summary_reads_the_payments_once() -> None:
    w = books()
    assert [n for n, _ in listed(w, TODAY, kinds={"bill"})] == []
    assert [n for n, _ in listed(w, TODAY - timedelta(days=1), kinds={"bill"})] == ["bill"]
    assert w.xero.calls == {"GET Payments": 1}


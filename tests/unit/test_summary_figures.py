"""The five figures, exactly: per currency, in the base currency (amount / CurrencyRate,
rounded half-up to the cent), summed over a company's members and a deal's documents,
and the expired quotes within the open ones. Against a store in memory and a fake
Xero: no server, no process."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import T0, world
from xerolink.errors import NotFoundError
from xerolink.services import summary
from xerolink.services.crm import parse_ref
from xerolink.store.models import CachedDocument

TODAY = date(2026, 11, 2)
# A summary's first read also reads the organisation's payments and credit: one call each
SETTLEMENT_READS = {"GET Payments": 1, "GET CreditNotes": 1, "GET Overpayments": 1,
                    "GET Prepayments": 1}
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)


def doc(kind: str = "invoice", *, total: str = "10.00", due: date | None = None,
        status: str | None = None, currency: str = "NZD", rate: str = "1",
        amount_due: str | None = None) -> CachedDocument:
    opened = "SENT" if kind == "quote" else "AUTHORISED"
    return CachedDocument(f"{kind}-{total}-{due}-{status}-{currency}", kind, "x", "N-1", "",
                          status or opened, TODAY, due, currency, Decimal(rate),
                          Decimal(total), Decimal("0") if kind == "quote" else
                          Decimal(amount_due if amount_due is not None else total), T0, T0)


def figures(*docs: CachedDocument) -> dict[str, summary.Figure]:
    return summary.figures(list(docs), TODAY)


# -- which documents count where ------------------------------------------------------------
def test_an_authorised_invoice_is_outstanding_and_overdue_once_its_due_date_passed() -> None:
    found = figures(doc(due=YESTERDAY, total="120.00"))
    assert (found["outstanding_invoices"].count, found["overdue_invoices"].count) == (1, 1)
    assert found["overdue_invoices"].total == Decimal("120.00")


def test_an_invoice_due_today_is_outstanding_not_overdue() -> None:
    found = figures(doc(due=TODAY))
    assert (found["outstanding_invoices"].count, found["overdue_invoices"].count) == (1, 0)


def test_an_invoice_without_a_due_date_is_never_overdue() -> None:
    found = figures(doc(due=None))
    assert (found["outstanding_invoices"].count, found["overdue_invoices"].count) == (1, 0)


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "PAID", "VOIDED", "DELETED"])
def test_only_an_authorised_invoice_is_owed(status: str) -> None:
    found = figures(doc(status=status, due=YESTERDAY))
    assert found["outstanding_invoices"].count == 0
    assert found["overdue_invoices"].count == 0


def test_a_paid_down_invoice_counts_its_amount_due_not_its_total() -> None:
    found = figures(doc(total="500.00", amount_due="120.25", due=YESTERDAY))
    assert found["outstanding_invoices"].total == Decimal("120.25")
    assert found["overdue_invoices"].by_currency == {"NZD": Decimal("120.25")}


def test_an_authorised_invoice_with_nothing_due_is_not_outstanding() -> None:
    assert figures(doc(amount_due="0.00"))["outstanding_invoices"].count == 0


def test_bills_go_to_the_bill_figures_and_invoices_to_the_invoice_figures() -> None:
    found = figures(doc("bill", total="7.00", due=YESTERDAY), doc(total="3.00"))
    assert found["outstanding_bills"].total == Decimal("7.00")
    assert found["overdue_bills"].total == Decimal("7.00")
    assert found["outstanding_invoices"].total == Decimal("3.00")
    assert found["overdue_invoices"].count == 0


@pytest.mark.parametrize(("status", "counted"), [("DRAFT", True), ("SENT", True),
                                                 ("ACCEPTED", False), ("DECLINED", False),
                                                 ("INVOICED", False), ("DELETED", False)])
def test_open_quotes_are_draft_and_sent_ones_at_their_total(status: str, counted: bool) -> None:
    found = figures(doc("quote", total="99.99", status=status))
    assert found["open_quotes"].count == int(counted)
    assert found["open_quotes"].total == (Decimal("99.99") if counted else Decimal("0"))


def test_a_quote_is_never_outstanding() -> None:
    found = figures(doc("quote", due=YESTERDAY))
    assert all(found[f].count == 0 for f in summary.FIGURES if f != "open_quotes")


# -- currencies and exactness ------------------------------------------------------------------
def test_per_currency_totals_add_own_amounts_and_the_total_adds_base_amounts() -> None:
    """100 USD at 0.6 is 166.67 NZD; 50 NZD is 50: 216.67 in all."""
    found = figures(doc(total="100.00", currency="USD", rate="0.6"), doc(total="50.00"))
    outstanding = found["outstanding_invoices"]
    assert outstanding.by_currency == {"USD": Decimal("100.00"), "NZD": Decimal("50.00")}
    assert outstanding.total == Decimal("216.67")


def test_each_document_is_rounded_to_the_cent_before_adding() -> None:
    """Three times 0.01 at rate 3 is 0.00 each (0.0033...), not 0.01 once added."""
    found = figures(*[doc(total="0.01", rate="3") for _ in range(3)])
    assert found["outstanding_invoices"].total == Decimal("0.00")


def test_half_a_cent_rounds_up() -> None:
    assert summary.to_base(Decimal("0.05"), Decimal("2")) == Decimal("0.03")  # 0.025
    assert summary.to_base(Decimal("-0.05"), Decimal("2")) == Decimal("-0.03")


def test_a_rate_of_zero_is_refused_not_divided_by() -> None:
    with pytest.raises(ValueError, match="CurrencyRate"):
        summary.to_base(Decimal("1"), Decimal("0"))


def test_sums_of_many_cents_are_exact() -> None:
    found = figures(*[doc(total="0.10") for _ in range(10)])
    assert found["outstanding_invoices"].total == Decimal("1.00")
    assert found["outstanding_invoices"].as_json()["total"] == "1.00"


def test_json_says_totals_as_text_sorted_by_currency_and_null_without_a_base() -> None:
    figure = figures(doc(total="1.5", currency="USD", rate="0.5"),
                     doc(total="2"))["outstanding_invoices"]
    assert figure.as_json() == {"available": True, "count": 2, "total": "5.00",
                                "by_currency": {"NZD": "2.00", "USD": "1.50"}}
    assert figure.as_json(base_known=False)["total"] is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"),
                                      places=2),
                          st.sampled_from([("NZD", "1"), ("USD", "0.6"), ("EUR", "0.5437")])),
                min_size=1, max_size=12))
def test_the_total_is_the_sum_of_each_documents_rounded_base_amount(items) -> None:
    docs = [doc(total=str(amount), currency=currency, rate=rate)
            for amount, (currency, rate) in items]
    outstanding = summary.figures(docs, TODAY)["outstanding_invoices"]
    assert outstanding.count == len(docs)
    assert outstanding.total == sum(
        (summary.to_base(d.total, d.currency_rate) for d in docs), Decimal("0"))
    assert sum(outstanding.by_currency.values()) == sum(d.total for d in docs)
    assert all(isinstance(v, Decimal) for v in outstanding.by_currency.values())


# -- expired quotes ------------------------------------------------------------------------------
def test_an_open_quote_past_its_expiry_date_is_expired_and_still_open() -> None:
    docs = [doc("quote", total="40.00", due=YESTERDAY), doc("quote", total="2.00", due=TODAY),
            doc("quote", total="5.00", due=None)]
    expired = summary.expired_quotes(docs, TODAY)
    assert (expired.count, expired.total) == (1, Decimal("40.00"))
    assert summary.figures(docs, TODAY)["open_quotes"].count == 3


def test_an_accepted_quote_past_its_expiry_is_not_expired() -> None:
    assert summary.expired_quotes([doc("quote", due=YESTERDAY, status="ACCEPTED")],
                                  TODAY).count == 0


def test_an_overdue_invoice_is_not_an_expired_quote() -> None:
    assert summary.expired_quotes([doc(due=YESTERDAY)], TODAY).count == 0


def test_today_is_the_organisations_day_not_utc() -> None:
    """09:00 UTC on 2 November is 22:00 in Auckland; 11:30 UTC is the next day there.
    Xero names the zone its own way; one xerolink does not know is UTC's."""
    late = T0.replace(hour=11, minute=30)
    assert summary.organisation_today(T0, "NEWZEALANDSTANDARDTIME") == TODAY
    assert summary.organisation_today(late, "NEWZEALANDSTANDARDTIME") == TOMORROW
    assert summary.organisation_today(late, "Pacific/Auckland") == TODAY
    assert summary.organisation_today(late, None) == TODAY


# -- deals -----------------------------------------------------------------------------------
def test_a_deal_adds_its_quotes_and_invoices_apart_leaving_out_bills_and_withdrawn() -> None:
    from xerolink.store.models import CrmDeal

    deal = CrmDeal("d1", "Fit-out", Decimal("1000"), "nzd")
    value = summary.deal_value(deal, [
        doc("quote", total="300.00"), doc("quote", total="50.00", status="DECLINED"),
        doc(total="200.00", status="PAID"), doc(total="9.00", status="VOIDED"),
        doc("bill", total="70.00")])
    assert (value.quoted.count, value.quoted.total) == (1, Decimal("300.00"))
    assert (value.invoiced.count, value.invoiced.total) == (1, Decimal("200.00"))
    assert value.as_json(base_known=True)["value"] == "1000.00"
    assert value.currency == "NZD"


# -- through the service: a contact, a company, a deal --------------------------------------------
def test_a_contacts_summary_reads_xero_once_then_answers_from_the_cache() -> None:
    w = world()
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="100.00", due=YESTERDAY)
    first = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    calls = w.xero.calls
    again = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert first.figures["overdue_invoices"].total == Decimal("100.00")
    assert (first.cached, again.cached) == (False, True)
    assert w.xero.calls == calls == {"GET Invoices": 1, "GET Quotes": 1, **SETTLEMENT_READS}


def test_a_companys_summary_adds_its_linked_members_and_lists_the_unlinked() -> None:
    w = world()
    w.crm_company("k1", "Acme")
    ann, bob = w.xero.add_contact("Ann Lee"), w.xero.add_contact("Bob Ng")
    w.link(w.crm_contact("c1", "Ann", "Lee", company="k1"), ann)
    w.link(w.crm_contact("c2", "Bob", "Ng", company="k1"), bob)
    w.crm_contact("c3", "Cy", "Unlinked", company="k1")
    w.xero.add_document("invoice", ann, total="10.10")
    w.xero.add_document("invoice", bob, total="20.20", currency="USD", rate="0.5")
    w.xero.rates["USD"] = Decimal("0.5")
    w.xero.add_document("quote", bob, total="5.00")
    report = summary.summarize(w.deps, parse_ref("company:k1"), refresh=False)
    outstanding = report.figures["outstanding_invoices"]
    assert outstanding.total == Decimal("50.50")  # 10.10 + 20.20 / 0.5
    assert outstanding.by_currency == {"NZD": Decimal("10.10"), "USD": Decimal("20.20")}
    assert report.figures["open_quotes"].total == Decimal("5.00")
    assert [(m["ref"], m["linked"]) for m in report.members] == [
        ("contact:c1", True), ("contact:c2", True), ("contact:c3", False)]


def test_a_deals_summary_covers_its_documents_only_and_marks_a_missing_one() -> None:
    """A document Xero no longer has is listed as missing, not counted, not an error."""
    w = world()
    ann = w.linked("c1", "Ann Lee")
    w.crm_deal("d1", "Fit-out", "1000", "NZD")
    quote = w.xero.add_document("quote", ann, total="400.00")
    invoice = w.xero.add_document("invoice", ann, total="250.00")
    w.xero.add_document("invoice", ann, total="9999.00")  # the contact's, not the deal's
    gone = "0c5c4c3e-1d1e-4b6f-9a52-00000000dead"
    w.store.attach_deal_documents(w.deps.tenant, "d1", [
        (quote.document_id, "quote"), (invoice.document_id, "invoice"), (gone, "invoice")],
        "alice", T0)
    report = summary.summarize(w.deps, parse_ref("deal:d1"), refresh=False)
    assert {row["document_id"]: row.get("missing") for row in report.documents} == {
        quote.document_id: None, invoice.document_id: None, gone: True}
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes/{id}": 1, **SETTLEMENT_READS}
    assert report.figures["outstanding_invoices"].total == Decimal("250.00")
    assert report.deal is not None
    assert report.deal.quoted.total == Decimal("400.00")
    assert report.deal.invoiced.total == Decimal("250.00")


def test_a_summary_json_holds_the_expired_quotes_inside_open_quotes() -> None:
    w = world()
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("quote", ann, total="40.00", due=YESTERDAY)
    w.xero.add_document("quote", ann, total="2.00", due=TOMORROW)
    data = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False).to_json()
    assert data["open_quotes"]["count"] == 2
    assert (data["open_quotes"]["expired"], data["open_quotes"]["expired_total"]) == (1, "40.00")


def test_without_a_base_currency_totals_are_null_and_counts_stay() -> None:
    w = world(base_currency=None)
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="10.00")
    data = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False).to_json()
    assert data["outstanding_invoices"]["count"] == 1
    assert data["outstanding_invoices"]["total"] is None
    assert data["outstanding_invoices"]["by_currency"] == {"NZD": "10.00"}
    assert any("base currency is unknown" in n for n in data["notes"])


def test_an_unlinked_contact_is_refused_with_the_fix() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    with pytest.raises(NotFoundError, match="xerolink suggest contact:c1"):
        summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    assert w.xero.calls == {}

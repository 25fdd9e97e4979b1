"""Refresh: what it reads, in how many calls. A contact never read costs its id batch;
once read, every contact is kept current by one organisation-wide If-Modified-Since
call, so a second refresh with nothing changed costs one invoice call (and the quotes').
The calls are counted by the real gateway under Xero's endpoints."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fakes import World, world
from xerolink.errors import XeroUnreachableError
from xerolink.services import documents, summary
from xerolink.services.crm import parse_ref

LAST_WEEK = date(2026, 10, 26)


def linked(w: World, count: int) -> list[str]:
    return [w.linked(f"c{n}", f"Person {n}").contact_id for n in range(1, count + 1)]


def cached(w: World) -> dict[str, str]:
    docs = w.store.documents_for_contacts(w.deps.tenant, list(w.xero.contacts_by_id))
    return {d.document_id: d.status for d in docs}


def test_one_contact_costs_one_invoice_read_and_one_quote_read() -> None:
    w = world()
    (ann,) = linked(w, 1)
    w.xero.add_document("invoice", ann, total="10")
    w.xero.add_document("quote", ann, total="5")
    stats = documents.refresh_contacts(w.deps, [ann], single=True)
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1}
    assert (stats.documents, stats.calls) == (2, 2)


def test_contacts_never_read_share_one_id_batch_and_only_open_statuses_are_asked() -> None:
    w = world()
    ids = linked(w, 3)
    documents.refresh_contacts(w.deps, ids)
    invoice_reads = [f for m, f in w.xero.asked if m == "get_invoices"]
    assert invoice_reads == [{"page": 1, "contact_ids": ids,
                              "statuses": ["DRAFT", "SUBMITTED", "AUTHORISED"]}]
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 3}  # quotes: one a contact


def test_a_second_refresh_with_nothing_changed_costs_one_incremental_invoice_read() -> None:
    w = world()
    ids = linked(w, 3)
    documents.refresh_contacts(w.deps, ids)
    w.clock.advance(minutes=10)
    w.xero.reset_calls()
    documents.refresh_contacts(w.deps, ids)
    invoice_reads = [f for m, f in w.xero.asked if m == "get_invoices"]
    assert len(invoice_reads) == 1
    assert "contact_ids" not in invoice_reads[0]
    assert "if_modified_since" in invoice_reads[0]
    assert w.xero.calls["GET Invoices"] == 1


def test_the_incremental_read_asks_from_five_minutes_before_the_last_began() -> None:
    w = world()
    ids = linked(w, 2)
    started = w.clock()
    documents.refresh_contacts(w.deps, ids)
    w.clock.advance(hours=1)
    w.xero.reset_calls()
    documents.refresh_contacts(w.deps, ids)
    (since,) = [f["if_modified_since"] for m, f in w.xero.asked if m == "get_invoices"]
    assert since == started - timedelta(minutes=5)


def test_the_incremental_read_applies_changes_paid_leaves_new_arrives() -> None:
    w = world()
    ann, bob = linked(w, 2)
    paid = w.xero.add_document("invoice", ann, total="10")
    kept = w.xero.add_document("invoice", bob, total="20")
    documents.refresh_contacts(w.deps, [ann, bob])
    w.clock.advance(minutes=30)
    w.xero.update(paid, status="PAID", amount_due=Decimal("0"))
    new = w.xero.add_document("invoice", bob, total="30")
    documents.refresh_contacts(w.deps, [ann, bob])
    assert cached(w) == {kept.document_id: "AUTHORISED", new.document_id: "AUTHORISED"}


def test_the_incremental_answer_holds_changes_since_the_margin_and_no_older_ones() -> None:
    """If-Modified-Since means "at or after": a record changed an hour before the last
    refresh is not read again; one changed as it ran (inside the five minutes' margin)
    is."""
    w = world()
    ann, bob = linked(w, 2)
    w.clock.advance(hours=-1)
    old = w.xero.add_document("invoice", ann, total="10")
    w.clock.advance(hours=1)
    recent = w.xero.add_document("invoice", bob, total="20")
    documents.refresh_contacts(w.deps, [ann, bob])
    w.clock.advance(hours=1)
    w.xero.reset_calls()
    documents.refresh_contacts(w.deps, [ann, bob])
    (since,) = [f["if_modified_since"] for m, f in w.xero.asked if m == "get_invoices"]
    changed, _ = w.xero.invoices_page(1, modified_since=since)
    assert [d["InvoiceID"] for d in changed] == [recent.document_id]
    assert set(cached(w)) == {old.document_id, recent.document_id}


def test_a_document_of_a_contact_not_being_kept_current_is_not_cached() -> None:
    w = world()
    ann, bob = linked(w, 2)
    documents.refresh_contacts(w.deps, [ann])
    w.clock.advance(minutes=30)
    w.xero.add_document("invoice", bob, total="99")  # bob's documents were never read
    documents.refresh_contacts(w.deps, [ann])
    assert cached(w) == {}


def test_a_new_contact_among_current_ones_is_read_by_id_beside_the_incremental_read() -> None:
    w = world()
    ann, bob = linked(w, 2)
    documents.refresh_contacts(w.deps, [ann])
    w.clock.advance(minutes=30)
    w.xero.add_document("invoice", bob, total="5")
    w.xero.reset_calls()
    documents.refresh_contacts(w.deps, [ann, bob])
    reads = [f for m, f in w.xero.asked if m == "get_invoices"]
    assert [("if_modified_since" in f, f.get("contact_ids")) for f in reads] == [
        (True, None), (False, [bob])]
    assert len(cached(w)) == 1


def test_more_id_batches_than_four_read_the_organisations_open_invoices_instead() -> None:
    """Five batches of 45 ids would be five calls; the open invoices are one page."""
    w = world()
    ids = linked(w, 45 * 4 + 1)
    w.xero.add_document("invoice", ids[0], total="1")
    w.xero.add_document("invoice", w.xero.add_contact("Not Linked"), total="2")
    documents.refresh_contacts(w.deps, ids)
    reads = [f for m, f in w.xero.asked if m == "get_invoices"]
    assert reads == [{"page": 1, "statuses": ["DRAFT", "SUBMITTED", "AUTHORISED"]}]
    assert len(cached(w)) == 1  # the unlinked contact's invoice is not kept


def test_many_contacts_read_the_quote_copy_by_status_and_then_only_its_changes() -> None:
    w = world()
    ids = linked(w, 6)
    for contact in ids:
        w.xero.add_document("quote", contact, total="1")
    documents.refresh_contacts(w.deps, ids)
    quote_reads = [f for m, f in w.xero.asked if m == "get_quotes"]
    assert sorted(f.get("status") for f in quote_reads) == ["DRAFT", "SENT"]
    w.clock.advance(minutes=10)
    w.xero.reset_calls()
    documents.refresh_contacts(w.deps, ids)
    quote_reads = [f for m, f in w.xero.asked if m == "get_quotes"]
    assert len(quote_reads) == 1 and "if_modified_since" in quote_reads[0]
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1}


def test_an_accepted_quote_leaves_the_quote_copy() -> None:
    w = world()
    ids = linked(w, 6)
    accepted = w.xero.add_document("quote", ids[0], total="1")
    documents.refresh_contacts(w.deps, ids)
    assert accepted.document_id in cached(w)
    w.clock.advance(minutes=10)
    w.xero.update(accepted, status="ACCEPTED")
    documents.refresh_contacts(w.deps, ids)
    assert accepted.document_id not in cached(w)


@pytest.mark.parametrize("count", [1, 3, 6, 200])
def test_the_estimate_is_what_a_first_and_a_second_refresh_cost(count: int) -> None:
    w = world()
    ids = linked(w, count)
    estimate = documents.estimate_calls(w.deps, ids)
    documents.refresh_contacts(w.deps, ids)
    assert sum(w.xero.calls.values()) <= estimate + (count > 180)  # a batch can be one page
    w.clock.advance(minutes=10)
    w.xero.reset_calls()
    estimate = documents.estimate_calls(w.deps, ids)
    documents.refresh_contacts(w.deps, ids)
    assert sum(w.xero.calls.values()) == estimate


def test_quotes_xero_will_not_serve_leave_the_other_four_figures_and_say_why() -> None:
    w = world()
    (ann,) = linked(w, 1)
    w.xero.add_document("invoice", ann, total="10")
    w.xero.fail("get_quotes", 404)  # the endpoint is not served
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    data = report.to_json()
    assert data["outstanding_invoices"]["total"] == "10.00"
    assert data["open_quotes"]["available"] is False
    assert documents.quotes_unavailable(w.deps)


def test_quotes_readable_again_are_no_longer_unavailable() -> None:
    w = world()
    (ann,) = linked(w, 1)
    w.xero.fail("get_quotes", 404)
    documents.refresh_contacts(w.deps, [ann], single=True)
    assert documents.quotes_unavailable(w.deps)
    documents.refresh_contacts(w.deps, [ann], single=True)
    assert documents.quotes_unavailable(w.deps) is None


def test_xero_down_after_a_read_gives_the_cached_figures_marked_stale() -> None:
    w = world()
    (ann,) = linked(w, 1)
    w.xero.add_document("invoice", ann, total="10")
    summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)
    w.xero.fail("get_invoices", 503, times=10)
    report = summary.summarize(w.deps, parse_ref("contact:c1"), refresh=True)
    assert report.stale and report.exit_code == 7
    assert report.figures["outstanding_invoices"].total == Decimal("10.00")


def test_xero_down_before_any_read_is_an_error_naming_the_refresh() -> None:
    w = world()
    linked(w, 1)
    w.xero.fail("get_invoices", 503, times=10)
    with pytest.raises(XeroUnreachableError, match="xerolink refresh contact:c1"):
        summary.summarize(w.deps, parse_ref("contact:c1"), refresh=False)


def test_refresh_of_a_record_reports_the_calls_it_made() -> None:
    w = world()
    linked(w, 1)
    first = summary.refresh(w.deps, parse_ref("contact:c1"))
    # its invoices and quotes, then the organisation's payments and three credit lists
    assert (first.contacts, first.xero_calls) == (1, 6)


def test_refresh_all_is_refused_when_it_would_not_fit_the_days_allowance() -> None:
    from xerolink.errors import XerolinkError

    w = world()
    ids = linked(w, 3)
    limits = '{"day_remaining": 2, "seen_at": "2026-11-02T08:59:00+00:00"}'
    w.store.record_rate_limits(w.deps.tenant, limits)
    w.deps.connection = w.store.active_connection() or w.deps.connection
    with pytest.raises(XerolinkError, match="refreshing 3 linked contacts"):
        documents.refresh_all(w.deps, force=False)
    assert w.xero.calls == {}
    done = documents.refresh_all(w.deps, force=True)
    assert done.contacts == len(ids)

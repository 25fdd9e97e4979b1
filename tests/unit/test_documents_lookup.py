"""Documents by id or number: from the cache when it has them (no call), else from
Xero in as few calls as it allows (invoices and bills by IDs in one call, then quotes
one by one); a number xerolink has never seen is asked of Xero once as an invoice
number and once as a quote number. What a deal covers is re-read the same way."""

from __future__ import annotations

import pytest

from fakes import T0, World, world
from xerolink.errors import NotFoundError, UsageError
from xerolink.services import documents, ids, summary
from xerolink.services.crm import parse_ref

UNKNOWN = "0c5c4c3e-1d1e-4b6f-9a52-0000000000ab"


def setup() -> tuple[World, str]:
    w = world()
    ann = w.linked("c1", "Ann Lee")
    w.xero.reset_calls()
    return w, ann.contact_id


def test_cached_documents_are_found_without_a_call() -> None:
    w, ann = setup()
    invoice = w.xero.add_document("invoice", ann, total="1")
    documents.refresh_contacts(w.deps, [ann], single=True)
    w.xero.reset_calls()
    assert list(documents.find(w.deps, [invoice.document_id.upper()])) == [invoice.document_id]
    assert w.xero.calls == {}


def test_unknown_invoices_and_quotes_cost_one_id_read_then_one_read_a_quote() -> None:
    w, ann = setup()
    invoices = [w.xero.add_document("invoice", ann, total="1") for _ in range(3)]
    quote = w.xero.add_document("quote", ann, total="2")
    wanted = [d.document_id for d in [*invoices, quote]]
    found = documents.find(w.deps, wanted)
    assert set(found) == set(wanted) and found[quote.document_id].kind == "quote"
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes/{id}": 1}
    assert len(w.store.documents_by_ids(w.deps.tenant, wanted)) == 4  # cached now


def test_an_id_xero_has_nowhere_is_not_found_naming_every_kind() -> None:
    w, _ = setup()
    with pytest.raises(NotFoundError, match="no quote, invoice or bill"):
        documents.find(w.deps, [UNKNOWN])


def test_a_deals_documents_are_reread_in_one_id_call_and_one_per_quote() -> None:
    w, ann = setup()
    w.crm_deal("d1", "Fit-out")
    docs = [w.xero.add_document("invoice", ann, total="1"),
            w.xero.add_document("bill", ann, total="2"),
            w.xero.add_document("quote", ann, total="3"),
            w.xero.add_document("quote", ann, total="4")]
    read = documents.refresh_documents(w.deps, [(d.document_id, d.kind) for d in docs])
    assert read == 4
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes/{id}": 2}


def test_with_the_quote_copy_current_a_deals_quotes_come_from_its_changes() -> None:
    w = world()
    contacts = [w.linked(f"c{n}", f"Person {n}").contact_id for n in range(6)]
    quotes = [w.xero.add_document("quote", c, total="1") for c in contacts[:2]]
    documents.refresh_contacts(w.deps, contacts)  # six contacts: the quote copy
    w.clock.advance(minutes=10)
    w.xero.update(quotes[0], status="DRAFT")
    w.xero.reset_calls()
    documents.refresh_documents(w.deps, [(q.document_id, "quote") for q in quotes])
    assert w.xero.calls == {"GET Quotes": 1}  # the copy's changes, no read a quote


def test_a_number_the_cache_lacks_is_asked_as_an_invoice_then_as_a_quote() -> None:
    w, ann = setup()
    quote = w.xero.add_document("quote", ann, total="5")
    assert ids.document_id(w.deps, quote.number) == quote.document_id
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes": 1}
    w.xero.reset_calls()
    assert ids.document_id(w.deps, quote.number) == quote.document_id  # cached now
    assert w.xero.calls == {}


def test_a_number_nobody_has_is_not_found_after_two_calls() -> None:
    w, _ = setup()
    with pytest.raises(NotFoundError, match="INV-99999"):
        ids.document_id(w.deps, "INV-99999")
    assert sum(w.xero.calls.values()) == 2


def test_an_id_prefix_names_one_cached_document_or_asks_for_more() -> None:
    """Six characters at least; two documents sharing them make it ambiguous."""
    w, ann = setup()
    one = w.xero.add_document("invoice", ann, total="1",
                              document_id="abcdef01-1d1e-4b6f-9a52-000000000001")
    w.xero.add_document("invoice", ann, total="2",
                        document_id="abcdef02-1d1e-4b6f-9a52-000000000002")
    documents.refresh_contacts(w.deps, [ann], single=True)
    w.xero.reset_calls()
    assert ids.document_id(w.deps, "abcdef01") == one.document_id
    with pytest.raises(UsageError, match="several documents"):
        ids.document_id(w.deps, "abcdef0")
    assert w.xero.calls == {}


def test_view_links_a_document_and_a_contact_into_the_organisation() -> None:
    w, ann = setup()
    bill = w.xero.add_document("bill", ann, total="1")
    link = summary.view(w.deps, bill.document_id)
    assert link.url.endswith(f"InvoiceID={bill.document_id}")
    assert "shortcode=!fAk3" in link.url
    contact = summary.view(w.deps, "contact:c1")
    assert contact.url.endswith(ann) and contact.what == "Ann Lee"


def test_details_lists_open_documents_by_kind_and_status_with_quotes_owing_nothing() -> None:
    w, ann = setup()
    w.xero.add_document("invoice", ann, total="10", status="DRAFT")
    w.xero.add_document("invoice", ann, total="20")
    w.xero.add_document("quote", ann, total="30")
    listed = summary.details(w.deps, parse_ref("contact:c1"), kinds={"invoice", "quote"},
                             status=None, refresh=False)
    assert [(r["type"], r["number"], r["status"]) for r in listed.rows] == [
        ("invoice", "INV-00001", "DRAFT"), ("invoice", "INV-00002", "AUTHORISED"),
        ("quote", "QU-0001", "SENT")]
    quote_row = next(r for r in listed.rows if r["type"] == "quote")
    assert quote_row["amount_due"] is None
    drafts = summary.details(w.deps, parse_ref("contact:c1"), kinds={"invoice"},
                             status="draft", refresh=False)
    assert [r["status"] for r in drafts.rows] == ["DRAFT"]
    assert T0.date() == listed.rows[0]["date"]

"""approve: admins only; the status is read fresh from Xero (never the cache's); only a
DRAFT moves (an invoice or bill to AUTHORISED, a quote to SENT); the change is
confirmed before it is sent; Xero's history then says who approved it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fakes import World, world
from xerolink.errors import NotFoundError, PermissionDeniedError, XeroRefusedError
from xerolink.services import approve

ADMIN_WRITES = {"GET Invoices": 1, "POST Invoices/{id}": 1, "PUT Invoices/{id}/History": 1}


def setup(*, admin: bool = True) -> World:
    w = world()
    if admin:
        w.admin()
    return w


def yes(_approval: approve.Approval) -> None:
    pass


class Stop(Exception):
    pass


def no(_approval: approve.Approval) -> None:
    raise Stop


def test_a_draft_invoice_becomes_authorised_with_a_history_note() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="120.00", status="DRAFT")
    w.xero.reset_calls()
    done = approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=yes)
    assert w.xero.documents[invoice.document_id].status == "AUTHORISED"
    assert (done.approval.from_status, done.approval.to_status) == ("DRAFT", "AUTHORISED")
    assert w.xero.history[invoice.document_id] == [
        "Approved by xerolink for contact:c1 by alice"]
    assert done.history_note and w.xero.calls == ADMIN_WRITES
    (cached,) = w.store.documents_by_ids(w.deps.tenant, [invoice.document_id])
    assert cached.status == "AUTHORISED"


def test_a_draft_bill_becomes_authorised_and_a_draft_quote_sent() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    bill = w.xero.add_document("bill", ann, total="7.00", status="DRAFT")
    quote = w.xero.add_document("quote", ann, total="9.00", status="DRAFT")
    approve.approve(w.deps, bill.document_id, dry_run=False, confirm=yes)
    approve.approve(w.deps, quote.document_id, dry_run=False, confirm=yes)
    assert w.xero.documents[bill.document_id].status == "AUTHORISED"
    assert w.xero.documents[quote.document_id].status == "SENT"


@pytest.mark.parametrize(("kind", "status"), [("invoice", "AUTHORISED"), ("invoice", "PAID"),
                                              ("invoice", "SUBMITTED"), ("quote", "SENT"),
                                              ("quote", "ACCEPTED"), ("bill", "VOIDED")])
def test_anything_but_a_draft_is_refused_and_nothing_is_written(kind: str, status: str) -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    document = w.xero.add_document(kind, ann, total="1.00", status=status)
    w.xero.reset_calls()
    with pytest.raises(XeroRefusedError, match=f"is {status} in Xero, not DRAFT"):
        approve.approve(w.deps, document.document_id, dry_run=False, confirm=yes)
    assert w.xero.documents[document.document_id].status == status
    assert all(label.startswith("GET") for label in w.xero.calls)
    assert w.xero.history == {}


def test_the_status_is_read_fresh_a_stale_cached_draft_is_not_approved() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="5.00", status="DRAFT")
    w.store.apply_document_changes(w.deps.tenant, [invoice], [])  # cached as a draft
    w.xero.update(invoice, status="AUTHORISED")  # approved in Xero meanwhile
    with pytest.raises(XeroRefusedError, match="AUTHORISED in Xero"):
        approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=yes)
    (cached,) = w.store.documents_by_ids(w.deps.tenant, [invoice.document_id])
    assert cached.status == "AUTHORISED"  # the cache now as fresh as the read


def test_a_cached_kind_costs_one_read_an_unknown_quote_two() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    quote = w.xero.add_document("quote", ann, total="5.00", status="DRAFT")
    w.xero.reset_calls()
    approve.approve(w.deps, quote.document_id, dry_run=True, confirm=yes)
    assert w.xero.calls == {"GET Invoices": 1, "GET Quotes/{id}": 1}
    w.xero.reset_calls()
    approve.approve(w.deps, quote.document_id, dry_run=True, confirm=yes)  # cached now
    assert w.xero.calls == {"GET Quotes/{id}": 1}


def test_a_dry_run_plans_and_changes_nothing() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="120.00", status="DRAFT")
    done = approve.approve(w.deps, invoice.document_id, dry_run=True, confirm=no)
    assert done.dry_run and done.approval.total == Decimal("120.00")
    assert w.xero.documents[invoice.document_id].status == "DRAFT"


def test_a_declined_confirmation_sends_nothing() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="1.00", status="DRAFT")
    w.xero.reset_calls()
    with pytest.raises(Stop):
        approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=no)
    assert w.xero.documents[invoice.document_id].status == "DRAFT"
    assert w.xero.calls == {"GET Invoices": 1}


def test_a_viewer_is_refused_before_any_call() -> None:
    w = setup(admin=False)
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="1.00", status="DRAFT")
    w.xero.reset_calls()
    with pytest.raises(PermissionDeniedError) as refused:
        approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=yes)
    assert str(refused.value) == (
        "you do not have the right to approve or send documents of Fake Books Ltd; ask an "
        "admin (xerolink access grant alice --send)")
    assert w.xero.calls == {}


def test_a_document_xero_does_not_have_is_not_found() -> None:
    w = setup()
    with pytest.raises(NotFoundError):
        approve.approve(w.deps, "0c5c4c3e-1d1e-4b6f-9a52-0000000000ee", dry_run=False,
                        confirm=yes)


def test_a_failed_history_note_is_reported_and_the_approval_stands() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="1.00", status="DRAFT")
    w.xero.fail("create_invoice_history", 400, message="History is not available")
    done = approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=yes)
    assert w.xero.documents[invoice.document_id].status == "AUTHORISED"
    assert not done.history_note and "History is not available" in done.problem


def test_the_note_names_an_unlinked_contact_by_its_xero_name() -> None:
    w = setup()
    stranger = w.xero.add_contact("Stranger Ltd")
    invoice = w.xero.add_document("invoice", stranger, total="1.00", status="DRAFT")
    approve.approve(w.deps, invoice.document_id, dry_run=False, confirm=yes)
    assert w.xero.history[invoice.document_id] == [
        "Approved by xerolink for Stranger Ltd by alice"]


def test_a_document_number_is_found_in_xero_when_not_cached() -> None:
    w = setup()
    ann = w.linked("c1", "Ann Lee")
    invoice = w.xero.add_document("invoice", ann, total="1.00", status="DRAFT")
    approve.approve(w.deps, invoice.number, dry_run=False, confirm=yes)
    assert w.xero.documents[invoice.document_id].status == "AUTHORISED"

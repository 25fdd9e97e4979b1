"""send: an approved sales invoice emailed through Xero once; a draft only with
--approve; an invoice already sent (by xerolink, or SentToContact in Xero) refused
unless --again (exactly one more email); a rerun after an interruption sends the same
Idempotency-Key, so Xero emails it once; quotes and bills refused before any call; and
who may: admins, or a viewer granted the right to send, checked before any call."""

from __future__ import annotations

import pytest

from fakes import TENANT, World, world
from xerolink.errors import PermissionDeniedError, XeroRefusedError, XeroUnreachableError
from xerolink.services import approve, send
from xerolink.store.models import AccessEntry, CachedDocument

EMAILED = {"GET Invoices": 1, "GET Contacts/{id}": 1, "POST Invoices/{id}/Email": 1,
           "PUT Invoices/{id}/History": 1}


def yes(_sending: object) -> None:
    pass


def setup(status: str = "AUTHORISED", kind: str = "invoice", *, email: str = "ann@example.com",
          user: str = "alice") -> tuple[World, CachedDocument]:
    w = world(user=user)
    w.admin()
    ann = w.xero.add_contact("Ann Lee", email=email)
    w.link(w.crm_contact("c1", "Ann", "Lee"), ann)
    document = w.xero.add_document(kind, ann, total="120.00", status=status)
    w.xero.reset_calls()
    return w, document


def run(w: World, document: CachedDocument, *, approve_first: bool = False,
        again: bool = False, dry_run: bool = False) -> send.Sent:
    return send.send(w.deps, document.document_id, approve_first=approve_first, again=again,
                     dry_run=dry_run, confirm=yes)


def emails(w: World) -> list[tuple[str, str]]:
    return [(e["invoice_id"], e["to"]) for e in w.xero.outbox]


def test_an_authorised_invoice_is_emailed_once_to_its_contact_with_a_note() -> None:
    w, invoice = setup()
    done = run(w, invoice)
    assert emails(w) == [(invoice.document_id, "ann@example.com")]
    assert done.emailed and done.sending.to == "ann@example.com"
    assert w.xero.calls == EMAILED and done.xero_calls == 4
    assert w.xero.history[invoice.document_id] == [
        "Sent by xerolink to ann@example.com by alice"]
    assert w.xero.sent_to_contact[invoice.document_id]  # SentToContact, as Xero marks it
    (intent,) = w.store.send_intents(TENANT, invoice.document_id)
    assert intent.sent_at is not None and intent.noted_at is not None


def test_a_dry_run_reads_and_sends_nothing() -> None:
    w, invoice = setup()
    done = run(w, invoice, dry_run=True)
    assert done.dry_run and not done.emailed and emails(w) == []
    assert w.xero.calls == {"GET Invoices": 1, "GET Contacts/{id}": 1}
    assert w.store.send_intents(TENANT, invoice.document_id) == []


def test_a_draft_needs_approve_first_and_with_it_is_approved_then_emailed() -> None:
    w, draft = setup("DRAFT")
    with pytest.raises(XeroRefusedError, match=r"is a DRAFT in Xero.*--approve"):
        run(w, draft)
    assert emails(w) == [] and w.xero.documents[draft.document_id].status == "DRAFT"
    assert w.xero.calls == {"GET Invoices": 1}
    w.xero.reset_calls()
    done = run(w, draft, approve_first=True)
    assert w.xero.documents[draft.document_id].status == "AUTHORISED"
    assert emails(w) == [(draft.document_id, "ann@example.com")] and done.approved
    assert w.xero.calls == {**EMAILED, "POST Invoices/{id}": 1,
                            "PUT Invoices/{id}/History": 2}  # the approval's note, the send's


def test_an_invoice_sent_by_xerolink_is_refused_unless_again_sends_exactly_one_more() -> None:
    w, invoice = setup()
    run(w, invoice)
    with pytest.raises(send.AlreadySent, match=r"already sent by xerolink: to ann@example\.com"):
        run(w, invoice)
    assert len(emails(w)) == 1
    run(w, invoice, again=True)
    assert len(emails(w)) == 2
    keys = [i.idempotency_key for i in w.store.send_intents(TENANT, invoice.document_id)]
    assert len(set(keys)) == 2  # a reminder is a new email, so a new key


def test_an_invoice_marked_sent_in_xero_is_refused_with_when_unless_again() -> None:
    w, invoice = setup()
    w.xero.mark_sent(invoice)
    with pytest.raises(send.AlreadySent, match=r"Xero marks it sent to the contact, at "
                                               r"2026-11-02 09:00 UTC by its history"):
        run(w, invoice)
    assert emails(w) == []
    run(w, invoice, again=True)
    assert len(emails(w)) == 1


def test_a_send_interrupted_after_xero_emailed_it_is_rerun_with_the_same_key() -> None:
    w, invoice = setup()
    w.xero.interrupt.add("email_invoice")  # Xero sends it; the answer never arrives
    with pytest.raises(KeyboardInterrupt):
        run(w, invoice)
    (pending,) = w.store.send_intents(TENANT, invoice.document_id)
    assert pending.sent_at is None and len(emails(w)) == 1
    w.clock.advance(minutes=2)
    again = run(w, invoice)
    assert "Idempotency-Key is sent again" in (again.sending.resumed or "")
    assert len(emails(w)) == 1  # the same key: Xero answered, and emailed nothing new
    assert [e["idempotency_key"] for e in w.xero.outbox] == [pending.idempotency_key]
    (done,) = w.store.send_intents(TENANT, invoice.document_id)
    assert done.idempotency_key == pending.idempotency_key and done.sent_at is not None


def test_a_send_xero_never_answered_is_rerun_with_its_key_and_emailed_once() -> None:
    w, invoice = setup()
    w.xero.fail("email_invoice", 503, times=10)
    with pytest.raises(XeroUnreachableError):
        run(w, invoice)
    assert emails(w) == []
    (pending,) = w.store.send_intents(TENANT, invoice.document_id)  # kept: outcome unknown
    w.clock.advance(minutes=1)
    run(w, invoice)
    assert [e["idempotency_key"] for e in w.xero.outbox] == [pending.idempotency_key]


def test_xeros_refusal_of_the_email_keeps_no_intent() -> None:
    w, invoice = setup()
    w.xero.fail("email_invoice", 400, message="The organisation cannot send email")
    with pytest.raises(XeroRefusedError, match="cannot send email"):
        run(w, invoice)
    assert w.store.send_intents(TENANT, invoice.document_id) == [] and emails(w) == []


@pytest.mark.parametrize(("kind", "status", "refusal"), [
    ("quote", "SENT", "Xero has no email endpoint for quotes"),
    ("bill", "AUTHORISED", "only sales invoices are emailed"),
])
def test_a_cached_quote_or_bill_is_refused_before_any_call(kind: str, status: str,
                                                          refusal: str) -> None:
    w, document = setup(status, kind)
    w.store.apply_document_changes(TENANT, [document], [])  # cached: its kind is known
    with pytest.raises(XeroRefusedError, match=refusal):
        run(w, document)
    assert w.xero.calls == {} and emails(w) == []


def test_a_contact_without_an_address_is_refused_and_nothing_is_sent() -> None:
    w, invoice = setup(email="")
    with pytest.raises(XeroRefusedError, match="has no email address"):
        run(w, invoice)
    assert emails(w) == [] and w.store.send_intents(TENANT, invoice.document_id) == []
    assert "POST Invoices/{id}/Email" not in w.xero.calls


# -- who may --------------------------------------------------------------------------------
def viewer(w: World, *, may_send: bool) -> None:
    w.store.grant_access(AccessEntry(TENANT, "bob", "viewer", "alice", w.clock(),
                                     may_send=may_send))


def test_a_viewer_without_the_right_to_send_is_refused_before_any_call() -> None:
    w, invoice = setup("DRAFT", user="bob")
    viewer(w, may_send=False)
    refusal = ("you do not have the right to approve or send documents of Fake Books Ltd; "
               "ask an admin (xerolink access grant bob --send)")
    with pytest.raises(PermissionDeniedError) as refused:
        run(w, invoice, approve_first=True)
    assert str(refused.value) == refusal
    with pytest.raises(PermissionDeniedError) as refused:
        approve.approve(w.deps, invoice.document_id, dry_run=True, confirm=yes)
    assert str(refused.value) == refusal
    assert w.xero.calls == {} and emails(w) == []
    assert w.xero.documents[invoice.document_id].status == "DRAFT"


def test_a_viewer_granted_the_right_to_send_approves_and_sends() -> None:
    w, invoice = setup("DRAFT", user="bob")
    viewer(w, may_send=True)
    done = run(w, invoice, approve_first=True)
    assert done.emailed and emails(w) == [(invoice.document_id, "ann@example.com")]
    assert w.xero.history[invoice.document_id][-1] == \
        "Sent by xerolink to ann@example.com by bob"

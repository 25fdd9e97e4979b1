"""create: one document per intent. A create interrupted while Xero had it leaves its
intent (fingerprint and Idempotency-Key) in the store; the rerun sends the same key
within Xero's window, and after it looks for the document before making another."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fakes import World, world
from xerolink.errors import NotFoundError, UsageError, XeroRefusedError, XeroUnreachableError
from xerolink.services import create
from xerolink.services.crm import parse_ref

TODAY = date(2026, 11, 2)


def draft(kind: str = "invoice", *lines: str, **options: str) -> create.Draft:
    made = create.draft_from(kind, lines=list(lines) or ["Design work;3;150.25"], **options)
    return create.check(made, today=TODAY, defaults={"account": "200", "tax_type": None})


def made(w: World, kind: str = "invoice") -> list[str]:
    return sorted(d.number for d in w.xero.documents.values() if d.kind == kind)


def intents(w: World) -> int:
    return w.store.table_counts()["create_intents"]


def setup() -> World:
    w = world()
    w.linked("c1", "Ann Lee")
    w.xero.reset_calls()
    return w


def test_a_create_makes_one_draft_caches_it_and_leaves_no_intent() -> None:
    w = setup()
    done = create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert (done.document.status, done.document.total) == ("DRAFT", Decimal("450.75"))
    assert made(w) == ["INV-00001"]
    assert w.xero.calls == {"PUT Invoices": 1, "PUT Invoices/{id}/History": 1}
    assert w.xero.history[done.document.document_id] == [
        "Created by xerolink for contact:c1 by alice"]
    assert w.store.documents_by_ids(w.deps.tenant, [done.document.document_id])
    assert intents(w) == 0 and done.resumed is None


@pytest.mark.parametrize(("kind", "label"), [("quote", "PUT Quotes"), ("bill", "PUT Invoices")])
def test_quotes_and_bills_are_made_by_their_own_endpoint(kind: str, label: str) -> None:
    """Each with its history note, on the endpoint of its own kind."""
    w = setup()
    done = create.create(w.deps, parse_ref("contact:c1"), draft(kind), deal_id=None)
    assert done.document.kind == kind and w.xero.calls == {label: 1,
                                                           f"{label}/{{id}}/History": 1}


def test_an_interrupted_create_rerun_at_once_sends_the_same_key_and_makes_no_second() -> None:
    w = setup()
    w.xero.interrupt.add("create_invoices")
    with pytest.raises(KeyboardInterrupt):
        create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001"] and intents(w) == 1
    w.clock.advance(minutes=2)
    again = create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001"]
    assert again.document.number == "INV-00001"
    assert "Idempotency-Key was sent again" in (again.resumed or "")
    assert intents(w) == 0


def test_a_rerun_after_the_window_finds_the_document_instead_of_creating_another() -> None:
    w = setup()
    w.xero.interrupt.add("create_invoices")
    with pytest.raises(KeyboardInterrupt):
        create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    w.clock.advance(minutes=30)
    w.xero.reset_calls()
    again = create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001"]
    assert "was found in Xero" in (again.resumed or "")
    # the search, and no PUT of a document: only the note the interrupted run never wrote
    assert w.xero.calls == {"GET Invoices": 1, "PUT Invoices/{id}/History": 1}
    assert intents(w) == 0


def test_a_rerun_after_the_window_creates_when_xero_never_had_it() -> None:
    w = setup()
    w.xero.fail("create_invoices", 503, times=10)
    with pytest.raises(XeroUnreachableError):
        create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == [] and intents(w) == 1  # the outcome is unknown: kept
    w.clock.advance(minutes=30)
    again = create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001"]
    assert "is not in Xero, so it was created now" in (again.resumed or "")


def test_the_search_after_the_window_does_not_take_a_different_document() -> None:
    """Another draft of the same contact (other lines) is not the one this run made."""
    w = setup()
    create.create(w.deps, parse_ref("contact:c1"), draft("invoice", "Other;1;99"),
                  deal_id=None)
    w.xero.fail("create_invoices", 503, times=10)
    with pytest.raises(XeroUnreachableError):
        create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    w.clock.advance(minutes=30)
    create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001", "INV-00002"]


def test_an_interrupted_quote_is_found_after_the_window_too() -> None:
    w = setup()
    w.xero.interrupt.add("create_quote")
    with pytest.raises(KeyboardInterrupt):
        create.create(w.deps, parse_ref("contact:c1"), draft("quote", expiry_date="2026-12-01"),
                      deal_id=None)
    w.clock.advance(minutes=30)
    w.xero.reset_calls()
    again = create.create(w.deps, parse_ref("contact:c1"),
                          draft("quote", expiry_date="2026-12-01"), deal_id=None)
    assert made(w, "quote") == ["QU-0001"]
    assert w.xero.calls == {"GET Quotes": 1, "PUT Quotes/{id}/History": 1}
    assert again.document.due_date == date(2026, 12, 1)


def test_xeros_refusal_removes_the_intent_nothing_was_made() -> None:
    w = setup()
    with pytest.raises(XeroRefusedError, match="not enabled"):
        create.create(w.deps, parse_ref("contact:c1"), draft(currency="JPY"), deal_id=None)
    assert intents(w) == 0 and made(w) == []


def test_the_same_request_twice_in_a_row_makes_two_documents() -> None:
    """Only an interrupted create is resumed; a finished one leaves no intent."""
    w = setup()
    create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id=None)
    assert made(w) == ["INV-00001", "INV-00002"]


def test_a_create_for_a_deal_attaches_the_document_to_it() -> None:
    w = setup()
    w.crm_deal("d1", "Fit-out")
    done = create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id="d1")
    assert w.store.deal_documents(w.deps.tenant, "d1") == [
        (done.document.document_id, "invoice")]


def test_an_unknown_deal_or_an_unlinked_contact_is_refused_before_any_call() -> None:
    w = setup()
    with pytest.raises(NotFoundError, match="deal:d9"):
        create.create(w.deps, parse_ref("contact:c1"), draft(), deal_id="d9")
    w.crm_contact("c2", "Bob", "Ng")
    with pytest.raises(NotFoundError, match="not linked"):
        create.create(w.deps, parse_ref("contact:c2"), draft(), deal_id=None)
    assert w.xero.calls == {}


def test_the_fingerprint_is_the_requests_and_only_the_requests() -> None:
    contact = "0c5c4c3e-1d1e-4b6f-9a52-0000000000aa"
    one = create.drafts.payload(draft(), contact)
    assert create.fingerprint("invoice", one) == create.fingerprint("invoice", dict(one))
    assert create.fingerprint("invoice", one) != create.fingerprint("bill", one)
    other = create.drafts.payload(draft("invoice", "Design work;3;150.26"), contact)
    assert create.fingerprint("invoice", one) != create.fingerprint("invoice", other)


# -- what is checked before anything is sent -----------------------------------------------------
@pytest.mark.parametrize(("spec", "message"), [
    ("Work;1;NaN", "finite"), ("Work;1;1e309", "not a number|finite|less than"),
    ("Work;0;10", "greater than zero"), ("Work;1;0.00001", "more than 4 decimal places"),
    ("Work;1", "description;quantity;unit_amount"), (";1;10", "description is required")])
def test_a_bad_line_is_refused_with_its_reason(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        draft("invoice", spec)


def test_amounts_stay_exact_decimals() -> None:
    (line,) = draft("invoice", "Work;0.3333;3").lines
    assert (line.quantity, line.unit_amount) == (Decimal("0.3333"), Decimal("3"))


def test_dates_are_checked_for_each_kind() -> None:
    with pytest.raises(UsageError, match="expiry-date, not --due-date"):
        draft("quote", due_date="2026-12-01")
    with pytest.raises(UsageError, match="due date is before"):
        draft("invoice", due_date="2026-10-01")
    with pytest.raises(UsageError, match="for quotes"):
        draft("invoice", expiry_date="2026-12-01")
    assert draft().date == TODAY  # the organisation's today, not the calendar's

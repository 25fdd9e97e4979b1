"""The sandbox's documents out of the door, and money in: email to an outbox, online
invoices, history, status transitions, payments, credit and PDFs, each as Xero answers
(docs/xero-fidelity.md, "Sending documents" and "Paid and credit")."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from support import api, control, request, running_sandbox, sandbox_token
from xerolink.sandbox.seed import build_tenants


def _days_ago(days: int) -> str:
    """A date relative to today, as the seeded books are: no date of the calendar's."""
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with running_sandbox(rate_limits=False) as server:
        base = server.base_url
        tenant = next(iter(server.sandbox.tenants))
        token = sandbox_token(base, tenants=[tenant])
        yield {"server": server, "base": base, "tenant": tenant, "token": token,
               "books": server.sandbox.tenants[tenant], "taken": set()}


def call(w: dict[str, Any], method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    return api(w["base"], w["token"], w["tenant"], method, path, body, headers)


def take(w: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first invoice ``wanted`` that no other test has been given: this module's
    tests share one sandbox and change what they take, and a parallel run gives a
    worker any of them, in any order."""
    chosen = next(i for i in w["books"].invoices.values()
                  if i["InvoiceID"] not in w["taken"] and wanted(i))
    w["taken"].add(chosen["InvoiceID"])
    return chosen


def pick(w: dict[str, Any], kind: str, status: str, **extra: Any) -> dict[str, Any]:
    """An invoice of this type and status (and ``extra`` values), whose contact has an
    email address."""
    books = w["books"]
    return take(w, lambda i: i["Type"] == kind and i["Status"] == status
                and all(i.get(k) == v for k, v in extra.items())
                and books.contacts[i["ContactID"]]["EmailAddress"])


def outbox(w: dict[str, Any]) -> list[dict[str, Any]]:
    return control(w["base"], "GET", f"outbox?tenant={w['tenant']}")["messages"]


def messages(answer: Any) -> list[str]:
    return [e["Message"] for el in answer["Elements"] for e in el["ValidationErrors"]]


# -- email ------------------------------------------------------------------------------
def test_an_authorised_invoice_is_emailed_once_per_idempotency_key(world) -> None:
    invoice = pick(world, "ACCREC", "AUTHORISED", SentToContact=False)
    contact = world["books"].contacts[invoice["ContactID"]]
    before = len(outbox(world))
    path = f"/Invoices/{invoice['InvoiceID']}/Email"
    key = {"Idempotency-Key": "send-once-1"}
    first = call(world, "POST", path, {}, key)
    again = call(world, "POST", path, {}, key)
    assert first[0] == again[0] == 204 and first[2] is None
    sent = outbox(world)[before:]
    assert len(sent) == 1  # the same key: the same answer, and no second email
    assert sent[0]["invoice_id"] == invoice["InvoiceID"]
    assert sent[0]["invoice_number"] == invoice["InvoiceNumber"]
    assert sent[0]["to"] == contact["EmailAddress"]
    assert sent[0]["idempotency_key"] == "send-once-1"
    _, _, read = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}")
    assert read["Invoices"][0]["SentToContact"] is True
    assert call(world, "POST", path, {}, {"Idempotency-Key": "reminder-1"})[0] == 204
    assert len(outbox(world)) == before + 2  # a new key is a deliberate second email


@pytest.mark.parametrize("kind,status", [("ACCREC", "DRAFT"), ("ACCREC", "DELETED"),
                                         ("ACCREC", "VOIDED"), ("ACCPAY", "AUTHORISED")])
def test_a_draft_or_a_bill_is_not_emailed(world, kind, status) -> None:
    invoice = pick(world, kind, status)
    before = len(outbox(world))
    status_code, _, answer = call(world, "POST", f"/Invoices/{invoice['InvoiceID']}/Email", {})
    assert status_code == 400
    assert answer["Type"] == "ValidationException" and answer["ErrorNumber"] == 10
    assert answer["Elements"][0]["InvoiceID"] == invoice["InvoiceID"]
    assert messages(answer)
    assert len(outbox(world)) == before
    assert world["books"].invoices[invoice["InvoiceID"]]["SentToContact"] is False or \
        status == "AUTHORISED"


def test_email_of_an_unknown_id_is_xeros_text_404_and_a_missing_body_is_refused(world) -> None:
    status, _, body = call(world, "POST",
                           "/Invoices/00000000-0000-0000-0000-000000000000/Email", {})
    assert status == 404 and "cannot be found" in body
    invoice = pick(world, "ACCREC", "AUTHORISED")
    status, _, _ = request(world["base"], "POST",
                           f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}/Email", headers={
                               "Authorization": f"Bearer {world['token']['access_token']}",
                               "xero-tenant-id": world["tenant"]})
    assert status == 400


def test_a_contact_without_an_email_address_gets_no_email(world) -> None:
    invoice = pick(world, "ACCREC", "AUTHORISED")
    contact = world["books"].contacts[invoice["ContactID"]]
    control(world["base"], "POST", "edit", {"tenant": world["tenant"],
                                            "contact_id": contact["ContactID"],
                                            "fields": {"EmailAddress": ""}})
    saved, contact["ContactPersons"] = contact["ContactPersons"], []
    try:
        status, _, answer = call(world, "POST", f"/Invoices/{invoice['InvoiceID']}/Email", {})
        assert status == 400 and "no email address" in messages(answer)[0]
    finally:
        contact["ContactPersons"] = saved


# -- online invoice ------------------------------------------------------------------------
def test_an_online_invoice_link_for_a_sales_invoice_not_a_draft_nor_a_bill(world) -> None:
    invoice = pick(world, "ACCREC", "PAID")
    status, _, answer = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice")
    assert status == 200
    [link] = answer["OnlineInvoices"]
    assert link["OnlineInvoiceUrl"].startswith("https://in.xero.com/")
    _, _, again = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}/onlineinvoice")
    assert again["OnlineInvoices"] == [link]  # the same link each time, any case of path
    for kind, status_name in (("ACCREC", "DRAFT"), ("ACCPAY", "AUTHORISED")):
        other = pick(world, kind, status_name)
        code, _, refused = call(world, "GET", f"/Invoices/{other['InvoiceID']}/OnlineInvoice")
        assert code == 400 and refused["Type"] == "ValidationException"


# -- history ----------------------------------------------------------------------------------
def test_a_note_joins_the_history_of_an_invoice_and_of_a_quote(world) -> None:
    invoice = pick(world, "ACCREC", "AUTHORISED")
    quote = next(iter(world["books"].quotes.values()))
    for path in (f"/Invoices/{invoice['InvoiceID']}/History",
                 f"/Quotes/{quote['QuoteID']}/History"):
        note = "Created by xerolink from deal:42 for contact:7 by alice"
        status, _, made = call(world, "PUT", path, {"HistoryRecords": [{"Details": note}]})
        assert status == 200 and made["HistoryRecords"][0]["Details"] == note
        _, _, read = call(world, "GET", path)
        records = read["HistoryRecords"]
        assert records[0]["Details"] == note and records[0]["Changes"] == "Note"
        assert records[-1]["Changes"] == "Created"
        assert {"Changes", "DateUTC", "User", "Details"} <= set(records[0])
        status, _, refused = call(world, "PUT", path, {"HistoryRecords": [{"Details": " "}]})
        assert status == 400 and refused["Type"] == "ValidationException"
    assert call(world, "GET",
                "/Quotes/00000000-0000-0000-0000-000000000000/History")[0] == 404


def test_a_seeded_sent_invoice_says_when_it_was_sent(world) -> None:
    emailed = {m["invoice_id"] for m in outbox(world)}  # by this module's other tests
    invoice = take(world, lambda i: i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED"
                   and i.get("SentToContact") and i["InvoiceID"] not in emailed)
    _, _, read = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}/History")
    changes = [r["Changes"] for r in read["HistoryRecords"]]
    assert changes[-2:] == ["Sent", "Created"]


def test_an_invoice_emailed_after_its_history_was_read_was_never_marked_sent(world) -> None:
    """Its history is the seeded one (created, not sent) and then the email: reading it
    first made no difference."""
    invoice = pick(world, "ACCREC", "AUTHORISED", SentToContact=False)
    path = f"/Invoices/{invoice['InvoiceID']}"
    assert [r["Changes"] for r in call(world, "GET", f"{path}/History")[2]
            ["HistoryRecords"]] == ["Created"]
    assert call(world, "POST", f"{path}/Email", {})[0] == 204
    assert [r["Changes"] for r in call(world, "GET", f"{path}/History")[2]
            ["HistoryRecords"]] == ["Emailed", "Created"]


# -- status transitions ------------------------------------------------------------------------
def test_a_draft_is_approved_and_its_history_says_so(world) -> None:
    draft = pick(world, "ACCREC", "DRAFT")
    path = f"/Invoices/{draft['InvoiceID']}"
    status, _, answer = call(world, "POST", path, {"Invoices": [{"Status": "AUTHORISED"}]})
    assert status == 200 and answer["Invoices"][0]["Status"] == "AUTHORISED"
    _, _, history = call(world, "GET", f"{path}/History")
    assert history["HistoryRecords"][0]["Changes"] == "Approved"
    status, _, refused = call(world, "POST", path, {"Invoices": [{"Status": "DRAFT"}]})
    assert status == 400 and refused["Type"] == "ValidationException"


def test_a_draft_without_a_due_date_is_not_approved(world) -> None:
    draft = pick(world, "ACCREC", "DRAFT")
    control(world["base"], "POST", "edit", {"tenant": world["tenant"],
                                            "invoice_id": draft["InvoiceID"],
                                            "fields": {"DueDate": None}})
    status, _, refused = call(world, "POST", f"/Invoices/{draft['InvoiceID']}",
                              {"Invoices": [{"Status": "AUTHORISED"}]})
    assert status == 400 and "Due Date" in messages(refused)[0]
    assert world["books"].invoices[draft["InvoiceID"]]["Status"] == "DRAFT"


def test_an_invoice_with_a_payment_is_not_voided(world) -> None:
    invoice = take(world, lambda i: i["Status"] == "AUTHORISED" and i["AmountPaid"] > 0)
    status, _, refused = call(world, "POST", f"/Invoices/{invoice['InvoiceID']}",
                              {"Invoices": [{"Status": "VOIDED"}]})
    assert status == 400 and "payments or credit" in messages(refused)[0]


@pytest.mark.parametrize("start,target,ok", [("DRAFT", "SENT", True),
                                             ("SENT", "ACCEPTED", True),
                                             ("SENT", "DECLINED", True),
                                             ("DRAFT", "DECLINED", False),
                                             ("ACCEPTED", "DECLINED", False),
                                             ("DRAFT", "ACCEPTED", False)])
def test_quote_transitions_follow_xero(world, start, target, ok) -> None:
    quote = next(q for q in world["books"].quotes.values() if q["Status"] == start)
    status, _, answer = call(world, "POST", f"/Quotes/{quote['QuoteID']}",
                             {"Quotes": [{"Status": target}]})
    if ok:
        assert status == 200 and answer["Quotes"][0]["Status"] == target
    else:
        assert status == 400 and answer["Type"] == "ValidationException"
        assert world["books"].quotes[quote["QuoteID"]]["Status"] == start


# -- payments and credit -------------------------------------------------------------------------
def test_a_payment_settles_an_invoice_and_is_listed(world) -> None:
    invoice = pick(world, "ACCREC", "AUTHORISED", AmountPaid=Decimal("0"))
    due = invoice["AmountDue"]
    part = (due / 2).quantize(Decimal("0.01"))
    body = {"Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]},
                          "Account": {"Code": "090"}, "Date": _days_ago(11), "Amount": str(part)}]}
    status, _, made = call(world, "PUT", "/Payments", body)
    assert status == 200 and Decimal(str(made["Payments"][0]["Amount"])) == part
    over = {"Payments": [{**body["Payments"][0], "Amount": str(due)}]}
    status, _, refused = call(world, "PUT", "/Payments", over)
    assert status == 400
    assert messages(refused) == ["Payment amount exceeds the amount outstanding on this document"]
    rest = {"Payments": [{**body["Payments"][0], "Amount": str(due - part),
                          "Date": _days_ago(6)}]}
    assert call(world, "PUT", "/Payments", rest)[0] == 200
    _, _, read = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}")
    [paid] = read["Invoices"]
    assert paid["Status"] == "PAID" and Decimal(str(paid["AmountDue"])) == 0
    assert Decimal(str(paid["AmountPaid"])) == due
    last = date.fromisoformat(_days_ago(6))
    assert paid["FullyPaidOnDate"].startswith("/Date(" + str(int(datetime(
        last.year, last.month, last.day, tzinfo=UTC).timestamp() * 1000)))
    assert sorted(Decimal(str(p["Amount"])) for p in paid["Payments"]) == sorted([part, due - part])
    where = f'Invoice.InvoiceID==Guid("{invoice["InvoiceID"]}")'
    _, _, listed = call(world, "GET", f"/Payments?where={where}&page=1")
    assert len(listed["Payments"]) == 2 and listed["pagination"]["itemCount"] == 2


def test_a_deleted_payment_is_owed_again(world) -> None:
    invoice = take(world, lambda i: i["Status"] == "PAID" and i["AmountCredited"] == 0)
    [first, *_] = world["books"].payments_by_invoice[invoice["InvoiceID"]]
    amount = world["books"].payments[first]["Amount"]
    status, _, answer = call(world, "POST", f"/Payments/{first}",
                             {"Payments": [{"Status": "DELETED"}]})
    assert status == 200 and answer["Payments"][0]["Status"] == "DELETED"
    _, _, read = call(world, "GET", f"/Invoices/{invoice['InvoiceID']}")
    [owed] = read["Invoices"]
    assert owed["Status"] == "AUTHORISED" and "FullyPaidOnDate" not in owed
    assert Decimal(str(owed["AmountDue"])) == amount
    assert first not in [p["PaymentID"] for p in owed["Payments"]]
    again = call(world, "POST", f"/Payments/{first}", {"Payments": [{"Status": "DELETED"}]})
    assert again[0] == 400


def test_a_payment_on_a_draft_is_refused(world) -> None:
    draft = pick(world, "ACCREC", "DRAFT")
    status, _, refused = call(world, "PUT", "/Payments", {"Payments": [{
        "Invoice": {"InvoiceID": draft["InvoiceID"]}, "Account": {"Code": "090"},
        "Amount": "1.00"}]})
    assert status == 400 and "AUTHORISED" in messages(refused)[0]


def test_seeded_payments_add_up_to_what_each_document_shows_paid(world) -> None:
    books = world["books"]
    _, _, listed = call(world, "GET", "/Payments")
    by_invoice: dict[str, Decimal] = {}
    for payment in listed["Payments"]:
        if payment["Status"] == "DELETED":
            continue  # a deleted payment is listed, and counts for nothing
        key = payment["Invoice"]["InvoiceID"]
        by_invoice[key] = by_invoice.get(key, Decimal("0")) + Decimal(str(payment["Amount"]))
    paid = {i["InvoiceID"]: i["AmountPaid"] for i in books.invoices.values() if i["AmountPaid"]}
    assert by_invoice == paid


def test_a_credit_note_is_allocated_and_its_remaining_credit_falls(world) -> None:
    books = world["books"]
    note = next(n for n in books.credit_notes.values() if n["Status"] == "AUTHORISED"
                and n["Type"] == "ACCRECCREDIT")
    invoice = {"Type": "ACCREC", "Contact": {"ContactID": note["ContactID"]},
               "Date": _days_ago(30), "DueDate": _days_ago(0), "Status": "AUTHORISED",
               "CurrencyCode": note["CurrencyCode"],
               "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": 1000,
                              "AccountCode": "200"}]}
    _, _, made = call(world, "PUT", "/Invoices", {"Invoices": [invoice]})
    invoice_id = made["Invoices"][0]["InvoiceID"]
    amount = min(note["RemainingCredit"], Decimal("10.00"))
    remaining = note["RemainingCredit"]
    status, _, allocated = call(world, "PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations",
                                {"Allocations": [{"Invoice": {"InvoiceID": invoice_id},
                                                  "Amount": str(amount), "Date": _days_ago(29)}]})
    assert status == 200 and allocated["Allocations"][0]["Invoice"]["InvoiceID"] == invoice_id
    _, _, read = call(world, "GET", f"/CreditNotes/{note['CreditNoteID']}")
    assert Decimal(str(read["CreditNotes"][0]["RemainingCredit"])) == remaining - amount
    _, _, inv = call(world, "GET", f"/Invoices/{invoice_id}")
    assert Decimal(str(inv["Invoices"][0]["AmountCredited"])) == amount
    assert inv["Invoices"][0]["CreditNotes"][0]["CreditNoteID"] == note["CreditNoteID"]
    status, _, refused = call(world, "PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations",
                              {"Allocations": [{"Invoice": {"InvoiceID": invoice_id},
                                                "Amount": str(remaining + 1)}]})
    assert status == 400 and refused["Type"] == "ValidationException"


def test_overpayments_and_prepayments_list_their_remaining_credit(world) -> None:
    for key, id_key in (("Overpayments", "OverpaymentID"), ("Prepayments", "PrepaymentID")):
        status, _, listed = call(world, "GET", f"/{key}?page=1")
        assert status == 200 and listed[key]
        for item in listed[key]:
            assert {"RemainingCredit", "Status", "Contact", "CurrencyCode",
                    "CurrencyRate", id_key} <= set(item)
        _, _, open_only = call(world, "GET", f'/{key}?where=Status=="AUTHORISED"')
        assert all(i["Status"] == "AUTHORISED" for i in open_only[key])


def test_the_settlement_seed_is_its_own_stream() -> None:
    """Seeded payments and credit are the same for the same seed, and change nothing
    drawn before them (ids, numbers, figures of the existing books)."""
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    a, b = build_tenants(5, 80, now.date(), now), build_tenants(5, 80, now.date(), now)
    assert [list(t.payments) for t in a] == [list(t.payments) for t in b]
    assert [list(t.credit_notes) for t in a] == [list(t.credit_notes) for t in b]
    assert all(t.payments and t.credit_notes for t in a[:1])


# -- PDFs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["invoice", "bill", "quote", "credit note"])
def test_a_document_as_a_pdf_holds_its_number_contact_and_total(world, kind) -> None:
    from pypdf import PdfReader

    books = world["books"]
    if kind == "quote":
        doc = next(iter(books.quotes.values()))
        path, number = f"/Quotes/{doc['QuoteID']}", doc["QuoteNumber"]
    elif kind == "credit note":
        doc = next(iter(books.credit_notes.values()))
        path, number = f"/CreditNotes/{doc['CreditNoteID']}", doc["CreditNoteNumber"]
    else:
        doc = pick(world, "ACCREC" if kind == "invoice" else "ACCPAY", "AUTHORISED")
        path, number = f"/Invoices/{doc['InvoiceID']}", doc["InvoiceNumber"]
    status, headers, body = request(world["base"], "GET", f"/api.xro/2.0{path}", headers={
        "Authorization": f"Bearer {world['token']['access_token']}",
        "xero-tenant-id": world["tenant"], "Accept": "application/pdf"})
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert body.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert number in text
    assert books.contacts[doc["ContactID"]]["Name"].split()[0] in text
    assert f"{doc['Total']:,.2f}" in text


def test_the_pdf_of_an_unknown_id_is_xeros_text_404(world) -> None:
    status, _, body = request(
        world["base"], "GET", "/api.xro/2.0/Invoices/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": f"Bearer {world['token']['access_token']}",
                 "xero-tenant-id": world["tenant"], "Accept": "application/pdf"})
    assert status == 404 and b"cannot be found" in body


def test_raw_data_carries_payments_credit_and_the_outbox(world) -> None:
    raw = control(world["base"], "GET", f"data?tenant={world['tenant']}")
    assert {"payments", "credit_notes", "overpayments", "prepayments", "outbox"} <= set(raw)
    assert json.dumps(raw, default=str)


def test_an_email_whose_answer_was_lost_is_not_sent_again_on_retry(world) -> None:
    """Xero sent it but the answer never came (commit, then the connection dropped):
    the retry with the same Idempotency-Key gets the answer, and no second email."""
    import http.client

    invoice = pick(world, "ACCREC", "AUTHORISED", SentToContact=False)
    before = len(outbox(world))
    path = f"/Invoices/{invoice['InvoiceID']}/Email"
    key = {"Idempotency-Key": "lost-answer-1"}
    control(world["base"], "POST", "faults", {"commit_then_drop_rate": 1, "methods": ["POST"]})
    try:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            call(world, "POST", path, {}, key)
    finally:
        control(world["base"], "POST", "faults", {})
    assert len(outbox(world)) == before + 1  # it was sent
    assert call(world, "POST", path, {}, key)[0] == 204
    assert len(outbox(world)) == before + 1  # and not again


def test_xero_python_sends_reads_and_pays_through_the_sandbox(world) -> None:
    """The SDK calls the issue-27 commands will make, as xero-python makes them."""
    from pathlib import Path

    from pypdf import PdfReader
    from xero_python.accounting import Account as XeroAccount
    from xero_python.accounting import (
        HistoryRecord,
        HistoryRecords,
        Invoice,
        Payment,
        RequestEmpty,
    )

    from sandbox.test_accounting import sdk

    accounting, _ = sdk(world["base"], world["token"])
    tenant = world["tenant"]
    invoice = pick(world, "ACCREC", "AUTHORISED", SentToContact=False, AmountPaid=Decimal("0"))
    invoice_id = invoice["InvoiceID"]
    before = len(outbox(world))
    accounting.email_invoice(tenant, invoice_id, RequestEmpty(), idempotency_key="sdk-1")
    assert len(outbox(world)) == before + 1
    link = accounting.get_online_invoice(tenant, invoice_id).online_invoices[0]
    assert link.online_invoice_url.startswith("https://in.xero.com/")
    note = HistoryRecords(history_records=[HistoryRecord(details="from deal:9")])
    accounting.create_invoice_history(tenant, invoice_id, note)
    history = accounting.get_invoice_history(tenant, invoice_id).history_records
    assert history[0].details == "from deal:9"
    pdf = Path(accounting.get_invoice_as_pdf(tenant, invoice_id))
    try:
        assert invoice["InvoiceNumber"] in PdfReader(str(pdf)).pages[0].extract_text()
    finally:
        pdf.unlink()  # xero-python writes the PDF to a temporary file
    due = invoice["AmountDue"]
    payment = Payment(invoice=Invoice(invoice_id=invoice_id), account=XeroAccount(code="090"),
                      amount=float(due), date=invoice["Date"])
    made = accounting.create_payment(tenant, payment).payments[0]
    assert Decimal(str(made.amount)) == due
    paid = accounting.get_invoice(tenant, invoice_id).invoices[0]
    assert str(paid.status).endswith("PAID") and paid.fully_paid_on_date is not None
    listed = accounting.get_payments(tenant, where=f'Invoice.InvoiceID==Guid("{invoice_id}")')
    assert [p.payment_id for p in listed.payments] == [made.payment_id]
    credit = accounting.get_overpayments(tenant, page=1).overpayments
    assert credit and credit[0].remaining_credit is not None


@pytest.mark.parametrize("resource,id_key", [("Overpayments", "OverpaymentID"),
                                             ("Prepayments", "PrepaymentID")])
def test_an_overpayment_or_prepayment_is_allocated_as_credit(world, resource, id_key) -> None:
    books = world["books"]
    records = books.overpayments if resource == "Overpayments" else books.prepayments
    credit = next(iter(records.values()))
    credit.update(Type=f"RECEIVE-{resource[:-1].upper()}", Status="AUTHORISED",
                  RemainingCredit=credit["Total"])
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": credit["ContactID"]},
                          "Date": _days_ago(30), "DueDate": _days_ago(0), "Status": "AUTHORISED",
                          "CurrencyCode": credit["CurrencyCode"],
                          "LineItems": [{"Description": "Work", "Quantity": 1,
                                         "UnitAmount": 2000, "AccountCode": "200"}]}]}
    _, _, made = call(world, "PUT", "/Invoices", body)
    invoice_id = made["Invoices"][0]["InvoiceID"]
    path = f"/{resource}/{credit[id_key]}"
    status, _, _ = call(world, "PUT", f"{path}/Allocations", {"Allocations": [
        {"Invoice": {"InvoiceID": invoice_id}, "Amount": "5.00", "Date": _days_ago(29)}]})
    assert status == 200
    _, _, read = call(world, "GET", path)
    [after] = read[resource]
    assert Decimal(str(after["RemainingCredit"])) == credit["Total"] - Decimal("5.00")
    assert after["Allocations"][0]["Invoice"]["InvoiceID"] == invoice_id
    _, _, inv = call(world, "GET", f"/Invoices/{invoice_id}")
    assert Decimal(str(inv["Invoices"][0]["AmountCredited"])) == Decimal("5.00")
    assert inv["Invoices"][0][resource][0][id_key] == credit[id_key]
    status, _, refused = call(world, "PUT", f"{path}/Allocations", {"Allocations": [
        {"Invoice": {"InvoiceID": invoice_id}, "Amount": str(credit["Total"])}]})
    assert status == 400 and refused["Type"] == "ValidationException"

"""``send`` and ``create-* --approve --send``: an approved sales invoice is emailed
through Xero exactly once (the sandbox's outbox is the customer's inbox), to the
address said before, with a history note naming who; a draft, an invoice already
sent, a quote, a bill, a contact without an address, a viewer, no answer to the
question and a dry run email nothing. Xero calls are counted."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from support import api, control, crm_csv_from_sandbox, raw_records, sandbox_token

# Due four weeks on: relative to today (the organisation's may be a day ahead of UTC's),
# never a date of the calendar's, so the tests pass on any day.
LINE = ("--line", "Sent widgets;2;10.50;200", "--due-date",
        (date.today() + timedelta(days=28)).isoformat())
EMAIL = "POST /api.xro/2.0/Invoices/{id}/Email"
HISTORY = "PUT /api.xro/2.0/Invoices/{id}/History"


def outbox(sandbox, tenant: str, invoice_id: str | None = None) -> list[dict[str, Any]]:
    messages = control(sandbox.base_url, "GET", f"outbox?tenant={tenant}")["messages"]
    return [m for m in messages if invoice_id is None or m["invoice_id"] == invoice_id]


def calls(sandbox) -> dict[str, int]:
    return dict(control(sandbox.base_url, "GET", "stats")["by_endpoint"])


def reset(sandbox) -> None:
    control(sandbox.base_url, "POST", "stats/reset")


def notes(sandbox, tenant: str, path: str) -> list[str]:
    token = sandbox_token(sandbox.base_url, tenants=[tenant])
    status, _, answer = api(sandbox.base_url, token, tenant, "GET", f"{path}/History")
    assert status == 200
    return [r["Details"] for r in answer["HistoryRecords"] if r["Changes"] == "Note"]


def contact_email(sandbox, tenant: str, contact_id: str) -> str:
    contacts = raw_records(sandbox, tenant, "contacts")["contacts"]
    return next(c.get("EmailAddress") or "" for c in contacts if c["ContactID"] == contact_id)


def unsent(sandbox, tenant: str, status: str = "AUTHORISED") -> dict[str, Any]:
    """A sales invoice of ``status``, not sent, whose contact has an address."""
    data = raw_records(sandbox, tenant, "contacts", "invoices")
    addressed = {c["ContactID"] for c in data["contacts"] if c.get("EmailAddress")}
    return next(i for i in data["invoices"] if i["Type"] == "ACCREC"
                and i["Status"] == status and not i.get("SentToContact")
                and i["Contact"]["ContactID"] in addressed and i.get("DueDate")
                and all(line.get("AccountCode") for line in i["LineItems"]))


@pytest.fixture
def linked(cli, connected, sandbox, tmp_path) -> dict[str, str]:
    """A linked CRM contact whose Xero contact has an email address."""
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv")
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    link = next(x for x in cli.json("links")
                if contact_email(sandbox, connected, x["xero_contact_id"]))
    return {"ref": link["crm"], "xero": link["xero_contact_id"], "tenant": connected}


def made(sandbox, tenant: str, contact: str) -> list[dict[str, Any]]:
    return [i for i in raw_records(sandbox, tenant, "invoices")["invoices"]
            if i["Contact"]["ContactID"] == contact
            and i["LineItems"][0]["Description"] == "Sent widgets"]


def test_create_approve_send_goes_from_the_crm_record_to_the_inbox(cli, linked,
                                                                   sandbox) -> None:
    tenant, ref = linked["tenant"], linked["ref"]
    reset(sandbox)
    done = cli.json("create-invoice", ref, *LINE, "--approve", "--send", "--yes")
    made_calls = calls(sandbox)
    invoices = made(sandbox, tenant, linked["xero"])
    assert len(invoices) == 1 and invoices[0]["Status"] == "AUTHORISED"
    assert done["status"] == "AUTHORISED" and done["number"] == invoices[0]["InvoiceNumber"]
    address = contact_email(sandbox, tenant, linked["xero"])
    sent = outbox(sandbox, tenant, invoices[0]["InvoiceID"])
    assert len(sent) == 1 and sent[0]["to"] == address and sent[0]["idempotency_key"]
    assert done["sent"]["to"] == address and done["sent"]["emailed"] is True
    assert done["history_note"] is True and done["approved"]["to_status"] == "AUTHORISED"
    written = notes(sandbox, tenant, f"/Invoices/{invoices[0]['InvoiceID']}")
    assert f"Created by xerolink for {ref} by alice" in written
    assert f"Sent by xerolink to {address} by alice" in written
    assert any(n.startswith(f"Approved by xerolink for {ref}") for n in written)
    # the contact's address, the create, its note, the approval, its note, the email,
    # its note: seven calls, nothing read twice
    assert made_calls == {"GET /api.xro/2.0/Contacts/{id}": 1,
                          "PUT /api.xro/2.0/Invoices": 1, HISTORY: 3,
                          "POST /api.xro/2.0/Invoices/{id}": 1, EMAIL: 1}
    # sending it once more is refused: sent, on record, and when
    code, _, err = cli("send", done["number"], "--yes")
    assert code == 6 and "already sent by xerolink" in err and address in err
    assert len(outbox(sandbox, tenant, invoices[0]["InvoiceID"])) == 1


def test_the_same_create_and_send_run_again_at_once_sends_nothing_more(
        cli, linked, sandbox, monkeypatch) -> None:
    """A run killed as it ended (every step done, its answer lost) leaves what a finished
    run leaves: the same command run again within Xero's idempotency window is
    answered with the invoice made, and nothing is made, approved or emailed again.
    After the window it is a new, deliberate invoice and email."""
    from datetime import UTC, datetime

    tenant, ref = linked["tenant"], linked["ref"]
    at = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setenv("XEROLINK_NOW", at.isoformat())
    first = cli.json("create-invoice", ref, *LINE, "--approve", "--send", "--yes")
    reset(sandbox)
    monkeypatch.setenv("XEROLINK_NOW", (at + timedelta(minutes=4)).isoformat())
    again = cli.json("create-invoice", ref, *LINE, "--approve", "--send", "--yes")
    assert again["number"] == first["number"] and again["status"] == "AUTHORISED"
    assert "nothing was made, approved or sent again" in again["resumed"]
    # answered from what the finished run cached: no call, no question
    assert calls(sandbox) == {}
    invoices = made(sandbox, tenant, linked["xero"])
    assert len(invoices) == 1 and len(outbox(sandbox, tenant, invoices[0]["InvoiceID"])) == 1
    monkeypatch.setenv("XEROLINK_NOW", (at + timedelta(minutes=6)).isoformat())
    later = cli.json("create-invoice", ref, *LINE, "--approve", "--send", "--yes")
    assert later["number"] != first["number"] and later["resumed"] is None
    assert len(made(sandbox, tenant, linked["xero"])) == 2
    assert sum(len(outbox(sandbox, tenant, i["InvoiceID"]))
               for i in made(sandbox, tenant, linked["xero"])) == 2


def test_a_created_document_notes_the_deal_and_contact(cli, linked, sandbox,
                                                       tmp_path) -> None:
    tenant, ref = linked["tenant"], linked["ref"]
    reset(sandbox)
    done = cli.json("create-invoice", ref, *LINE)
    assert calls(sandbox) == {"PUT /api.xro/2.0/Invoices": 1, HISTORY: 1}
    assert done["status"] == "DRAFT" and done["history_note"] is True
    assert done["approved"] is None and done["sent"] is None and done["problem"] is None
    assert notes(sandbox, tenant, f"/Invoices/{done['document_id']}") == [
        f"Created by xerolink for {ref} by alice"]
    assert outbox(sandbox, tenant, done["document_id"]) == []
    deals = tmp_path / "deals.json"
    deals.write_text(json.dumps([{"id": "d77", "title": "Fit-out",
                                  "primary_contact_id": ref.split(":", 1)[1]}]))
    assert cli("crm", "import", str(deals), "--kind", "deals")[0] == 0
    quote = cli.json("create-quote", ref, "--line", "Quoted;1;99", "--deal", "d77")
    assert notes(sandbox, tenant, f"/Quotes/{quote['document_id']}") == [
        f"Created by xerolink from deal:d77 for {ref} by alice"]


def test_a_failed_note_does_not_fail_the_create(cli, linked, sandbox, monkeypatch) -> None:
    """Xero refuses the note (the sandbox's faults cannot single out History, so the
    refusal is raised where the note is written): the invoice is made and sent all the
    same, and the result says why each note is missing."""
    from xerolink.errors import XeroRefusedError
    from xerolink.xero import approval

    def refused(*args: object) -> None:
        raise XeroRefusedError("Xero refused PUT Invoices/{id}/History: no notes today")

    monkeypatch.setattr(approval, "add_note", refused)
    tenant, ref = linked["tenant"], linked["ref"]
    code, out, err = cli("create-invoice", ref, *LINE, "--send", "--yes", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["history_note"] is False and "no notes today" in done["problem"]
    assert done["sent"]["history_note"] is False and done["sent"]["emailed"] is True
    assert "warning: its history note was not added" in err
    assert len(made(sandbox, tenant, linked["xero"])) == 1
    assert len(outbox(sandbox, tenant, done["document_id"])) == 1


def test_a_quote_created_and_approved_is_sent_and_noted(cli, linked, sandbox) -> None:
    tenant, ref = linked["tenant"], linked["ref"]
    done = cli.json("create-quote", ref, "--line", "Quoted;1;99", "--approve", "--yes")
    assert done["status"] == "SENT" and done["approved"]["from_status"] == "DRAFT"
    written = notes(sandbox, tenant, f"/Quotes/{done['document_id']}")
    assert f"Created by xerolink for {ref} by alice" in written


def test_create_quote_send_is_refused_before_anything(cli, linked, sandbox) -> None:
    tenant, ref = linked["tenant"], linked["ref"]
    before = len(raw_records(sandbox, tenant, "quotes")["quotes"])
    reset(sandbox)
    code, out, err = cli("create-quote", ref, "--line", "Quoted;1;99", "--send", "--yes")
    assert code == 2 and out == ""
    assert "no email endpoint for quotes" in err and "xerolink pdf" in err
    assert "nothing was created" in err
    assert calls(sandbox) == {} and len(raw_records(sandbox, tenant, "quotes")["quotes"]) == before


def test_create_send_without_a_terminal_or_yes_creates_nothing(cli, linked, sandbox) -> None:
    tenant, ref = linked["tenant"], linked["ref"]
    reset(sandbox)
    code, _, err = cli("create-invoice", ref, *LINE, "--send")
    assert code == 2 and "pass --yes" in err and "nothing was created" in err
    assert calls(sandbox) == {"GET /api.xro/2.0/Contacts/{id}": 1}
    assert made(sandbox, tenant, linked["xero"]) == [] and outbox(sandbox, tenant) == []


def test_create_send_for_a_contact_without_an_address_creates_nothing(cli, linked,
                                                                      sandbox) -> None:
    tenant = linked["tenant"]
    control(sandbox.base_url, "POST", "edit", {"tenant": tenant, "contact_id": linked["xero"],
                                               "fields": {"EmailAddress": ""}})
    code, _, err = cli("create-invoice", linked["ref"], *LINE, "--send", "--yes")
    assert code == 6 and "has no email address" in err and "nothing was created" in err
    assert made(sandbox, tenant, linked["xero"]) == []


def test_an_authorised_invoice_is_sent_once_then_again_on_request(cli, connected,
                                                                  sandbox) -> None:
    invoice = unsent(sandbox, connected)
    address = contact_email(sandbox, connected, invoice["Contact"]["ContactID"])
    reset(sandbox)
    done = cli.json("send", invoice["InvoiceID"], "--yes")
    assert done["to"] == address and done["emailed"] is True and done["history_note"]
    assert done["document"]["number"] == invoice["InvoiceNumber"]
    # the fresh read, the contact's address, the email, its note
    assert calls(sandbox) == {"GET /api.xro/2.0/Invoices": 1,
                              "GET /api.xro/2.0/Contacts/{id}": 1, EMAIL: 1, HISTORY: 1}
    first = outbox(sandbox, connected, invoice["InvoiceID"])
    assert len(first) == 1 and first[0]["to"] == address
    assert f"Sent by xerolink to {address} by alice" in notes(
        sandbox, connected, f"/Invoices/{invoice['InvoiceID']}")

    reset(sandbox)
    code, out, err = cli("send", invoice["InvoiceID"], "--yes")
    assert code == 6 and out == "" and len(err.strip().splitlines()) == 1
    assert "already sent by xerolink" in err and " UTC by alice" in err and "--again" in err
    assert calls(sandbox) == {"GET /api.xro/2.0/Invoices": 1}
    assert len(outbox(sandbox, connected, invoice["InvoiceID"])) == 1

    again = cli.json("send", invoice["InvoiceID"], "--again", "--yes")
    assert again["again"] is True and again["emailed"] is True
    both = outbox(sandbox, connected, invoice["InvoiceID"])
    assert len(both) == 2, "exactly one more"
    assert both[0]["idempotency_key"] != both[1]["idempotency_key"]


def test_an_invoice_xero_marks_sent_is_refused_with_when(cli, connected, sandbox) -> None:
    data = raw_records(sandbox, connected, "invoices")
    invoice = next(i for i in data["invoices"] if i["Type"] == "ACCREC"
                   and i["Status"] == "AUTHORISED" and i.get("SentToContact"))
    reset(sandbox)
    code, _, err = cli("send", invoice["InvoiceID"], "--yes")
    assert code == 6 and "Xero marks it sent to the contact, at 20" in err
    assert "UTC by its history" in err
    assert calls(sandbox) == {"GET /api.xro/2.0/Invoices": 1,
                              "GET /api.xro/2.0/Invoices/{id}/History": 1}
    assert outbox(sandbox, connected, invoice["InvoiceID"]) == []


def test_a_draft_needs_approve_then_is_approved_and_sent(cli, connected, sandbox) -> None:
    invoice = unsent(sandbox, connected, "DRAFT")
    reset(sandbox)
    code, _, err = cli("send", invoice["InvoiceID"], "--yes")
    assert code == 6 and "is a DRAFT in Xero" in err and "--approve" in err
    assert calls(sandbox) == {"GET /api.xro/2.0/Invoices": 1}
    assert outbox(sandbox, connected, invoice["InvoiceID"]) == []
    done = cli.json("send", invoice["InvoiceID"], "--approve", "--yes")
    assert done["approved"] == {"from_status": "DRAFT", "to_status": "AUTHORISED",
                                "history_note": True}
    assert done["document"]["status"] == "AUTHORISED", "as Xero answered the approval"
    assert len(outbox(sandbox, connected, invoice["InvoiceID"])) == 1
    status = next(i["Status"] for i in raw_records(sandbox, connected, "invoices")["invoices"]
                  if i["InvoiceID"] == invoice["InvoiceID"])
    assert status == "AUTHORISED"


def test_a_quote_is_refused_offering_its_pdf_and_link(cli, connected, sandbox) -> None:
    quote = next(q for q in raw_records(sandbox, connected, "quotes")["quotes"]
                 if q["Status"] == "SENT")
    code, out, err = cli("send", quote["QuoteID"], "--yes")
    assert code == 6 and out == ""
    assert "no email endpoint for quotes" in err
    assert f"xerolink pdf {quote['QuoteNumber']}" in err
    assert f"/quotes/view/{quote['QuoteID']}" in err, "the View in Xero link"
    assert outbox(sandbox, connected) == []


def test_a_bill_is_refused(cli, connected, sandbox) -> None:
    bill = next(i for i in raw_records(sandbox, connected, "invoices")["invoices"]
                if i["Type"] == "ACCPAY" and i["Status"] == "AUTHORISED")
    code, _, err = cli("send", bill["InvoiceID"], "--yes")
    assert code == 6 and "only sales invoices are emailed" in err
    assert outbox(sandbox, connected) == []


def test_a_contact_without_an_address_is_refused(cli, connected, sandbox) -> None:
    invoice = unsent(sandbox, connected)
    control(sandbox.base_url, "POST", "edit", {
        "tenant": connected, "contact_id": invoice["Contact"]["ContactID"],
        "fields": {"EmailAddress": ""}})
    code, _, err = cli("send", invoice["InvoiceID"], "--yes")
    assert code == 6 and "has no email address" in err and "nothing was sent" in err
    assert outbox(sandbox, connected) == []


def test_a_dry_run_says_what_to_whom_and_sends_nothing(cli, connected, sandbox) -> None:
    invoice = unsent(sandbox, connected)
    address = contact_email(sandbox, connected, invoice["Contact"]["ContactID"])
    reset(sandbox)
    done = cli.json("send", invoice["InvoiceID"], "--dry-run")
    assert done["dry_run"] is True and done["emailed"] is False and done["to"] == address
    code, out, _ = cli("send", invoice["InvoiceID"], "--dry-run")
    assert code == 0 and out.startswith("Would email invoice") and address in out
    assert EMAIL not in calls(sandbox) and HISTORY not in calls(sandbox)
    assert outbox(sandbox, connected) == []
    # nothing on record either: a real send afterwards goes
    assert cli.json("send", invoice["InvoiceID"], "--yes")["emailed"] is True


def test_no_terminal_and_no_yes_sends_nothing(cli, connected, sandbox) -> None:
    invoice = unsent(sandbox, connected)
    code, _, err = cli("send", invoice["InvoiceID"])
    assert code == 2 and "pass --yes" in err and "nothing was sent" in err
    assert outbox(sandbox, connected) == []


def test_a_viewer_may_not_send(cli, connected, sandbox, monkeypatch) -> None:
    invoice = unsent(sandbox, connected)
    assert cli("access", "grant", "bob")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    reset(sandbox)
    code, _, err = cli("send", invoice["InvoiceID"], "--yes")
    assert code == 4 and "access grant bob --send" in err
    assert calls(sandbox) == {} and outbox(sandbox, connected) == []


def test_a_viewer_granted_the_right_sends_and_loses_it_on_revoke(cli, connected, sandbox,
                                                               monkeypatch) -> None:
    invoice = unsent(sandbox, connected)
    assert cli("access", "grant", "bob", "--send")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    done = cli.json("send", invoice["InvoiceID"], "--yes")
    assert done["emailed"] is True
    assert len(outbox(sandbox, connected, invoice["InvoiceID"])) == 1
    monkeypatch.setenv("XEROLINK_USER", "alice")
    assert cli("access", "revoke", "bob", "--send")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    code, _, err = cli("send", invoice["InvoiceID"], "--yes", "--again")
    assert code == 4, err
    assert len(outbox(sandbox, connected, invoice["InvoiceID"])) == 1


def test_xeros_refusal_of_the_email_keeps_no_intent(cli, connected, sandbox) -> None:
    """Xero refuses the email (here: the contact's address removed after it was read,
    by a fault on the email's answer): exit 6, and the next send is a fresh one."""
    invoice = unsent(sandbox, connected)
    control(sandbox.base_url, "POST", "faults", {"bad_request_rate": 1, "methods": ["POST"],
                                                 "bad_request_body": "empty"})
    code, _, err = cli("send", invoice["InvoiceID"], "--yes")
    control(sandbox.base_url, "POST", "faults", {})
    assert code == 6, err
    assert outbox(sandbox, connected) == []
    done = cli.json("send", invoice["InvoiceID"], "--yes")
    assert done["resumed"] is None and done["emailed"] is True
    assert len(outbox(sandbox, connected, invoice["InvoiceID"])) == 1


def test_an_email_whose_answer_is_lost_is_retried_with_its_key_and_sent_once(
        cli, connected, sandbox) -> None:
    """Xero emails it and the answer never comes (the connection drops after the
    commit): the retry carries the same Idempotency-Key, so Xero answers it again and
    emails nothing new."""
    invoice = unsent(sandbox, connected)
    control(sandbox.base_url, "POST", "faults", {"commit_then_drop_rate": 1,
                                                 "methods": ["POST"]})
    reset(sandbox)
    done = cli.json("send", invoice["InvoiceID"], "--yes")
    control(sandbox.base_url, "POST", "faults", {})
    assert done["emailed"] is True
    assert calls(sandbox)[EMAIL] == 2, "asked twice"
    sent = outbox(sandbox, connected, invoice["InvoiceID"])
    assert len(sent) == 1, "emailed once"

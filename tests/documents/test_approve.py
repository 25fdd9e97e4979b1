"""``approve``: a draft invoice or bill becomes AUTHORISED and a draft quote SENT in the
sandbox's own records, with a history note naming who; anything else, a viewer, no
answer to the question, a dry run and Xero's refusal change nothing."""

from __future__ import annotations

from typing import Any

from support import api, control, crm_csv_from_sandbox, raw_records, sandbox_token


def draft_invoice(sandbox, tenant: str, kind: str = "ACCREC") -> dict[str, Any]:
    return next(i for i in raw_records(sandbox, tenant, "invoices")["invoices"] if i["Type"] == kind
                and i["Status"] == "DRAFT" and i.get("DueDate")
                and all(line.get("AccountCode") for line in i["LineItems"]))


def status_of(sandbox, tenant: str, document_id: str) -> str:
    data = raw_records(sandbox, tenant, "invoices", "quotes")
    return next(d["Status"] for d in data["invoices"] + data["quotes"]
                if document_id in (d.get("InvoiceID"), d.get("QuoteID")))


def history(sandbox, tenant: str, path: str) -> list[dict[str, Any]]:
    token = sandbox_token(sandbox.base_url, tenants=[tenant])
    status, _, answer = api(sandbox.base_url, token, tenant, "GET", f"{path}/History")
    assert status == 200
    return list(answer["HistoryRecords"])


def calls(sandbox) -> dict[str, Any]:
    return dict(control(sandbox.base_url, "GET", "stats"))


def reset(sandbox) -> None:
    control(sandbox.base_url, "POST", "stats/reset")


def test_a_draft_invoice_is_authorised_noted_and_cached(cli, connected, sandbox,
                                                        tmp_path) -> None:
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv")
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    invoice = draft_invoice(sandbox, connected)
    contact = cli.json("approve", invoice["InvoiceID"], "--dry-run")["document"]["contact"]
    assert contact.startswith("contact:")
    assert cli("refresh", contact)[0] == 0  # the cache holds the contact's documents
    reset(sandbox)
    done = cli.json("approve", invoice["InvoiceNumber"], "--yes")
    # the number found in the cache; then the fresh GET, the POST, the note's PUT
    assert calls(sandbox)["total"] == 3
    assert done["from_status"] == "DRAFT" and done["to_status"] == "AUTHORISED"
    assert done["history_note"] is True and done["dry_run"] is False
    assert done["document"]["number"] == invoice["InvoiceNumber"]
    assert done["document"]["total"] == f"{invoice['Total']:.2f}"
    assert status_of(sandbox, connected, invoice["InvoiceID"]) == "AUTHORISED"
    notes = [r["Details"] for r in history(sandbox, connected,
                                           f"/Invoices/{invoice['InvoiceID']}")]
    assert notes[0].startswith("Approved by xerolink for contact:")
    assert notes[0].endswith(" by alice")
    reset(sandbox)
    listed = cli.json("details", contact, "--status", "AUTHORISED")
    assert calls(sandbox)["total"] == 0, "from the cache, which was updated"
    assert invoice["InvoiceID"].lower() in {d["document_id"] for d in listed}


def test_a_draft_bill_is_authorised(cli, connected, sandbox) -> None:
    bill = draft_invoice(sandbox, connected, "ACCPAY")
    done = cli.json("approve", bill["InvoiceID"], "--yes")
    assert done["to_status"] == "AUTHORISED" and done["document"]["kind"] == "bill"
    assert status_of(sandbox, connected, bill["InvoiceID"]) == "AUTHORISED"


def test_a_draft_quote_is_sent_and_noted(cli, connected, sandbox) -> None:
    quote = next(q for q in raw_records(sandbox, connected, "quotes")["quotes"]
                 if q["Status"] == "DRAFT")
    reset(sandbox)
    done = cli.json("approve", quote["QuoteNumber"], "--yes")
    assert done["from_status"] == "DRAFT" and done["to_status"] == "SENT"
    assert status_of(sandbox, connected, quote["QuoteID"]) == "SENT"
    # the number, not cached, looked up in Xero (invoices, then quotes: 2), the quote's
    # fresh GET, the POST, the note's PUT
    assert calls(sandbox)["total"] == 5
    notes = [r["Details"] for r in history(sandbox, connected, f"/Quotes/{quote['QuoteID']}")]
    assert notes[0].startswith("Approved by xerolink for ") and notes[0].endswith("by alice")


def test_an_authorised_invoice_is_refused_after_one_read(cli, connected, sandbox) -> None:
    invoice = next(i for i in raw_records(sandbox, connected, "invoices")["invoices"]
                   if i["Status"] == "AUTHORISED")
    reset(sandbox)
    code, out, err = cli("approve", invoice["InvoiceID"], "--yes")
    assert code == 6 and out == ""
    assert "is AUTHORISED in Xero, not DRAFT" in err and len(err.strip().splitlines()) == 1
    assert calls(sandbox)["total"] == 1


def test_a_stale_cached_status_is_not_trusted(cli, connected, sandbox) -> None:
    """Cached as DRAFT, approved in Xero since: refused on Xero's word."""
    invoice = draft_invoice(sandbox, connected)
    assert cli("approve", invoice["InvoiceID"], "--dry-run")[0] == 0  # cached as DRAFT
    token = sandbox_token(sandbox.base_url, tenants=[connected])
    api(sandbox.base_url, token, connected, "POST", f"/Invoices/{invoice['InvoiceID']}",
        {"Invoices": [{"Status": "AUTHORISED"}]})
    code, _, err = cli("approve", invoice["InvoiceID"], "--yes")
    assert code == 6 and "AUTHORISED in Xero" in err


def test_no_terminal_and_no_yes_changes_nothing(cli, connected, sandbox) -> None:
    invoice = draft_invoice(sandbox, connected)
    code, _, err = cli("approve", invoice["InvoiceID"])
    assert code == 2 and "pass --yes" in err and "nothing was approved" in err
    assert status_of(sandbox, connected, invoice["InvoiceID"]) == "DRAFT"
    assert history(sandbox, connected, f"/Invoices/{invoice['InvoiceID']}")[0][
        "Changes"] != "Note"


def test_a_dry_run_reads_once_and_writes_nothing(cli, connected, sandbox) -> None:
    invoice = draft_invoice(sandbox, connected)
    reset(sandbox)
    done = cli.json("approve", invoice["InvoiceID"], "--dry-run")
    assert done["dry_run"] is True and done["history_note"] is False
    assert done["to_status"] == "AUTHORISED"
    assert calls(sandbox)["total"] == 1
    assert status_of(sandbox, connected, invoice["InvoiceID"]) == "DRAFT"
    code, out, _ = cli("approve", invoice["InvoiceID"], "--dry-run")
    assert code == 0 and out.startswith("Would approve invoice")


def test_a_viewer_may_not_approve(cli, connected, sandbox, monkeypatch) -> None:
    invoice = draft_invoice(sandbox, connected)
    assert cli("access", "grant", "bob")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    reset(sandbox)
    code, _, err = cli("approve", invoice["InvoiceID"], "--yes")
    assert code == 4 and "(xerolink access grant bob --send)" in err
    assert calls(sandbox)["total"] == 0
    assert status_of(sandbox, connected, invoice["InvoiceID"]) == "DRAFT"


def test_xeros_validation_error_is_exit_6_with_its_message(cli, connected, sandbox) -> None:
    invoice = draft_invoice(sandbox, connected)
    control(sandbox.base_url, "POST", "edit", {"tenant": connected,
                                               "invoice_id": invoice["InvoiceID"],
                                               "fields": {"DueDate": None}})
    reset(sandbox)
    code, out, err = cli("approve", invoice["InvoiceID"], "--yes")
    assert code == 6 and out == ""
    assert "Due Date must be specified" in err
    assert calls(sandbox)["by_endpoint"] == {"GET /api.xro/2.0/Invoices": 1,
                                             "POST /api.xro/2.0/Invoices/{id}": 1}
    assert status_of(sandbox, connected, invoice["InvoiceID"]) == "DRAFT"
    assert all(r["Changes"] != "Note" for r in
               history(sandbox, connected, f"/Invoices/{invoice['InvoiceID']}"))

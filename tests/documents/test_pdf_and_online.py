"""`xerolink pdf DOC` and `xerolink view DOC --online` against the sandbox: the PDF a
PDF library opens, holding the number and total; never over a file without --force;
the bytes on stdout with -o -; the customer's online link; drafts, bills and quotes
refused before any call, and Xero's own refusal exit 6; one call each."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from support import control, crm_csv_from_sandbox
from xerolink.sandbox.accounting.sending import online_url

# The documents the tests ask for (``cached``): kind, Xero's Type, status.
WANTED = [("invoice", "ACCREC", "AUTHORISED"), ("invoice", "ACCREC", "DRAFT"),
          ("bill", "ACCPAY", "AUTHORISED"), ("quote", None, "SENT")]


def holders(books: Any) -> set[str]:
    """A contact for each document the tests ask for: active, with an email no other
    active contact has (so ``link --auto`` links it), holding a numbered document of
    that kind and status. Linking and refreshing those few, not all 60, is the set-up."""
    active = [c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"]
    emails = [c.get("EmailAddress") for c in active]
    linkable = {c["ContactID"] for c in active
                if c.get("EmailAddress") and emails.count(c["EmailAddress"]) == 1}
    found = set()
    for _kind, xero_type, status in WANTED:
        documents = [(q["ContactID"], q["QuoteNumber"], q["Status"]) for q in
                     books.quotes.values()] if xero_type is None else [
            (i["ContactID"], i["InvoiceNumber"], i["Status"]) for i in
            books.invoices.values() if i["Type"] == xero_type]
        found.add(next(contact for contact, number, held in documents
                       if held == status and number and contact in linkable))
    return found


@pytest.fixture
def linked(cli, connected, sandbox, tmp_path) -> dict[str, Any]:
    """A few sandbox contacts linked (one holding each document the tests ask for)
    and their open documents cached."""
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv",
                         only=holders(sandbox.sandbox.tenants[connected]))
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    assert cli("refresh", "--all")[0] == 0
    books = sandbox.sandbox.tenants[connected]
    return {"books": books, "tenant": connected, "base": sandbox.base_url}


def cached(cli, linked, kind: str, status: str) -> dict[str, Any]:
    """A cached document of this kind and status with a number, from `details`."""
    for row in cli.json("links"):
        for doc in cli.json("details", row["crm"]):
            if doc["type"] == kind and doc["status"] == status and doc["number"]:
                return doc
    raise AssertionError(f"no cached {kind} {status}")


def calls(linked) -> dict[str, Any]:
    return control(linked["base"], "GET", "stats")


def reset(linked) -> None:
    control(linked["base"], "POST", "stats/reset")


def pdf_text(path: Path) -> str:
    return PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text()


# -- pdf ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "status"), [("invoice", "AUTHORISED"), ("bill", "AUTHORISED"),
                                              ("quote", "SENT")])
def test_a_pdf_is_written_in_one_call_and_holds_the_number_and_total(
        cli, linked, tmp_path, monkeypatch, kind, status) -> None:
    doc = cached(cli, linked, kind, status)
    monkeypatch.chdir(tmp_path)
    reset(linked)
    code, out, err = cli("pdf", doc["number"])
    assert code == 0, err
    path = tmp_path / f"{doc['number']}.pdf"
    assert out == f"{path}\n" and err == ""
    text = pdf_text(path)
    assert doc["number"] in text
    assert f"{float(doc['total']):,.2f}" in text or f"{doc['total']}" in text
    stats = calls(linked)
    assert stats["total"] == 1, stats["by_endpoint"]
    assert [e for e in stats["by_endpoint"] if e.startswith("GET ")] == [
        "GET /api.xro/2.0/" + ("Quotes" if kind == "quote" else "Invoices") + "/{id}"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_pdf_json_says_path_document_and_bytes_and_takes_an_id_or_a_folder(
        cli, linked, tmp_path) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    folder = tmp_path / "out"
    folder.mkdir()
    printed = cli.json("pdf", doc["document_id"], "-o", str(folder))
    path = folder / f"{doc['number']}.pdf"
    assert printed == {"path": str(path), "document": doc["number"],
                       "bytes": path.stat().st_size}
    assert path.read_bytes().startswith(b"%PDF-")
    named = cli.json("pdf", doc["document_id"][:8], "-o", str(tmp_path / "mine.pdf"))
    assert named["path"] == str(tmp_path / "mine.pdf")
    assert (tmp_path / "mine.pdf").read_bytes() == path.read_bytes()


def test_an_existing_file_is_kept_without_force_and_replaced_with_it(
        cli, linked, tmp_path) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "invoice.pdf"
    target.write_bytes(b"mine, not Xero's")
    reset(linked)
    code, out, err = cli("pdf", doc["number"], "-o", str(target))
    assert code == 2 and out == ""
    assert err == f"error: {target} exists; nothing was written (--force replaces it)\n"
    assert target.read_bytes() == b"mine, not Xero's"
    assert calls(linked)["total"] == 0  # refused before any call
    code, out, err = cli("pdf", doc["number"], "-o", str(target), "--force")
    assert code == 0, err
    assert doc["number"] in pdf_text(target)
    assert calls(linked)["total"] == 1
    assert [p.name for p in target.parent.iterdir()] == ["invoice.pdf"]  # no temporary left


def test_the_default_name_is_refused_too_when_it_exists(cli, linked, tmp_path,
                                                        monkeypatch) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{doc['number']}.pdf").write_bytes(b"old")
    code, _, err = cli("pdf", doc["number"])
    assert code == 2 and "exists" in err
    assert (tmp_path / f"{doc['number']}.pdf").read_bytes() == b"old"


def test_dash_writes_the_pdf_bytes_to_stdout_and_nothing_else(cli, linked) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    reset(linked)
    run = subprocess.run([sys.executable, "-m", "xerolink", "pdf", doc["number"], "-o", "-"],
                         capture_output=True, timeout=60, check=False)  # a real pipe
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(b"%PDF-") and run.stdout.rstrip().endswith(b"%%EOF")
    assert doc["number"] in PdfReader(io.BytesIO(run.stdout)).pages[0].extract_text()
    assert run.stderr == b""
    assert calls(linked)["total"] == 1


def test_dash_takes_no_json_and_a_missing_folder_is_refused(cli, linked, tmp_path) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    reset(linked)
    code, out, err = cli("pdf", doc["number"], "-o", "-", "--json")
    assert code == 2 and out == "" and "no --json" in err
    code, _, err = cli("pdf", doc["number"], "-o", str(tmp_path / "nowhere" / "x.pdf"))
    assert code == 2 and "there is no folder" in err
    # a trailing slash names a folder: one that is not there is refused, not made a file
    code, _, err = cli("pdf", doc["number"], "-o", str(tmp_path / "sub") + "/")
    assert code == 2 and "there is no folder" in err
    assert not (tmp_path / "sub").exists()
    assert calls(linked)["total"] == 0


def test_an_unknown_document_is_exit_5_in_one_line(cli, linked) -> None:
    for typed in ("INV-99999", "00000000-0000-4000-8000-000000000000"):
        code, out, err = cli("pdf", typed)
        assert code == 5 and out == ""
        assert err == (f"error: no quote, invoice, bill or credit note has the id or number "
                       f"{typed}\n")
    code, _, err = cli("pdf", "contact:1")
    assert code == 2 and "CRM reference" in err


def test_a_pdf_xero_no_longer_has_is_a_clear_not_found(cli, linked, tmp_path) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    del linked["books"].invoices[doc["document_id"]]  # gone from Xero, still cached
    reset(linked)
    code, out, err = cli("pdf", doc["number"], "-o", str(tmp_path / "gone.pdf"))
    assert code == 5 and out == ""
    assert err.startswith(f"error: Xero has no invoice {doc['number']} any more")
    assert err.count("\n") == 1
    assert not (tmp_path / "gone.pdf").exists()
    assert calls(linked)["total"] == 1


def test_a_credit_note_is_found_by_number_and_by_id(cli, linked, tmp_path) -> None:
    note = next(n for n in linked["books"].credit_notes.values() if n["Status"] == "AUTHORISED")
    printed = cli.json("pdf", note["CreditNoteNumber"], "-o", str(tmp_path / "cn.pdf"))
    assert printed["document"] == note["CreditNoteNumber"]
    text = pdf_text(tmp_path / "cn.pdf")
    assert note["CreditNoteNumber"] in text and f"{note['Total']:,.2f}" in text
    by_id = cli.json("pdf", note["CreditNoteID"], "-o", str(tmp_path))
    assert by_id["path"] == str(tmp_path / f"{note['CreditNoteNumber']}.pdf")


# -- view --online ------------------------------------------------------------------------
def test_online_prints_the_sandboxs_link_in_one_call(cli, linked) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    reset(linked)
    code, out, err = cli("view", doc["number"], "--online")
    assert code == 0, err
    assert out == online_url(linked["tenant"], doc["document_id"]) + "\n"
    stats = calls(linked)
    assert stats["total"] == 1
    assert stats["by_endpoint"] == {"GET /api.xro/2.0/Invoices/{id}/OnlineInvoice": 1}
    assert cli.json("view", doc["document_id"], "--online") == {
        "url": online_url(linked["tenant"], doc["document_id"]), "document": doc["number"]}


def test_online_on_a_draft_is_refused_before_any_call_saying_why(cli, linked) -> None:
    doc = cached(cli, linked, "invoice", "DRAFT")
    reset(linked)
    code, out, err = cli("view", doc["number"], "--online")
    assert code == 6 and out == ""
    assert err.startswith(f"error: {doc['number']} is a draft (read ")
    assert "no online invoice link for a draft" in err and err.count("\n") == 1
    assert calls(linked)["total"] == 0


@pytest.mark.parametrize(("kind", "status", "words"), [
    ("bill", "AUTHORISED", "is a bill: Xero has online invoice links only for sales invoices"),
    ("quote", "SENT", "is a quote: Xero has online invoice links only for sales invoices; "
                      "`xerolink pdf` gives its PDF")])
def test_online_for_a_bill_or_a_quote_is_refused_before_any_call(
        cli, linked, kind, status, words) -> None:
    doc = cached(cli, linked, kind, status)
    reset(linked)
    code, _, err = cli("view", doc["number"], "--online")
    assert code == 6
    assert err == f"error: {doc['number']} {words}\n"
    assert calls(linked)["total"] == 0


def test_xeros_own_refusal_of_an_online_invoice_is_exit_6_with_its_message(cli, linked) -> None:
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    control(linked["base"], "POST", "edit", {"tenant": linked["tenant"],
                                             "invoice_id": doc["document_id"],
                                             "fields": {"Status": "SUBMITTED"}})
    reset(linked)
    code, out, err = cli("view", doc["number"], "--online")  # the cache still says AUTHORISED
    assert code == 6 and out == ""
    assert "An online invoice is not available for an invoice with status SUBMITTED" in err
    assert err.count("\n") == 1
    assert calls(linked)["total"] == 1


def test_online_takes_no_contact(cli, linked) -> None:
    ref = cli.json("links")[0]["crm"]
    code, _, err = cli("view", ref, "--online")
    assert code == 2 and "CRM reference" in err
    assert json.loads(cli("view", ref, "--json")[1])["url"]


def test_both_json_shapes_match_the_generated_reference(cli, linked, tmp_path) -> None:
    import re

    import jsonschema

    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "json.md").read_text()
    found = {s["title"]: s for s in map(json.loads, re.findall(r"```json\n(.*?)```", page, re.S))}
    doc = cached(cli, linked, "invoice", "AUTHORISED")
    jsonschema.validate(cli.json("pdf", doc["number"], "-o", str(tmp_path)), found["PdfSaved"])
    jsonschema.validate(cli.json("view", doc["number"], "--online"), found["OnlineInvoice"])


def test_a_number_is_never_a_path(cli, linked, tmp_path, monkeypatch) -> None:
    from datetime import UTC, datetime

    doc = cached(cli, linked, "invoice", "AUTHORISED")
    invoice = linked["books"].invoices[doc["document_id"]]
    invoice["InvoiceNumber"], invoice["UpdatedDateUTC"] = "../up/INV 7", datetime.now(UTC)
    ref = next(r["crm"] for r in cli.json("links")
               if r["xero_contact_id"] == doc["xero_contact_id"])
    assert cli("refresh", ref)[0] == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    printed = cli.json("pdf", doc["document_id"])
    assert printed["path"] == str(work / "up_INV_7.pdf") and printed["document"] == "../up/INV 7"
    assert [p.name for p in work.iterdir()] == ["up_INV_7.pdf"]
    assert not (tmp_path / "up").exists()


def test_a_file_that_appears_while_the_pdf_is_fetched_is_kept(tmp_path) -> None:
    """The move into place is a hard link, which fails on a name already taken: the
    check before the call cannot be raced into an overwrite."""
    from xerolink.fileutil import publish

    target = tmp_path / "INV-1.pdf"
    target.write_bytes(b"written meanwhile")
    with pytest.raises(FileExistsError):
        publish(target, b"%PDF-1.4 new", replace=False)
    assert target.read_bytes() == b"written meanwhile"
    assert [p.name for p in tmp_path.iterdir()] == ["INV-1.pdf"]
    publish(target, b"%PDF-1.4 new", replace=True)
    assert target.read_bytes() == b"%PDF-1.4 new"
    publish(tmp_path / "new.pdf", b"%PDF-1.4 x", replace=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["INV-1.pdf", "new.pdf"]

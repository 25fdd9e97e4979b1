"""``crm push`` writes the paid and credit figures into the fields an admin chooses
(none by default), each equal to what ``summary`` shows for the record; before they
were ever read from Xero they are left out with a note, never written as zero."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from support import connect_profile
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer

FIELDS = {"paid_invoices": "decimalCustomField2", "paid_invoices_count": "numberCustomField2",
          "customer_credit": "decimalCustomField3", "customer_credit_count": "numberCustomField3"}


def control(server: SandboxServer, method: str, path: str) -> Any:
    return sandbox_control(server.base_url, method, f"salesmate{path}")


@pytest.fixture
def salesmate(shared_sandboxes, home, monkeypatch, cli) -> SandboxServer:
    server = shared_sandboxes.get(crm="salesmate")
    connect_profile(server, home)
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", control(server, "GET", "")["access_token"])
    assert cli("crm", "connect", "salesmate", "--linkname", "demo",
               "--salesmate-url", server.base_url)[0] == 0
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    for figure, field in FIELDS.items():
        assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
    assert cli("config", "set", "salesmate.company_fields.supplier_credit",
               "decimalCustomField2")[0] == 0
    return server


def test_the_paid_and_credit_fields_hold_what_summary_shows(salesmate, cli) -> None:
    cli.json("refresh", "--all")
    report = cli.json("crm", "push")
    assert report["records_written"]["contact"] == len(cli.json("links"))
    for link in cli.json("links"):
        shown = cli.json("summary", link["crm"])
        held = control(salesmate, "GET", f"/records/contact/{link['crm'].split(':')[1]}")
        for figure, field in FIELDS.items():
            name = figure.removesuffix("_count")
            want = str(shown[name]["count"]) if figure.endswith("_count") \
                else shown[name]["total"]
            assert Decimal(str(held["custom"][field])) == Decimal(want), (link["crm"], figure)
    companies = [c for c in report["changes"] if c["record"].startswith("company:")]
    for change in companies:
        shown = cli.json("summary", change["record"])
        assert change["figure"] == "supplier_credit"
        assert change["to"] == shown["supplier_credit"]["total"]
    assert cli.json("crm", "push")["changes"] == [], "a second push writes nothing"


def test_never_read_the_paid_and_credit_fields_are_not_written(salesmate, cli, home) -> None:
    """Contacts read before the lists were (a store from an older xerolink): the five
    are written, the paid and credit fields are not, and the note says why."""
    assert cli("config", "set", "salesmate.fields.outstanding_invoices",
               "decimalCustomField1")[0] == 0
    cli.json("refresh", "--all")
    db = sqlite3.connect(Path(home) / "profiles" / "default" / "xerolink.db")
    with db:
        db.execute("DELETE FROM sync_state WHERE resource LIKE 'payments%' "
                   "OR resource LIKE 'credit%'")
        db.execute("DELETE FROM xero_payments")
        db.execute("DELETE FROM xero_credits")
    db.close()
    report = cli.json("crm", "push")
    assert {c["figure"] for c in report["changes"]} == {"outstanding_invoices"}
    assert any("never read from Xero" in n and "refresh --all" in n for n in report["notes"])


def test_each_crm_update_pass_reads_what_was_paid_when_its_fields_are_chosen(
        salesmate, cli) -> None:
    """With a paid or credit field chosen, a pass reads the four lists (four calls), so
    a payment made in Xero since the last pass reaches the CRM on the next."""
    first = cli.json("crm", "update")
    refresh = next(p for p in first["phases"] if p["phase"] == "refresh")
    books = next(iter(salesmate.sandbox.tenants.values()))
    linked = {r["xero_contact_id"]: r["crm"] for r in cli.json("links")}
    invoice = next(i for i in books.invoices.values() if i["ContactID"] in linked
                   and i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED"
                   and i["AmountDue"] > 1)
    ref = linked[invoice["ContactID"]]
    before = cli.json("summary", ref)["paid_invoices"]["count"]
    sandbox_control(salesmate.base_url, "POST", "pay",
                    {"tenant": books.tenant_id, "invoice_id": invoice["InvoiceID"],
                     "amount": "1.00"})
    again = cli.json("crm", "update")
    held = control(salesmate, "GET", f"/records/contact/{ref.split(':')[1]}")
    assert int(held["custom"][FIELDS["paid_invoices_count"]]) == before + 1, again["changes"]
    assert refresh["xero_calls"] >= 4
    # the second pass's estimate counts the four lists (a lower bound that was 2 without
    # them), and the pass made exactly that: the open documents' 2 and the lists' 4
    quiet = next(p for p in again["phases"] if p["phase"] == "refresh")
    assert again["estimated_xero_calls"] == quiet["xero_calls"] == 2 + 4

"""What was paid, and credit (issue 27): ``details --paid`` and the summary's paid and
credit figures equal an independent computation over the sandbox's raw records, across
currencies, for a contact with a part-allocated credit note, an overpayment and a
prepayment; ``--since`` bounds the list; the calls are counted; a company and a deal
sum their members and documents. "Today" is the injected clock's (XEROLINK_NOW)."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from support import api, connect_profile, control, crm_csv_from_sandbox, sandbox_token
from xerolink.vocabulary import FIGURE_KEYS, SETTLEMENT_KEYS

CREDIT_LISTS = ("credit_notes", "overpayments", "prepayments")
SETTLED = ",".join(("invoices", "payments", *CREDIT_LISTS))  # the raw records expected reads
CUSTOMER_TYPES = {"ACCRECCREDIT", "RECEIVE-OVERPAYMENT", "RECEIVE-PREPAYMENT"}
CENT = Decimal("0.01")


def _day(value: str) -> date:
    """A Xero JSON date (``/Date(ms+0000)/``) as its UTC day."""
    ms = int(re.search(r"-?\d+", value).group())  # type: ignore[union-attr]
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def expected(raw: dict[str, Any], today: date, contacts: set[str] | None = None,
             documents: set[str] | None = None) -> dict[str, Any]:
    """The four figures as docs/guide/documents.md defines them, from the raw records."""
    since = today - timedelta(days=90)
    out: dict[str, Any] = {k: {"count": 0, "total": Decimal(0), "by_currency": {}}
                           for k in SETTLEMENT_KEYS}
    paid: dict[str, list[dict[str, Any]]] = {}
    for p in raw["payments"]:
        invoice = p.get("Invoice") or {}
        mine = (invoice.get("InvoiceID") in documents if documents is not None
                else invoice.get("Contact", {}).get("ContactID") in (contacts or set()))
        if mine and p["Status"] == "AUTHORISED" and since <= _day(p["Date"]) <= today:
            paid.setdefault(invoice["InvoiceID"], []).append(p)
    for made in paid.values():
        invoice = made[0]["Invoice"]
        figure = out["paid_invoices" if invoice["Type"] == "ACCREC" else "paid_bills"]
        figure["count"] += 1
        for p in made:
            amount = _money(p["Amount"])
            figure["total"] += (amount / _money(p["CurrencyRate"])).quantize(
                CENT, rounding=ROUND_HALF_UP)
            currency = invoice["CurrencyCode"]
            figure["by_currency"][currency] = figure["by_currency"].get(currency, 0) + amount
    if documents is not None:  # a deal's credit: that of its documents' contacts
        contacts = {i["Contact"]["ContactID"] for i in raw["invoices"]
                    if i["InvoiceID"] in documents}
    for name in CREDIT_LISTS:
        for credit in raw[name]:
            left = _money(credit["RemainingCredit"])
            if (credit["Contact"]["ContactID"] in (contacts or set())
                    and credit["Status"] in ("AUTHORISED", "PAID") and left > 0):
                figure = out["customer_credit" if credit["Type"] in CUSTOMER_TYPES
                             else "supplier_credit"]
                figure["count"] += 1
                figure["total"] += (left / _money(credit["CurrencyRate"])).quantize(
                    CENT, rounding=ROUND_HALF_UP)
                currency = credit["CurrencyCode"]
                figure["by_currency"][currency] = figure["by_currency"].get(currency, 0) + left
    return {k: {"available": True, "count": f["count"], "total": f"{f['total']:.2f}",
                "by_currency": {c: f"{Decimal(v):.2f}" for c, v in sorted(
                    f["by_currency"].items())}}
            | ({"since": since.isoformat()} if k.startswith("paid_") else {})
            for k, f in out.items()}


def expected_paid_rows(raw: dict[str, Any], contact: str, since: date) -> dict[str, Any]:
    """details --paid, independently: document -> its payments (date, amount)."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for p in raw["payments"]:
        invoice = p.get("Invoice") or {}
        if (invoice.get("Contact", {}).get("ContactID") == contact
                and p["Status"] == "AUTHORISED" and _day(p["Date"]) >= since):
            rows.setdefault(invoice["InvoiceID"], []).append(
                (_day(p["Date"]).isoformat(), f"{_money(p['Amount']):.2f}"))
    return {k: sorted(v) for k, v in rows.items()}


def calls(base: str) -> dict[str, int]:
    """The Accounting API calls since the last reset, by endpoint (a token refresh,
    which the pinned clock may bring, is not one)."""
    stats = control(base, "GET", "stats")["by_endpoint"]
    return {k: v for k, v in stats.items() if "/api.xro/" in k}


def _edit(base: str, tenant: str, key: str, record: str, **fields: Any) -> None:
    control(base, "POST", "edit", {"tenant": tenant, key: record, "fields": fields})


@pytest.fixture
def world(cli, connected, sandbox, tmp_path, monkeypatch) -> dict[str, Any]:
    """40 linked contacts; the injected clock pinned to the sandbox's day; one contact
    (documents in two currencies) given a part-allocated credit note, an overpayment
    and a prepayment (in a second currency), and a payment today."""
    base = sandbox.base_url
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=40)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    links = cli.json("links")
    raw = control(base, "GET", f"data?tenant={connected}&only=today")
    today = date.fromisoformat(raw["today"])
    # xerolink's clock pinned to the sandbox's moment: its today is the sandbox's, and
    # whatever the test changes later is after every watermark taken.
    monkeypatch.setenv("XEROLINK_NOW", control(base, "GET", "clock")["now"])
    books = sandbox.sandbox.tenants[connected]
    linked = {r["xero_contact_id"]: r["crm"] for r in links}

    def owing(contact: str) -> list[dict[str, Any]]:
        return [i for i in (books.invoices[x] for x in books.invoices_by_contact[contact])
                if i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED"
                and i["AmountDue"] > 2]

    contact = next(c for c in linked if len(owing(c)) >= 2
                   and len({i["CurrencyCode"] for i in books.invoices.values()
                            if i["ContactID"] == c}) > 1)
    first, second = owing(contact)[:2]
    other = "AUD" if first["CurrencyCode"] != "AUD" else "USD"
    note = next(n for n in books.credit_notes.values() if n["Status"] == "AUTHORISED")
    _edit(base, connected, "credit_note_id", note["CreditNoteID"], ContactID=contact,
          Type="ACCRECCREDIT", CurrencyCode=first["CurrencyCode"],
          CurrencyRate=str(first["CurrencyRate"]), Total="500.00", RemainingCredit="500.00")
    token = sandbox_token(base)
    part = min(Decimal("120.00"), first["AmountDue"] - 1)
    status, _, _ = api(base, token, connected, "PUT",
                       f"/CreditNotes/{note['CreditNoteID']}/Allocations",
                       {"Allocations": [{"Invoice": {"InvoiceID": first["InvoiceID"]},
                                         "Amount": str(part), "Date": today.isoformat()}]})
    assert status == 200
    over = next(o for o in books.overpayments.values() if o["Status"] == "AUTHORISED")
    _edit(base, connected, "overpayment_id", over["OverpaymentID"], ContactID=contact,
          Type="RECEIVE-OVERPAYMENT", CurrencyCode=other, CurrencyRate="0.9125")
    pre = next(p for p in books.prepayments.values() if p["Status"] == "AUTHORISED")
    _edit(base, connected, "prepayment_id", pre["PrepaymentID"], ContactID=contact,
          Type="SPEND-PREPAYMENT")  # a supplier's credit, in its own currency
    control(base, "POST", "pay", {"tenant": connected, "invoice_id": second["InvoiceID"],
                                  "amount": "1.00"})
    return {"base": base, "tenant": connected, "contact": contact, "ref": linked[contact],
            "today": today, "links": links, "note": note["CreditNoteID"], "books": books}


def test_the_paid_and_credit_figures_match_an_independent_computation(cli, world) -> None:
    report = cli.json("summary", world["ref"])
    raw = control(world["base"], "GET", f"data?tenant={world['tenant']}&only={SETTLED}")
    want = expected(raw, world["today"], contacts={world["contact"]})
    assert {k: report[k] for k in SETTLEMENT_KEYS} == want
    credit = report["customer_credit"]
    assert credit["count"] >= 2 and len(credit["by_currency"]) >= 2, "two currencies"
    assert report["supplier_credit"]["count"] >= 1, "the prepayment, a supplier's"
    note = next(n for n in raw["credit_notes"] if n["CreditNoteID"] == world["note"])
    assert Decimal("0") < _money(note["RemainingCredit"]) < _money(note["Total"]), \
        "the credit note is part-allocated: what is left counts"
    assert report["paid_invoices"]["count"] >= 1
    assert set(FIGURE_KEYS) < set(report), "the five are still there"
    code, out, _ = cli("summary", world["ref"])
    assert code == 0
    for label in ("Invoices paid (90 days)", "Bills paid (90 days)", "Customer credit",
                  "Supplier credit"):
        assert label in out, out
    assert f"payments dated from {want['paid_invoices']['since']} on" in out
    code, out, _ = cli("details", world["ref"], "--paid")
    assert code == 0 and world["today"].isoformat() in out, out


def test_details_paid_lists_each_document_with_its_payments_and_since_bounds(
        cli, world) -> None:
    raw = control(world["base"], "GET", f"data?tenant={world['tenant']}&only=payments")
    today = world["today"]
    for since in (None, today - timedelta(days=400), today - timedelta(days=10), today):
        args = ["details", world["ref"], "--paid"]
        if since is not None:
            args += ["--since", since.isoformat()]
        listed = cli.json(*args)
        first = since or today - timedelta(days=90)
        want = expected_paid_rows(raw, world["contact"], first)
        got = {r["document_id"]: sorted((p["date"], p["amount"]) for p in r["payments"])
               for r in listed}
        assert got == want, since
        assert all(p["date"] >= first.isoformat() for r in listed for p in r["payments"])
        assert all(r["paid"] == f"{sum(Decimal(p['amount']) for p in r['payments']):.2f}"
                   for r in listed)
    assert want, "paid today: the --since today list is not empty"
    assert cli.json("details", world["ref"], "--paid", "--bills") == [
        r for r in cli.json("details", world["ref"], "--paid") if r["type"] == "bill"]


def test_paid_refusals_and_the_status_paid_pointer(cli, world) -> None:
    ref = world["ref"]
    control(world["base"], "POST", "stats/reset")
    for args, words in ((["--status", "PAID"], "--paid"), (["--since", "2026-01-01"],
                                                           "goes with --paid"),
                        (["--paid", "--since", "2026-02-30"], "is not a date"),
                        (["--paid", "--quotes"], "never paid"),
                        (["--paid", "--status", "AUTHORISED"], "--paid lists paid")):
        code, _, err = cli("details", ref, *args)
        assert code == 2 and words in err and err.count("\n") == 1, (args, err)
    assert not calls(world["base"]), "refused before any call"


def a_minute_later(monkeypatch) -> None:
    """xerolink's pinned clock moved past the lists' FRESH_FOR (a minute)."""
    at = datetime.fromisoformat(os.environ["XEROLINK_NOW"].replace("Z", "+00:00"))
    monkeypatch.setenv("XEROLINK_NOW", (at + timedelta(seconds=61)).isoformat())


def test_calls_a_second_refresh_costs_the_five_plus_four(cli, world, monkeypatch) -> None:
    base, ref = world["base"], world["ref"]
    control(base, "POST", "stats/reset")
    cli.json("summary", ref)
    cold = calls(base)
    assert cold == {"GET /api.xro/2.0/Invoices": 1, "GET /api.xro/2.0/Quotes": 1,
                    "GET /api.xro/2.0/Payments": 1, "GET /api.xro/2.0/CreditNotes": 1,
                    "GET /api.xro/2.0/Overpayments": 1, "GET /api.xro/2.0/Prepayments": 1}
    control(base, "POST", "stats/reset")
    assert cli.json("summary", ref)["cached"] is True
    assert sum(calls(base).values()) == 0, "a cached summary: no call"
    other = next(r["crm"] for r in world["links"] if r["crm"] != ref)
    cli.json("summary", other)
    assert calls(base) == {"GET /api.xro/2.0/Invoices": 1, "GET /api.xro/2.0/Quotes": 1}, \
        "another contact read for the first time: the organisation's lists are cached"
    control(base, "POST", "stats/reset")
    assert cli.json("refresh", ref)["xero_calls"] == 2, \
        "the organisation's lists were read within the minute: the five's 2 only"
    a_minute_later(monkeypatch)
    control(base, "POST", "stats/reset")
    assert cli.json("refresh", ref)["xero_calls"] == 6
    assert sum(calls(base).values()) == 6, "a minute on: the five's 2, and one per list"
    control(base, "POST", "stats/reset")
    cli.json("details", ref, "--paid")
    assert sum(calls(base).values()) == 0, "the 90 days are cached"
    cli.json("details", ref, "--paid", "--refresh")
    assert calls(base) == {"GET /api.xro/2.0/Payments": 1}
    control(base, "POST", "stats/reset")
    cli.json("details", ref, "--paid", "--since",
             (world["today"] - timedelta(days=200)).isoformat())
    assert calls(base) == {"GET /api.xro/2.0/Payments": 1}, \
        "an earlier day than the cache holds: one whole read from it"
    control(base, "POST", "stats/reset")
    cli.json("details", ref, "--paid", "--since",
             (world["today"] - timedelta(days=150)).isoformat())
    assert sum(calls(base).values()) == 0, "within what is cached"


def test_a_deleted_payment_leaves_the_figures_on_the_next_refresh(cli, world,
                                                                 monkeypatch) -> None:
    base, tenant, ref = world["base"], world["tenant"], world["ref"]
    before = cli.json("summary", ref, "--refresh")
    books = world["books"]
    mine = [p for p in books.payments.values() if p["Status"] == "AUTHORISED"
            and books.invoices[p["InvoiceID"]]["ContactID"] == world["contact"]
            and p["Date"] >= world["today"] - timedelta(days=90)]
    assert mine
    token = sandbox_token(base)
    status, _, _ = api(base, token, tenant, "POST", f"/Payments/{mine[-1]['PaymentID']}",
                       {"Payments": [{"Status": "DELETED"}]})
    assert status == 200
    a_minute_later(monkeypatch)  # the lists are read again once a minute old
    after = cli.json("summary", ref, "--refresh")
    raw = control(base, "GET", f"data?tenant={tenant}&only={SETTLED}")
    want = expected(raw, world["today"], contacts={world["contact"]})
    assert {k: after[k] for k in SETTLEMENT_KEYS} == want
    assert after != before


def test_a_company_and_a_deal_sum_their_members_and_documents(cli, world, tmp_path) -> None:
    base, tenant = world["base"], world["tenant"]
    import csv

    members = list(world["links"][:6])
    if world["ref"] not in [m["crm"] for m in members]:
        members.append(next(r for r in world["links"] if r["crm"] == world["ref"]))
    wanted = {m["crm"].split(":")[1] for m in members}
    with open(tmp_path / "crm.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["company_id"] = "big" if row["id"] in wanted else row.get("company_id", "")
    with open(tmp_path / "crm.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "co.csv").write_text("id,name\nbig,Big Co\n")
    assert cli("crm", "import", str(tmp_path / "co.csv"))[0] == 0
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    report = cli.json("summary", "company:big", "--refresh")
    raw = control(base, "GET", f"data?tenant={tenant}&only={SETTLED}")
    ids = {m["xero_contact_id"] for m in members}
    assert {k: report[k] for k in SETTLEMENT_KEYS} == expected(raw, world["today"],
                                                               contacts=ids)
    books = world["books"]
    paid = [i for i in books.payments.values() if i["Status"] == "AUTHORISED"
            and books.invoices[i["InvoiceID"]]["ContactID"] == world["contact"]]
    chosen = sorted({p["InvoiceID"] for p in paid})[:3]
    deal = tmp_path / "deals.json"
    deal.write_text('[{"id": "9", "title": "Fit-out", "value": "900.00", "currency": "NZD", '
                    f'"primary_contact_id": "{world["ref"].split(":")[1]}"}}]')
    assert cli("crm", "import", str(deal))[0] == 0
    assert cli.json("deal", "attach", "deal:9", *chosen)["attached"] == len(chosen)
    summed = cli.json("summary", "deal:9", "--refresh")
    assert {k: summed[k] for k in SETTLEMENT_KEYS} == expected(
        raw, world["today"], documents=set(chosen))


def test_a_connection_without_the_payments_scope_says_how_to_reconnect(
        cli, home, sandbox, tmp_path, monkeypatch) -> None:
    """A connection made before accounting.payments.read was asked for: the five
    figures stand, the paid and credit ones are unavailable with the reconnect
    command, and details --paid fails with it (exit 3), never a traceback."""
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(sandbox, home, scopes="offline_access accounting.contacts "
                    "accounting.invoices accounting.settings.read")
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=5)
    cli("crm", "import", str(tmp_path / "crm.csv"))
    cli("link", "--auto")
    ref = cli.json("links")[0]["crm"]
    report = cli.json("summary", ref)
    assert all(report[k]["available"] for k in FIGURE_KEYS)
    for name in ("paid_invoices", "paid_bills", "customer_credit", "supplier_credit"):
        assert report[name]["available"] is False
        assert "accounting.payments.read" in report[name]["reason"]
        assert "xerolink connect --scopes" in report[name]["reason"]
    code, out, err = cli("details", ref, "--paid")
    assert code == 3 and out == "" and err.count("\n") == 1, err
    assert "accounting.payments.read" in err and "xerolink connect" in err
    assert "Traceback" not in err

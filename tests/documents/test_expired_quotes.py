"""Expired quotes and the deal view: a quote past its ExpiryDate is still open (Xero
keeps it SENT) but marked, by the same day rule as overdue invoices (the
organisation's today; a quote expiring today has not expired); a deal's summary sets
its CRM value beside what its documents quote and invoice. Each checked against an
independent computation from the sandbox's raw records."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from support import control, crm_csv_from_sandbox

# 20:00 UTC on 1 December is 09:00 on 2 December in Auckland (NZDT, UTC+13): a day rule
# read in UTC would call the quote expiring on 1 December unexpired.
PINNED = "2026-12-01T20:00:00+00:00"
TODAY, YESTERDAY = "2026-12-02", "2026-12-01"  # PINNED's day in Auckland, and the one before


def _days_after(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
OPEN = ("DRAFT", "SENT")


def _link(cli, sandbox, tmp_path, limit: int) -> list[dict[str, Any]]:
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=limit)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    return cli.json("links")  # type: ignore[no-any-return]


def _edit_quote(sandbox, tenant: str, quote_id: str, **fields: Any) -> None:
    control(sandbox.base_url, "POST", "edit",
            {"tenant": tenant, "quote_id": quote_id, "fields": fields})


def _expected_expired(raw: dict[str, Any], today: str, contact: str) -> dict[str, Any]:
    """Open quotes whose ExpiryDate is before ``today``: count and Total per currency."""
    count, by_currency = 0, {}
    for quote in raw["quotes"]:
        expiry = (quote.get("ExpiryDateString") or "")[:10]
        if (quote["Contact"]["ContactID"] == contact and quote["Status"] in OPEN
                and expiry and expiry < today):
            count += 1
            currency = quote["CurrencyCode"]
            by_currency[currency] = by_currency.get(currency, 0) + Decimal(str(quote["Total"]))
    return {"expired": count,
            "expired_by_currency": {k: f"{v:.2f}" for k, v in sorted(by_currency.items())}}


def test_a_quote_expiring_today_is_not_expired_one_expiring_yesterday_is(
        cli, connected, sandbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_NOW", PINNED)
    links = _link(cli, sandbox, tmp_path, limit=40)
    books = sandbox.sandbox.tenants[connected]
    ref, contact, quotes = next(
        (r["crm"], r["xero_contact_id"], chosen) for r in links
        if len(chosen := [q for q in books.quotes_by_contact[r["xero_contact_id"]]
                          if books.quotes[q]["Status"] in OPEN]) >= 2)
    today_quote, lapsed_quote = quotes[:2]
    for quote_id in quotes:  # the contact's other open quotes: well in the future
        _edit_quote(sandbox, connected, quote_id, ExpiryDate=_days_after(TODAY, 210), Status="SENT")
    _edit_quote(sandbox, connected, today_quote, ExpiryDate=TODAY)
    _edit_quote(sandbox, connected, lapsed_quote, ExpiryDate=YESTERDAY)
    raw = control(sandbox.base_url, "GET", f"data?tenant={connected}&only=organisation,quotes")
    assert raw["organisation"]["Timezone"] == "NEWZEALANDSTANDARDTIME"

    report = cli.json("summary", ref, "--refresh")
    expected = _expected_expired(raw, TODAY, contact)
    assert expected["expired"] == 1
    assert {k: report["open_quotes"][k] for k in expected} == expected
    assert report["open_quotes"]["count"] >= 2, "an expired quote still counts as open"
    lapsed = next(q for q in raw["quotes"] if q["QuoteID"] == lapsed_quote)
    rate = Decimal(str(lapsed["CurrencyRate"]))
    assert Decimal(report["open_quotes"]["expired_total"]) == (
        Decimal(str(lapsed["Total"])) / rate).quantize(Decimal("0.01"))

    listed = {d["document_id"]: d for d in cli.json("details", ref)}
    assert listed[lapsed_quote]["expired"] is True
    assert listed[today_quote]["expired"] is False
    assert all(d["expired"] is None for d in listed.values() if d["type"] != "quote")

    code, out, _ = cli("details", ref, "--csv")
    assert code == 0
    rows = {r["number"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows[listed[lapsed_quote]["number"]]["expired"] == "true"
    assert rows[listed[today_quote]["number"]]["expired"] == "false"

    code, out, _ = cli("details", ref, "--quotes")
    assert code == 0
    marked = [line for line in out.splitlines() if "(expired)" in line]
    assert len(marked) == 1 and listed[lapsed_quote]["number"] in marked[0]
    code, out, _ = cli("summary", ref)
    assert code == 0 and "Of the open quotes, 1 has expired" in out


def test_expired_quotes_match_an_independent_count_across_currencies(
        cli, connected, sandbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_NOW", PINNED)
    links = _link(cli, sandbox, tmp_path, limit=60)
    books = sandbox.sandbox.tenants[connected]
    touched = []
    for row in links:  # open quotes in several currencies, half of them lapsed
        for quote_id in books.quotes_by_contact[row["xero_contact_id"]]:
            if books.quotes[quote_id]["Status"] in OPEN:
                touched.append((row, quote_id))
    assert len({r["crm"] for r, _ in touched}) >= 3
    for number, (_, quote_id) in enumerate(touched):
        _edit_quote(sandbox, connected, quote_id,
                    ExpiryDate=YESTERDAY if number % 2 else _days_after(TODAY, 45))
    raw = control(sandbox.base_url, "GET", f"data?tenant={connected}&only=quotes")
    cli.json("refresh", "--all")  # one batched read, not two calls a contact: no 429 wait
    seen: set[str] = set()
    for row, _ in touched:
        if row["crm"] in seen:
            continue
        seen.add(row["crm"])
        report = cli.json("summary", row["crm"])
        expected = _expected_expired(raw, TODAY, row["xero_contact_id"])
        assert {k: report["open_quotes"][k] for k in expected} == expected, row["crm"]
    lapsed = {q["CurrencyCode"] for q in raw["quotes"]
              if q["QuoteID"] in {x for _, x in touched[1::2]}}
    assert len(lapsed) > 1, "the expired quotes span currencies"


def test_a_deal_summary_sets_its_value_beside_what_was_quoted_and_invoiced(
        cli, connected, sandbox, tmp_path) -> None:
    links = _link(cli, sandbox, tmp_path, limit=60)
    books = sandbox.sandbox.tenants[connected]

    def number(row: dict[str, Any]) -> str:
        return str(row["crm"]).split(":")[1]

    primary = next(number(r) for r in links  # someone with an open quote
                   if any(books.quotes[q]["Status"] in OPEN
                          for q in books.quotes_by_contact[r["xero_contact_id"]]))
    participant = next(number(r) for r in links if number(r) != primary and len(
        {books.invoices[i]["CurrencyCode"] for i in books.invoices_by_contact[
            r["xero_contact_id"]]}) > 1)  # invoices in more than one currency
    deals = tmp_path / "deals.json"
    deals.write_text('[{"id": "9", "title": "Fit-out", "value": "12000.50", "currency": "usd", '
                     f'"primary_contact_id": "{primary}", "participant_ids": ["{participant}"]}}]')
    assert cli("crm", "import", str(deals))[0] == 0
    offered = cli.json("deal", "suggest", "deal:9")
    chosen = [d["document_id"] for d in offered]
    assert {d["type"] for d in offered} >= {"quote", "invoice"}
    assert cli.json("deal", "attach", "deal:9", *chosen)["attached"] == len(chosen)
    raw = control(sandbox.base_url, "GET", f"data?tenant={connected}&only=quotes,invoices")

    quoted: dict[str, Decimal] = {}
    invoiced: dict[str, Decimal] = {}
    for quote in raw["quotes"]:
        if quote["QuoteID"] in chosen and quote["Status"] not in ("DECLINED", "DELETED"):
            quoted[quote["CurrencyCode"]] = (quoted.get(quote["CurrencyCode"], 0)
                                             + Decimal(str(quote["Total"])))
    for invoice in raw["invoices"]:
        if (invoice["InvoiceID"] in chosen and invoice["Type"] == "ACCREC"
                and invoice["Status"] not in ("DELETED", "VOIDED")):
            invoiced[invoice["CurrencyCode"]] = (invoiced.get(invoice["CurrencyCode"], 0)
                                                 + Decimal(str(invoice["Total"])))
    assert quoted and len(invoiced) > 1, "quoted, and invoiced in more than one currency"
    report = cli.json("summary", "deal:9")["deal"]
    assert report["value"] == "12000.50" and report["currency"] == "USD"
    for key, sums in (("quoted", quoted), ("invoiced", invoiced)):
        assert report[key]["by_currency"] == {k: f"{v:.2f}" for k, v in sorted(sums.items())}
    assert report["quoted"]["count"] == sum(1 for q in raw["quotes"] if q["QuoteID"] in chosen
                                            and q["Status"] not in ("DECLINED", "DELETED"))
    code, out, _ = cli("summary", "deal:9")
    assert code == 0 and "Deal value (CRM)" in out and "12,000.50 USD" in out
    assert "deal" not in cli.json("summary", links[0]["crm"]), "only a deal has a value"

"""Summaries: every figure equals an independent computation over Xero's raw records,
in the calls the issue allows, and from the cache with no call at all."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from support import connect_profile, control, crm_csv_from_sandbox, raw_records
from xerolink.sandbox import SandboxOptions, SandboxServer
from xerolink.vocabulary import FIGURE_KEYS as FIGURES  # the keys; each sum is our own
from xerolink.xero import http

# What was paid, and credit: one organisation-wide read a list (Payments, CreditNotes,
# Overpayments, Prepayments) on a refresh; the figures are tested in test_paid_and_credit.
SETTLEMENT_ENDPOINTS = {f"GET /api.xro/2.0/{name}" for name in
                        ("Payments", "CreditNotes", "Overpayments", "Prepayments")}
SETTLEMENT_READS = len(SETTLEMENT_ENDPOINTS)


@dataclass
class QuickRetries(http.RetryPolicy):
    base_delay: float = 0.01
    max_delay: float = 0.02


FIGURE_PARTS = "today,quotes,invoices"  # the raw records expected_figures reads


def expected_figures(raw: dict[str, Any], contact_ids: set[str] | None = None,
                     document_ids: set[str] | None = None) -> dict[str, Any]:
    """The figures as docs/guide/documents.md defines them (vocabulary.FIGURES), computed
    here, independently of xerolink, straight from the sandbox's raw records."""
    today = raw["today"]
    out = {name: {"count": 0, "total": Decimal("0"), "by_currency": {}} for name in FIGURES}

    def add(name: str, amount: Decimal, currency: str, rate: Decimal) -> None:
        figure = out[name]
        figure["count"] += 1
        figure["total"] += (amount / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        figure["by_currency"][currency] = figure["by_currency"].get(currency, 0) + amount

    def wanted(doc: dict[str, Any], id_key: str) -> bool:
        if document_ids is not None:
            return doc[id_key] in document_ids
        return doc["Contact"]["ContactID"] in (contact_ids or set())

    out["expired_quotes"] = {"count": 0, "total": Decimal("0"), "by_currency": {}}
    for quote in raw["quotes"]:
        if wanted(quote, "QuoteID") and quote["Status"] in ("DRAFT", "SENT"):
            add("open_quotes", Decimal(str(quote["Total"])), quote["CurrencyCode"],
                Decimal(str(quote["CurrencyRate"])))
            if (quote.get("ExpiryDateString") or today)[:10] < today:  # lapsed, still open
                add("expired_quotes", Decimal(str(quote["Total"])), quote["CurrencyCode"],
                    Decimal(str(quote["CurrencyRate"])))
    for invoice in raw["invoices"]:
        if not wanted(invoice, "InvoiceID"):
            continue
        due = Decimal(str(invoice["AmountDue"]))
        if invoice["Status"] != "AUTHORISED" or due <= 0:
            continue
        kind = "invoices" if invoice["Type"] == "ACCREC" else "bills"
        rate = Decimal(str(invoice["CurrencyRate"]))
        add(f"outstanding_{kind}", due, invoice["CurrencyCode"], rate)
        if invoice["DueDateString"][:10] < today:
            add(f"overdue_{kind}", due, invoice["CurrencyCode"], rate)
    shown = {name: {"available": True, "count": f["count"], "total": f"{f['total']:.2f}",
                    "by_currency": {k: f"{Decimal(v):.2f}" for k, v in
                                    sorted(f["by_currency"].items())}}
             for name, f in out.items()}
    expired = shown.pop("expired_quotes")
    shown["open_quotes"].update({"expired": expired["count"], "expired_total": expired["total"],
                                 "expired_by_currency": expired["by_currency"]})
    return shown


def _link_all(cli, server, tmp_path, limit=None) -> list[dict[str, Any]]:
    rows = crm_csv_from_sandbox(server, tmp_path / "crm.csv", limit=limit)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    return rows


def _rich_contacts(server, tenant, links) -> list[tuple[str, str]]:
    """CRM refs of linked contacts whose documents span statuses and currencies."""
    books = server.sandbox.tenants[tenant]
    chosen = []
    for row in links:
        xero = row["xero_contact_id"]
        invoices = [books.invoices[i] for i in books.invoices_by_contact[xero]]
        currencies = {i["CurrencyCode"] for i in invoices}
        statuses = {i["Status"] for i in invoices}
        if len(statuses) >= 3 and (len(currencies) > 1 or len(chosen) < 2):
            chosen.append((row["crm"], xero))
    return chosen


def test_every_figure_matches_an_independent_computation(cli, connected, sandbox,
                                                         tmp_path) -> None:
    _link_all(cli, sandbox, tmp_path)
    links = cli.json("links")
    chosen = _rich_contacts(sandbox, connected, links)
    assert len(chosen) >= 3
    assert any(len({i["CurrencyCode"] for i in sandbox.sandbox.tenants[connected].invoices
                    .values() if i["ContactID"] == x}) > 1 for _, x in chosen), \
        "at least one contact has documents in several currencies"
    raw = control(sandbox.base_url, "GET", f"data?tenant={connected}&only={FIGURE_PARTS}")
    for ref, xero in chosen:
        report = cli.json("summary", ref)
        expected = expected_figures(raw, contact_ids={xero})
        for name in FIGURES:
            assert report[name] == expected[name], (ref, name)
        assert report["base_currency"] == "NZD" and report["tenant_id"] == connected


def test_a_contact_refresh_takes_two_calls_and_a_cached_summary_none(cli, connected, sandbox,
                                                                      tmp_path) -> None:
    _link_all(cli, sandbox, tmp_path, limit=10)
    ref = cli.json("links")[0]["crm"]
    control(sandbox.base_url, "POST", "stats/reset")
    first = cli.json("summary", ref)
    stats = control(sandbox.base_url, "GET", "stats")
    # Two for the contact's documents; the first summary also reads the organisation's
    # payments and credit, one call a list (tests/documents/test_paid_and_credit.py).
    assert stats["total"] <= 2 + SETTLEMENT_READS and first["cached"] is False
    assert set(stats["by_endpoint"]) == {"GET /api.xro/2.0/Invoices", "GET /api.xro/2.0/Quotes",
                                         *SETTLEMENT_ENDPOINTS}
    control(sandbox.base_url, "POST", "stats/reset")
    again = cli.json("summary", ref)
    assert control(sandbox.base_url, "GET", "stats")["total"] == 0
    assert again["cached"] is True and again["as_of"] == first["as_of"]
    assert {k: again[k] for k in FIGURES} == {k: first[k] for k in FIGURES}
    control(sandbox.base_url, "POST", "stats/reset")
    refreshed = cli.json("refresh", ref)
    assert refreshed["xero_calls"] <= 2 + SETTLEMENT_READS
    assert refreshed["documents"] == len(cli.json("details", ref)), "each document once"


def test_an_unlinked_contact_is_not_found(cli, connected, tmp_path) -> None:
    (tmp_path / "c.csv").write_text("id,first_name\n77,Nobody\n")
    cli("crm", "import", str(tmp_path / "c.csv"))
    code, _, err = cli("summary", "contact:77")
    assert code == 5
    assert err.strip() == ("error: contact:77 is not linked to a Xero contact; link it first: "
                           "xerolink suggest contact:77")


@pytest.mark.slow
def test_when_xero_is_down_a_cached_summary_is_stale_and_exit_7(cli, connected, sandbox,
                                                                tmp_path, monkeypatch) -> None:
    # Every try answered 500: the seven tries' backoff in hundredths of a second rather
    # than seconds (the pauses themselves: tests/unit/test_retry_pauses.py)
    monkeypatch.setattr(http, "RetryPolicy", QuickRetries)
    _link_all(cli, sandbox, tmp_path, limit=12)
    linked = cli.json("links")
    cached = cli.json("summary", linked[0]["crm"])
    control(sandbox.base_url, "POST", "faults", {"error_rate": 1.0})
    code, out, err = cli("summary", linked[0]["crm"], "--refresh", "--json")
    assert code == 7
    import json

    stale = json.loads(out)
    assert stale["stale"] is True and stale["cached"] is True
    assert {k: stale[k] for k in FIGURES} == {k: cached[k] for k in FIGURES}
    assert "could not be reached" in err
    code, _, err = cli("summary", linked[1]["crm"])
    assert code == 7
    assert "Error fetching details from Xero" in err and "xerolink refresh" in err


def test_a_created_invoice_is_draft_shows_in_details_and_its_link_opens(cli, connected,
                                                                       sandbox, tmp_path) -> None:
    import http.client
    from urllib.parse import urlsplit

    _link_all(cli, sandbox, tmp_path, limit=5)
    ref = cli.json("links")[0]["crm"]
    made = cli.json("create-invoice", ref, "--line", "Consulting;3;150", "--line",
                    "Widgets;2;19.995;200", "--due-date", "2099-12-31", "--reference", "PO-1")
    assert made["status"] == "DRAFT" and made["total"] == "563.49"
    invoice = sandbox.sandbox.tenants[connected].invoices[made["document_id"]]
    assert invoice["Status"] == "DRAFT" and invoice["Reference"] == "PO-1"
    cli("refresh", ref)
    listed = cli.json("details", ref, "--invoices", "--status", "DRAFT")
    assert made["document_id"] in [d["document_id"] for d in listed]
    parts = urlsplit(made["link"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", parts.path)
    page = conn.getresponse()
    assert page.status == 200 and made["number"] in page.read().decode()
    assert cli.json("view", made["document_id"])["url"] == made["link"]
    bill = cli.json("create-bill", ref, "--line", "Stationery;1;20")
    assert bill["link"].split("?")[0].endswith("/organisationlogin/default.aspx")
    assert f"InvoiceID={bill['document_id']}" in bill["link"]
    quote = cli.json("create-quote", ref, "--line", "Design;1;1000", "--title", "Proposal")
    assert "/quotes/view/" in quote["link"] and quote["status"] == "DRAFT"
    assert "/contacts/contact/" in cli.json("view", ref)["url"]
    assert cli("view", "00000000-0000-4000-8000-000000000000")[0] == 5


@pytest.mark.parametrize("line, message", [
    ("Widgets;NaN;10", "finite"),
    ("Widgets;1;inf", "finite"),
    ("Widgets;1;1e309", "is not a number"),
    ("Consulting;1;1e3", "is not a number"),  # the README promises plain decimals
    ("Widgets;1;10000000000000", "less than"),
    ("Widgets;-1;10", "greater than zero"),
    ("Widgets;1;10.12345", "more than 4 decimal places"),
    ("Widgets;1", "description;quantity;unit_amount"),
    (";1;10", "description is required"),
    ("Widgets;one;10", "is not a number"),
    ("Widgets;1;10;2 00", "not a valid code"),
    ("Refund;1;-5", "cannot be approved with a negative total"),
])
def test_bad_lines_are_refused_before_anything_is_sent(cli, connected, sandbox, tmp_path, line,
                                                       message) -> None:
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    control(sandbox.base_url, "POST", "stats/reset")
    code, _, err = cli("create-invoice", ref, "--line", line)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert control(sandbox.base_url, "GET", "stats")["total"] == 0


@pytest.mark.parametrize("args, message", [
    (["--due-date", "2026-02-30"], "is not a date"),
    (["--date", "2026-12-10", "--due-date", "2026-12-01"], "before the date"),
    (["--expiry-date", "2026-12-10"], "are for quotes"),
    (["--currency", "dollars"], "three-letter"),
    (["--deal", "nope"], "no CRM deal"),
])
def test_bad_options_are_refused(cli, connected, sandbox, tmp_path, args, message) -> None:
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    before = len(sandbox.sandbox.tenants[connected].invoices)
    code, _, err = cli("create-invoice", ref, "--line", "Widgets;1;10", *args)
    assert code in (2, 5) and message in err, err
    assert len(sandbox.sandbox.tenants[connected].invoices) == before


def test_a_document_file_is_checked_like_lines(cli, connected, sandbox, tmp_path) -> None:
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    path = tmp_path / "quote.json"
    path.write_text('{"lines": [{"description": "Plan", "quantity": 2, "unit_amount": 99.5}],'
                    ' "title": "Plan", "expiry_date": "2099-01-31"}')
    assert cli.json("create-quote", ref, "--file", str(path))["total"] == "228.85"
    path.write_text('{"lines": [{"description": "Plan", "quantity": NaN, "unit_amount": 1}]}')
    assert cli("create-quote", ref, "--file", str(path))[0] == 2
    path.write_text('{"lines": [], "bogus": 1}')
    assert cli("create-quote", ref, "--file", str(path))[0] == 2
    path.write_text('{"lines": [{"description": "Plan", "quantity": true, "unit_amount": 1}]}')
    code, _, err = cli("create-quote", ref, "--file", str(path))
    assert code == 2 and "quantity must be a number, not true" in err, err


def test_a_deal_summary_counts_exactly_the_attached_documents(cli, connected, sandbox,
                                                              tmp_path) -> None:
    rows = _link_all(cli, sandbox, tmp_path, limit=40)
    linked = {r["crm"]: r["xero_contact_id"] for r in cli.json("links")}
    primary, participant = list(linked)[:2]
    deals = tmp_path / "deals.json"
    deals.write_text('[{"id": "9", "title": "Fit-out", "value": "12000.00", "currency": "NZD", '
                     f'"primary_contact_id": "{primary.split(":")[1]}", '
                     f'"participant_ids": ["{participant.split(":")[1]}"]}}]')
    assert cli("crm", "import", str(deals))[0] == 0
    offered = cli.json("deal", "suggest", "deal:9")
    assert offered, "the deal's people have open documents"
    chosen = [d["document_id"] for d in offered][::2]
    assert cli.json("deal", "attach", "deal:9", *chosen)["attached"] == len(chosen)
    raw = control(sandbox.base_url, "GET", f"data?tenant={connected}&only={FIGURE_PARTS}")
    report = cli.json("summary", "deal:9")
    expected = expected_figures(raw, document_ids=set(chosen))
    assert {k: report[k] for k in FIGURES} == expected
    assert sorted(d["document_id"] for d in report["documents"]) == sorted(chosen)
    names = {r["xero_contact_id"]: r["xero_name"] for r in cli.json("links")}
    detailed = {d["document_id"]: d["contact"] for d in cli.json("details", "deal:9")}
    for listed in (report["documents"], cli.json("deal", "docs", "deal:9")):
        assert {d["document_id"]: d["contact"] for d in listed} == detailed, \
            "summary, deal docs and details name the same contact for a document"
        assert all(d["contact"] == names[d["xero_contact_id"]] for d in listed)
    stranger = next(i for i, inv in sandbox.sandbox.tenants[connected].invoices.items()
                    if inv["ContactID"] not in linked.values())
    assert cli("deal", "attach", "deal:9", stranger)[0] == 2
    cli.json("deal", "detach", "deal:9", chosen[0])
    assert len(cli.json("deal", "docs", "deal:9")) == len(chosen) - 1
    assert rows


def test_details_lists_open_documents_with_filters(cli, connected, sandbox, tmp_path) -> None:
    _link_all(cli, sandbox, tmp_path, limit=30)
    links = cli.json("links")
    books = sandbox.sandbox.tenants[connected]
    ref = next(r["crm"] for r in links  # a contact with an open quote
               if any(books.quotes[q]["Status"] in ("DRAFT", "SENT")
                      for q in books.quotes_by_contact[r["xero_contact_id"]]))
    everything = cli.json("details", ref)
    assert {d["status"] for d in everything} <= {"DRAFT", "SENT", "SUBMITTED", "AUTHORISED"}
    only_quotes = cli.json("details", ref, "--quotes")
    assert only_quotes and {d["type"] for d in only_quotes} == {"quote"}
    assert all(d["amount_due"] is None for d in only_quotes)  # quotes have none, not 0.00
    code, _, err = cli("details", ref, "--status", "PAID")
    assert code == 2 and "--paid" in err, "the refusal points at --paid"
    code, out, _ = cli("details", ref, "--csv")
    assert code == 0
    assert out.splitlines()[0] == ("type,number,date,due_date,status,total,amount_due,"
                                   "currency,link,expired,document_id")
    ids = [line.rsplit(",", 1)[1] for line in out.splitlines()[1:]]
    assert ids == [d["document_id"] for d in everything], "whole ids, in the JSON's order"


@pytest.fixture(scope="module")
def mid_sandbox():
    server = SandboxServer(SandboxOptions(seed=33, contacts=300))
    server.start()
    yield server
    server.stop()


def test_a_company_of_50_refreshes_in_3_calls_once_quotes_are_current(cli, home, mid_sandbox,
                                                                     tmp_path, monkeypatch
                                                                     ) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(mid_sandbox, home)
    rows = crm_csv_from_sandbox(mid_sandbox, tmp_path / "crm.csv")
    for row in rows[:80]:
        row["company_id"] = "big"
    import csv

    with open(tmp_path / "crm.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "co.csv").write_text("id,name\nbig,Big Co\n")
    cli("crm", "import", str(tmp_path / "crm.csv"))
    cli("crm", "import", str(tmp_path / "co.csv"))
    cli("link", "--auto")
    base = mid_sandbox.base_url
    control(base, "POST", "stats/reset")
    cold = cli.json("summary", "company:big")
    linked = [m for m in cold["members"] if m["linked"]]
    assert len(linked) >= 50
    assert control(base, "GET", "stats")["total"] <= 15 + SETTLEMENT_READS
    control(base, "POST", "stats/reset")
    cli.json("refresh", "company:big")
    stats = control(base, "GET", "stats")
    assert stats["total"] <= 3 + SETTLEMENT_READS and stats["status_429"] == 0
    raw = control(base, "GET", f"data?tenant={cold['tenant_id']}&only={FIGURE_PARTS}")
    warm = cli.json("summary", "company:big")
    expected = expected_figures(raw, contact_ids={m["xero_contact_id"] for m in linked})
    assert {k: warm[k] for k in FIGURES} == expected
    assert any(not m["linked"] for m in warm["members"]) or len(warm["members"]) == len(linked)


@pytest.mark.slow
def test_refresh_all_of_1000_contacts_then_again_in_4_calls(cli, home, tmp_path,
                                                            monkeypatch) -> None:
    from support import api, sandbox_token

    server = SandboxServer(SandboxOptions(seed=44, contacts=1400))
    base = server.start()
    try:
        monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
        tenant = connect_profile(server, home)
        crm_csv_from_sandbox(server, tmp_path / "crm.csv")
        cli("crm", "import", str(tmp_path / "crm.csv"))
        cli("link", "--auto")
        assert len(cli.json("links")) >= 1000
        control(base, "POST", "stats/reset")
        cold = cli.json("refresh", "--all")
        assert cold["contacts"] >= 1000
        # Every URL stays within Xero's limit (past ~2,048 characters Xero answers 404),
        # so no batch had to be split: one Invoices call per 40-odd contacts.
        stats = control(base, "GET", "stats")
        assert 0 < stats["longest_url"] <= 2000, stats
        assert stats["by_endpoint"]["GET /api.xro/2.0/Invoices"] <= -(-cold["contacts"] // 40)
        # More than four id batches: the organisation's open invoices, a page per 1,000,
        # are fewer calls (the first page's pageCount decides).
        books = server.sandbox.tenants[tenant]
        open_invoices = sum(1 for i in books.invoices.values()
                            if i["Status"] in ("DRAFT", "SUBMITTED", "AUTHORISED"))
        assert stats["by_endpoint"]["GET /api.xro/2.0/Invoices"] == -(-open_invoices // 1000)
        # 20 documents change in Xero between the runs (in the next minute window).
        control(base, "POST", "limits", {"reset": True})
        books = server.sandbox.tenants[tenant]
        token = sandbox_token(base)
        # Unpaid ones: Xero does not void an invoice with a payment applied.
        authorised = [i for i in books.invoices.values() if i["Status"] == "AUTHORISED"
                      and i["AmountPaid"] == 0 and i["AmountCredited"] == 0][:20]
        for invoice in authorised:
            status, _, _ = api(base, token, tenant, "POST", f"/Invoices/{invoice['InvoiceID']}",
                               {"Invoices": [{"Status": "VOIDED"}]})
            assert status == 200
        control(base, "POST", "stats/reset")
        warm = cli.json("refresh", "--all")
        stats = control(base, "GET", "stats")
        assert warm["xero_calls"] <= 4 + SETTLEMENT_READS, stats
        assert stats["total"] <= 4 + SETTLEMENT_READS, stats
        assert stats["status_429"] == 0
        voided = {i["InvoiceID"] for i in authorised}
        linked = {r["xero_contact_id"] for r in cli.json("links")}
        ref = next(r["crm"] for r in cli.json("links")
                   if any(books.invoices[v]["ContactID"] == r["xero_contact_id"] for v in voided))
        listed = {d["document_id"] for d in cli.json("details", ref, "--invoices")}
        assert not listed & voided, "the voided invoices left the cache"
        raw = control(base, "GET", f"data?tenant={tenant}&only={FIGURE_PARTS}")
        xero = next(r["xero_contact_id"] for r in cli.json("links") if r["crm"] == ref)
        report = cli.json("summary", ref)
        assert {k: report[k] for k in FIGURES} == expected_figures(raw, contact_ids={xero})
        assert linked
    finally:
        server.stop()


def test_draft_bills_without_a_number_are_told_apart_in_details(cli, connected, sandbox,
                                                                tmp_path) -> None:
    """Two identical draft bills have no number: each row shows its short id, which
    `view` accepts, so each row can be addressed."""
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    made = [cli.json("create-bill", ref, "--line", "Stationery;1;20;429") for _ in range(2)]
    assert all(not bill["number"] for bill in made)
    code, out, _ = cli("details", ref, "--bills", "--status", "DRAFT")
    assert code == 0
    for bill in made:
        short = bill["document_id"][:8]
        assert short in out, out
        assert cli.json("view", short)["url"] == bill["link"]
    listed = cli.json("details", ref, "--bills", "--status", "DRAFT")
    assert {d["number"] for d in listed} == {""}, "JSON keeps Xero's (empty) number"


@pytest.mark.parametrize("kind", ["quote", "invoice", "bill"])
def test_each_create_says_it_made_a_draft(cli, connected, sandbox, tmp_path, kind) -> None:
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    code, out, err = cli(f"create-{kind}", ref, "--line", "Design;1;100")
    assert code == 0, err
    assert out.startswith(f"Created draft {kind} "), out
    assert cli.json("details", ref, f"--{kind}s", "--status", "DRAFT"), "and it is one"


@pytest.mark.parametrize("kind", ["quote", "invoice", "bill"])
def test_each_create_takes_its_date_and_reference(cli, connected, sandbox, tmp_path,
                                                  kind) -> None:
    """--date and --reference on every create command reach Xero as given (a bill's
    options were once --date- with no help: its signature, rebuilt without --approve
    and --send, had lost their metadata)."""
    import re
    from datetime import UTC, date, datetime, timedelta

    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    part = "quotes" if kind == "quote" else "invoices"
    day = date.fromisoformat(raw_records(sandbox, connected, "today")["today"]) \
        - timedelta(days=3)
    made = cli.json(f"create-{kind}", ref, "--line", "Design;1;100", "--date",
                    day.isoformat(), "--reference", "PO-77")
    key = "QuoteID" if kind == "quote" else "InvoiceID"
    record = next(r for r in raw_records(sandbox, connected, part)[part]
                  if r[key] == made["document_id"])
    assert record["Reference"] == "PO-77"
    ms = int(re.search(r"-?\d+", record["Date"]).group())  # type: ignore[union-attr]
    assert datetime.fromtimestamp(ms / 1000, UTC).date() == day, record["Date"]


def test_a_negative_line_is_a_discount_and_a_negative_total_is_refused_before_xero(
        cli, connected, sandbox, tmp_path) -> None:
    """As in Xero: a discount line may be negative; an invoice or bill whose lines are
    all zero or less could never be approved, so it is refused with no call."""
    _link_all(cli, sandbox, tmp_path, limit=3)
    ref = cli.json("links")[0]["crm"]
    made = cli.json("create-invoice", ref, "--line", "Widgets;1;20", "--line",
                    "Discount;1;-5")
    assert made["total"] == "17.25" and made["status"] == "DRAFT"
    books = sandbox.sandbox.tenants[connected]
    before = (len(books.invoices), control(sandbox.base_url, "GET", "stats")["total"])
    code, out, err = cli("create-bill", ref, "--line", "Refund;1;-5", "--line", "Nil;1;0")
    assert code == 2 and out == "", err
    assert err.startswith("error: the lines add up to -5.00 before tax"), err
    assert "credit note" in err
    after = (len(books.invoices), control(sandbox.base_url, "GET", "stats")["total"])
    assert after == before, "nothing sent to Xero"

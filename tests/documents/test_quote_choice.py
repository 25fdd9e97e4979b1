"""A cold company's quotes: per-contact reads or the organisation's quote copy,
whichever is fewer calls (issue 25, section 8). The sandbox counts the calls; each
organisation is made to the size where one choice or the other wins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from support import connect_profile, control
from xerolink.sandbox import SandboxOptions, SandboxServer
from xerolink.sandbox.seed import line_amounts

COMPANY = 8  # more than the five that always read per contact

SETTLEMENT_READS = 4  # Payments, CreditNotes, Overpayments, Prepayments: one read each


def _grow(server: SandboxServer, contacts: int, open_quotes: int) -> list[str]:
    """Add ``contacts`` contacts and ``open_quotes`` open quotes (half DRAFT, half
    SENT, spread over them) to the first organisation; returns the new contacts'
    ids, the company's members first, each with one open quote."""
    tenant = next(iter(server.sandbox.tenants.values()))
    now = datetime.now(UTC)
    ids: list[str] = []
    with server.sandbox.lock:
        for n in range(contacts):
            contact_id = str(uuid.uuid4())
            tenant.contacts[contact_id] = {
                "ContactID": contact_id, "ContactNumber": f"Q{n:06d}",
                "ContactStatus": "ACTIVE", "Name": f"Quoted {n:06d}", "FirstName": "Quoted",
                "LastName": f"{n:06d}", "EmailAddress": f"q{n}@choice.example.com",
                "ContactPersons": [], "IsCustomer": True, "IsSupplier": False,
                "Phones": [], "Addresses": [], "UpdatedDateUTC": now - timedelta(days=9),
                "HasAttachments": False}
            tenant.names[f"quoted {n:06d}"] = contact_id
            tenant.invoices_by_contact[contact_id] = []
            tenant.quotes_by_contact[contact_id] = []
            ids.append(contact_id)
        for n in range(open_quotes):
            contact = ids[n % len(ids)]
            quote_id = str(uuid.uuid4())
            lines = [{"Description": "Work", "Quantity": Decimal(1),
                      "UnitAmount": Decimal(100 + n), "AccountCode": "200",
                      "TaxType": "NONE", "LineItemID": str(uuid.uuid4())}]
            sub, tax, total = line_amounts(lines, tenant.tax_rates, "NoTax")
            tenant.quotes[quote_id] = {
                "QuoteID": quote_id, "QuoteNumber": f"QC-{n:06d}", "Reference": "",
                "Title": "Proposal", "Summary": "", "Terms": "", "ContactID": contact,
                "Date": now.date() - timedelta(days=3),
                "ExpiryDate": now.date() + timedelta(days=27),
                "Status": "DRAFT" if n % 2 else "SENT", "LineAmountTypes": "NOTAX",
                "LineItems": lines, "SubTotal": sub, "TotalTax": tax, "Total": total,
                "CurrencyCode": tenant.base_currency, "CurrencyRate": Decimal(1),
                "UpdatedDateUTC": now - timedelta(days=3)}
            tenant.quotes_by_contact[contact].append(quote_id)
    return ids


def _company(cli, server: SandboxServer, tmp_path, members: list[str]) -> None:
    tenant = next(iter(server.sandbox.tenants.values()))
    rows = ["id,first_name,last_name,email,company_id"]
    rows += [f"m{n},Quoted,{n},{tenant.contacts[c]['EmailAddress']},co"
             for n, c in enumerate(members)]
    (tmp_path / "members.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "co.csv").write_text("id,name\nco,Quoted Company\n")
    assert cli("crm", "import", str(tmp_path / "members.csv"))[0] == 0
    assert cli("crm", "import", str(tmp_path / "co.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0  # reads every contact: the store knows how many


def _cold_company(cli, server: SandboxServer) -> dict[str, Any]:
    control(server.base_url, "POST", "stats/reset")
    control(server.base_url, "POST", "limits", {"reset": True})
    out = cli.json("refresh", "company:co")
    stats = control(server.base_url, "GET", "stats")
    out["quote_calls"] = stats["by_endpoint"].get("GET /api.xro/2.0/Quotes", 0)
    out["total_calls"] = stats["total"]
    return out


def _open_quotes(cli, server: SandboxServer) -> int:
    """The members' open quotes, from the cache alone."""
    control(server.base_url, "POST", "stats/reset")
    count = sum(cli.json("summary", f"m{n}")["open_quotes"]["count"] for n in range(COMPANY))
    assert control(server.base_url, "GET", "stats")["total"] == 0
    return count


@pytest.fixture
def server(home, monkeypatch):
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    server = SandboxServer(SandboxOptions(seed=7, contacts=10, minute_limit=10_000))
    server.start()
    connect_profile(server, home)
    yield server
    server.stop()


@pytest.mark.slow
def test_a_company_in_a_large_organisation_reads_quotes_per_contact(cli, server,
                                                                    tmp_path) -> None:
    """20,000 contacts with a tenth holding an open quote: the copy would be 22 pages
    (11 a status, the last full one followed by an empty one); the company's eight
    members are eight reads after the two first pages that showed the copy is long."""
    members = _grow(server, 20_000, 2_000)[:COMPANY]
    _company(cli, server, tmp_path, members)
    out = _cold_company(cli, server)
    assert out["quote_calls"] == 2 + COMPANY, out
    # one id batch of invoices, and one read of each of the organisation's payments and
    # credit lists (test_paid_and_credit.py)
    assert out["total_calls"] == 1 + 2 + COMPANY + SETTLEMENT_READS
    assert _open_quotes(cli, server) == COMPANY


def test_a_company_in_an_organisation_with_few_quotes_reads_the_copy(cli, server,
                                                                     tmp_path) -> None:
    """Short first pages are the whole copy: two calls, whatever the contact count."""
    members = _grow(server, 1_500, 150)[:COMPANY]
    _company(cli, server, tmp_path, members)
    out = _cold_company(cli, server)
    assert out["quote_calls"] == 2, out
    assert _open_quotes(cli, server) == COMPANY
    # the copy exists now: a later single refresh reads its changes, not the contact's list
    control(server.base_url, "POST", "stats/reset")
    cli.json("refresh", "m0")
    # (the organisation's paid and credit lists were read by the company's, a moment ago)
    assert control(server.base_url, "GET", "stats")["total"] == 2


def test_a_copy_that_runs_past_the_per_contact_reads_is_abandoned(cli, server,
                                                                  tmp_path) -> None:
    """An organisation of a few contacts with thousands of open quotes defeats the
    estimate (a tenth of a quote a contact): the copy is left once it has run to the
    per-contact reads' count, so the cost stays under twice the cheaper choice."""
    members = _grow(server, 40, 3_000)[:COMPANY]
    _company(cli, server, tmp_path, members)
    out = _cold_company(cli, server)
    copy_pages = 2 * (1_500 // 100 + 1)
    assert out["quote_calls"] <= 2 * (COMPANY + 2) < copy_pages, out
    assert _open_quotes(cli, server) == COMPANY * 75  # every member's 75 open quotes

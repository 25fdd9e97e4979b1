"""Values inside a well-formed Xero answer that are not what Xero sends: amounts that
are not numbers or pass 10^12 or four places, rates at or below zero, dates outside
1900-2100. Each is the server's fault (exit 7, store unchanged), named with its field
and document; before, each exited 1 (InvalidOperation, ValueError, "year out of range")."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from xerolink.errors import ExitCode, XeroUnreachableError
from xerolink.xero import models

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _invoice(**fields: object) -> dict:
    base: dict = {"InvoiceID": "9b5a3d5e-0000-4000-8000-000000000001", "Type": "ACCREC",
                  "InvoiceNumber": "INV-00042", "Status": "AUTHORISED",
                  "Contact": {"ContactID": "c0"}, "Date": "/Date(1764547200000+0000)/",
                  "DueDate": "/Date(1767225600000+0000)/", "CurrencyCode": "USD",
                  "CurrencyRate": Decimal("1"), "Total": Decimal("100.00"),
                  "AmountDue": Decimal("100.00"), "UpdatedDateUTC": "/Date(1764547200000)/"}
    base.update(fields)
    return base


BAD = [("AmountDue", "abc"), ("AmountDue", Decimal("1e30")), ("AmountDue", Decimal("1e-30")),
       ("AmountDue", "Infinity"), ("AmountDue", "NaN"), ("Total", [1]), ("Total", True),
       ("CurrencyRate", "x"), ("CurrencyRate", Decimal("-1")), ("CurrencyRate", Decimal("0")),
       ("CurrencyRate", Decimal("1e-30")), ("CurrencyRate", Decimal("1e30")),
       ("DueDate", "/Date(99999999999999999)/"), ("Date", "/Date(-99999999999999999)/"),
       ("Date", "9999-01-01T00:00:00"), ("Date", "/Date(" + "0" * 5000 + "1764547200000)/"),
       ("UpdatedDateUTC", "/Date(99999999999999999)/")]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_malformed_value_in_an_invoice_is_the_servers_fault(name, value) -> None:
    with pytest.raises(XeroUnreachableError) as caught:
        models.invoice(_invoice(**{name: value}), NOW)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.XERO_UNREACHABLE
    assert f"invoice 'INV-00042', its {name}" in message, message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize(("name", "value"),
                         [(n, v) for n, v in BAD if n not in ("AmountDue", "DueDate")]
                         + [("ExpiryDate", "/Date(99999999999999999)/")])
def test_a_malformed_value_in_a_quote_is_the_servers_fault(name, value) -> None:
    data = _invoice(**{name: value})
    data.update(QuoteID=data.pop("InvoiceID"), QuoteNumber="QU-0007")
    with pytest.raises(XeroUnreachableError, match=f"quote 'QU-0007', its {name}"):
        models.quote(data, NOW)


def test_a_malformed_date_in_a_contact_is_the_servers_fault() -> None:
    with pytest.raises(XeroUnreachableError, match="contact 'Acme', its UpdatedDateUTC"):
        models.contact({"ContactID": "c0", "Name": "Acme",
                        "UpdatedDateUTC": "/Date(99999999999999999)/"})


def test_the_values_xero_sends_are_read_as_before() -> None:
    """Bounds that refuse only what Xero never sends: rates of ten places, four-place
    amounts, trailing zeros, dates at both ends of the range, and no rate (read as 1)."""
    read = models.invoice(_invoice(CurrencyRate=Decimal("0.6349206349"),
                                   Total=Decimal("999999999999.99"),
                                   AmountDue=Decimal("12.3400000"),
                                   Date="/Date(-2208988800000)/"), NOW)
    assert read.currency_rate == Decimal("0.6349206349")
    assert read.total == Decimal("999999999999.99") and read.amount_due == Decimal("12.34")
    assert read.issue_date is not None and read.issue_date.year == 1900
    data = _invoice()
    del data["CurrencyRate"]
    assert models.invoice(data, NOW).currency_rate == 1
    assert models.invoice(_invoice(Contact="not an object"), NOW).xero_contact_id == ""


def _figures(summary: object) -> str:
    """A summary without its ages, which move with the clock."""
    return re.sub(r'"age_seconds": \d+', "", json.dumps(summary, sort_keys=True))


@pytest.mark.parametrize(("name", "value"), [("AmountDue", "abc"),
                                             ("AmountDue", Decimal("1e30")),
                                             ("CurrencyRate", Decimal("-1"))])
def test_summary_refresh_through_a_malformed_invoice_exits_7_and_keeps_the_store(
        cli, connected, sandbox, tmp_path, name, value) -> None:
    from support import crm_csv_from_sandbox

    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=None)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    assert cli("refresh", "--all")[0] == 0
    tenant = next(iter(sandbox.sandbox.tenants.values()))
    links = {str(v).lower(): link["crm"] for link in cli.json("links") for v in link.values()}
    invoice = next(i for i in tenant.invoices.values() if i["Type"] == "ACCREC"
                   and i["Status"] == "AUTHORISED" and i["ContactID"].lower() in links)
    ref = links[invoice["ContactID"].lower()]
    before = _figures(cli.json("summary", ref))
    invoice[name] = value
    invoice["UpdatedDateUTC"] = sandbox.sandbox.accounting.now()  # read by a refresh
    for args in (["refresh", "--all"], ["summary", ref, "--refresh"]):
        code, _, err = cli(*args)
        assert code == 7, err
        assert f"invoice '{invoice['InvoiceNumber']}', its {name}" in err
        assert err.count("\n") == 1 and "unexpected" not in err
    assert _figures(cli.json("summary", ref)) == before


def test_a_foreign_currency_document_without_a_rate_is_refused_a_base_one_is_read_at_1(
        ) -> None:
    """Xero sends CurrencyRate on every document in another currency (every recorded
    answer; docs/xero-fidelity.md): without one its base amount is unknown, where it was
    read at rate 1. A base-currency document without one is read at 1, as before."""
    data = _invoice(CurrencyCode="EUR")
    del data["CurrencyRate"]
    with pytest.raises(XeroUnreachableError, match=r"invoice 'INV-00042'.*'EUR' document with "
                                                   r"no CurrencyRate, so its USD amount"):
        models.invoice(data, NOW, base_currency="USD")
    data.update(QuoteID=data.pop("InvoiceID"), QuoteNumber="QU-0007")
    with pytest.raises(XeroUnreachableError, match="quote 'QU-0007'"):
        models.quote(data, NOW, base_currency="usd")
    data["CurrencyCode"] = "USD"
    assert models.quote(data, NOW, base_currency="USD").currency_rate == 1


def test_a_refresh_through_a_foreign_document_without_a_rate_exits_7(
        cli, connected, sandbox, tmp_path) -> None:
    from support import control, crm_csv_from_sandbox

    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=None)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    control(sandbox.base_url, "POST", "faults", {"no_currency_rate": True})
    assert cli("refresh", "--all")[0] == 0, "the fault drops base-currency rates only"
    tenant = next(iter(sandbox.sandbox.tenants.values()))
    linked = {str(v).lower() for link in cli.json("links") for v in link.values()}
    invoice = next(i for i in tenant.invoices.values() if i["Type"] == "ACCREC"
                   and i["Status"] == "AUTHORISED" and i["ContactID"].lower() in linked
                   and i["CurrencyCode"] == tenant.base_currency)
    invoice["CurrencyCode"] = "EUR" if tenant.base_currency != "EUR" else "GBP"
    invoice["UpdatedDateUTC"] = sandbox.sandbox.accounting.now()
    # The sandbox now leaves the rate out of a document not in the base currency.
    tenant.base_currency = invoice["CurrencyCode"]
    code, _, err = cli("refresh", "--all")
    assert code == 7, err
    assert "document with no CurrencyRate" in err and err.count("\n") == 1

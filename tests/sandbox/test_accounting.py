"""xero-python, pointed at the sandbox, works as it does against Xero."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from support import api, control, sandbox_token
from xerolink.sandbox import PKCE_CLIENT_ID, SandboxOptions, SandboxServer


def sdk(base: str, token: dict[str, Any]) -> tuple[Any, Any]:
    from xero_python.accounting import AccountingApi
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.oauth2 import OAuth2Token
    from xero_python.identity import IdentityApi

    holder = {"token": token}
    # Configuration() returns a copy of the first instance and ignores its arguments,
    # so the token hook is set on the copy.
    configuration = Configuration()
    configuration.oauth2_token = OAuth2Token(client_id=PKCE_CLIENT_ID)
    client = ApiClient(configuration,
                       oauth2_token_getter=lambda: holder["token"],
                       oauth2_token_saver=lambda t: holder.update(token=t))
    return AccountingApi(client, base_url=f"{base}/api.xro/2.0"), IdentityApi(client, base)


@pytest.fixture(scope="module")
def big() -> Any:
    server = SandboxServer(SandboxOptions(seed=11, contacts=10_000, rate_limits=False))
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_sdk_pages_10000_contacts_1000_at_a_time(big) -> None:
    accounting, identity = sdk(big.base_url, sandbox_token(big.base_url))
    tenant = identity.get_connections()[0].tenant_id
    seen: set[str] = set()
    page, started = 1, time.perf_counter()
    while True:
        result = accounting.get_contacts(tenant, page=page, page_size=1000, include_archived=True)
        seen.update(str(c.contact_id) for c in result.contacts)
        if page >= result.pagination.page_count:
            break
        page += 1
    assert len(seen) == 10_000 and page == 10
    assert time.perf_counter() - started < 10


def test_sdk_filters_invoices_by_contact_ids_and_statuses(sandbox) -> None:
    base = sandbox.base_url
    accounting, identity = sdk(base, sandbox_token(base))
    tenant = identity.get_connections()[0].tenant_id
    raw = control(base, "GET", f"data?tenant={tenant}")
    contacts = [c["ContactID"] for c in raw["contacts"]][:8]
    wanted = {"AUTHORISED", "DRAFT"}
    expected = {i["InvoiceID"] for i in raw["invoices"]
                if i["Contact"]["ContactID"] in contacts and i["Status"] in wanted}
    assert expected, "seed should give these contacts some documents"
    result = accounting.get_invoices(tenant, contact_i_ds=contacts, statuses=sorted(wanted),
                                     summary_only=True, page=1, page_size=1000)
    assert {str(i.invoice_id) for i in result.invoices} == expected
    assert all(i.line_items in (None, []) for i in result.invoices)
    one = next(i for i in raw["invoices"] if i["InvoiceID"] in expected)
    model = next(i for i in result.invoices if str(i.invoice_id) == one["InvoiceID"])
    assert Decimal(str(model.amount_due)) == one["AmountDue"]


def test_the_raw_records_come_whole_or_in_the_parts_named(sandbox) -> None:
    from support import request

    base = sandbox.base_url
    tenant = next(iter(sandbox.sandbox.tenants))
    whole = control(base, "GET", f"data?tenant={tenant}")
    part = control(base, "GET", f"data?tenant={tenant}&only=contacts,quotes")
    assert set(part) == {"contacts", "quotes"}
    assert part["contacts"] == whole["contacts"] and part["quotes"] == whole["quotes"]
    status, _, body = request(base, "GET", f"/_sandbox/data?tenant={tenant}&only=bills")
    assert status == 400 and b"no part bills" in body


def test_sdk_creates_a_quote_and_an_invoice_with_computed_totals(sandbox) -> None:
    from xero_python.accounting.models import Contact, Invoice, Invoices, LineItem, Quote, Quotes

    base = sandbox.base_url
    accounting, identity = sdk(base, sandbox_token(base))
    tenant = identity.get_connections()[0].tenant_id
    contact = next(c for c in sandbox.sandbox.tenants[tenant].contacts.values()
                   if c["ContactStatus"] == "ACTIVE")["ContactID"]
    line = LineItem(description="Widget", quantity=2, unit_amount=10.5, account_code="200")
    quote = accounting.create_quotes(tenant, Quotes(quotes=[
        Quote(contact=Contact(contact_id=contact), date=date.today(), line_items=[line])]),
        idempotency_key="quote-1").quotes[0]
    assert (quote.sub_total, quote.total_tax, quote.total) == (21, Decimal("3.15"),
                                                               Decimal("24.15"))
    assert quote.quote_number.startswith("QU-") and str(quote.status.value) == "DRAFT"
    invoice = accounting.create_invoices(tenant, Invoices(invoices=[
        Invoice(type="ACCREC", contact=Contact(contact_id=contact), date=date.today(),
                due_date=date.today() + timedelta(days=14), line_items=[line])]),
        idempotency_key="invoice-1").invoices[0]
    assert invoice.status == "DRAFT" and invoice.amount_due == Decimal("24.15")
    fetched = accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert fetched.invoice_number == invoice.invoice_number
    assert fetched.line_items[0].line_amount == 21


def test_validation_errors_use_xeros_shape_and_names_are_unique(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    taken = next(iter(sandbox.sandbox.tenants[tenant].contacts.values()))["Name"]
    status, _, body = api(base, token, tenant, "PUT", "/Contacts",
                          {"Contacts": [{"Name": taken.upper()}]})
    assert status == 400
    assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    message = body["Elements"][0]["ValidationErrors"][0]["Message"]
    assert "already assigned to another contact" in message
    before = len(sandbox.sandbox.tenants[tenant].contacts)
    status, _, body = api(base, token, tenant, "PUT", "/Contacts", {"Contacts": [
        {"Name": "Fresh One"}, {"Name": "Broken", "EmailAddress": "not-an-email"}]})
    assert status == 400
    assert len(sandbox.sandbox.tenants[tenant].contacts) == before, "a failed batch adds nothing"


@pytest.mark.parametrize("line, message", [
    ({"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"},
     "not a valid code"),
    ({"Description": "", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"},
     "Description cannot be empty"),
    ({"Description": "x", "Quantity": "lots", "UnitAmount": 5, "AccountCode": "200"},
     "must be a number"),
    ({"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200",
      "TaxType": "BOGUS"}, "TaxType code"),
])
def test_invoice_lines_are_validated(sandbox, line, message) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    contact = next(c for c in sandbox.sandbox.tenants[tenant].contacts.values()
                   if c["ContactStatus"] == "ACTIVE")["ContactID"]
    status, _, body = api(base, token, tenant, "PUT", "/Invoices", {"Invoices": [
        {"Type": "ACCREC", "Contact": {"ContactID": contact}, "LineItems": [line]}]})
    assert status == 400
    assert message in body["Elements"][0]["ValidationErrors"][0]["Message"]


def test_a_repeated_idempotency_key_creates_one_document(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    books = sandbox.sandbox.tenants[tenant]
    contact = next(c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE")
    body = {"Quotes": [{"Contact": {"ContactID": contact["ContactID"]},
                        "Date": date.today().isoformat(),
                        "LineItems": [{"Description": "Once", "Quantity": 1,
                                       "UnitAmount": 100}]}]}
    before = len(books.quotes)
    first = api(base, token, tenant, "PUT", "/Quotes", body, {"Idempotency-Key": "same-key"})
    second = api(base, token, tenant, "PUT", "/Quotes", body, {"Idempotency-Key": "same-key"})
    assert first[0] == second[0] == 200
    assert first[2]["Quotes"][0]["QuoteID"] == second[2]["Quotes"][0]["QuoteID"]
    assert len(books.quotes) == before + 1
    changed = {"Quotes": [{**body["Quotes"][0], "Title": "other"}]}
    status, _, error = api(base, token, tenant, "PUT", "/Quotes", changed,
                           {"Idempotency-Key": "same-key"})
    assert status == 400 and "different request" in error["Message"]


def test_lists_honour_summary_only_archived_modified_since_and_where(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    books = sandbox.sandbox.tenants[tenant]
    active = [c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"]
    _, _, listed = api(base, token, tenant, "GET", "/Contacts")
    assert len(listed["Contacts"]) == len(active)
    _, _, everyone = api(base, token, tenant, "GET", "/Contacts?includeArchived=true")
    assert len(everyone["Contacts"]) == len(books.contacts)
    _, _, summary = api(base, token, tenant, "GET", "/Contacts?summaryOnly=true")
    assert "ContactPersons" not in summary["Contacts"][0]
    target = active[3]
    where = quote(f'Name=="{target["Name"].lower()}"')
    _, _, found = api(base, token, tenant, "GET", f"/Contacts?where={where}")
    assert [c["ContactID"] for c in found["Contacts"]] == [target["ContactID"]]
    status, _, _ = api(base, token, tenant, "GET", "/Contacts?where=Name.Explode()")
    assert status == 400
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    _, _, none = api(base, token, tenant, "GET", "/Invoices",
                     headers={"If-Modified-Since": future})
    assert none["Invoices"] == []
    _, _, unpaged = api(base, token, tenant, "GET", "/Invoices")
    assert "LineItems" not in unpaged["Invoices"][0], "Xero omits lines unless paging"
    status, _, _ = api(base, token, tenant, "GET", "/Contacts?page=1&pageSize=1001")
    assert status == 400


def test_quotes_come_100_a_page_and_filter_by_one_contact_and_status(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    books = sandbox.sandbox.tenants[tenant]
    _, _, page = api(base, token, tenant, "GET", "/Quotes?page=1")
    assert len(page["Quotes"]) == min(100, len(books.quotes))
    contact = next(c for c, q in books.quotes_by_contact.items() if q)
    _, _, mine = api(base, token, tenant, "GET", f"/Quotes?ContactID={contact}&Status=DRAFT")
    assert {q["QuoteID"] for q in mine["Quotes"]} == {
        q for q in books.quotes_by_contact[contact] if books.quotes[q]["Status"] == "DRAFT"}
    assert api(base, token, tenant, "GET", "/Quotes?pageSize=5")[0] == 400


def test_status_changes_follow_xeros_rules(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    books = sandbox.sandbox.tenants[tenant]
    paid = next(i for i in books.invoices.values() if i["Status"] == "PAID")
    status, _, _ = api(base, token, tenant, "POST", f"/Invoices/{paid['InvoiceID']}",
                       {"Invoices": [{"Status": "DRAFT"}]})
    assert status == 400
    authorised = next(i for i in books.invoices.values() if i["Status"] == "AUTHORISED")
    status, _, body = api(base, token, tenant, "POST", f"/Invoices/{authorised['InvoiceID']}",
                          {"Invoices": [{"Status": "VOIDED"}]})
    assert status == 200 and body["Invoices"][0]["AmountDue"] == 0


def test_xero_pythons_token_api_refreshes_against_the_sandbox(sandbox, monkeypatch) -> None:
    """xero-python has no code exchange (xerolink's identity client does it); its TokenApi
    refreshes once its token URL, a class attribute, is pointed at the sandbox."""
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.oauth2 import TokenApi

    base = sandbox.base_url
    first = sandbox_token(base)
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{base}/connect/token")
    token_api = TokenApi(ApiClient(Configuration()), PKCE_CLIENT_ID, "")
    renewed = token_api.refresh_token(first["refresh_token"], first["scope"].split())
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]
    assert control(base, "GET", "stats")["token_grants"]["refresh_token"] == 1


def test_a_negative_invoice_may_be_a_draft_but_not_approved(sandbox) -> None:
    """Xero keeps a draft invoice whose total is below zero and refuses to approve
    one; a negative line beside larger ones is a discount (docs/xero-fidelity.md)."""
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    contact = next(c for c in sandbox.sandbox.tenants[tenant].contacts.values()
                   if c["ContactStatus"] == "ACTIVE")["ContactID"]
    refund = {"Description": "Refund", "Quantity": 1, "UnitAmount": -5, "AccountCode": "200"}

    def put(status: str, lines: list[dict[str, Any]]) -> tuple[int, Any]:
        answer = api(base, token, tenant, "PUT", "/Invoices", {"Invoices": [
            {"Type": "ACCREC", "Contact": {"ContactID": contact}, "Status": status,
             "Date": str(date.today()), "DueDate": str(date.today() + timedelta(days=31)),
             "LineItems": lines}]})
        return answer[0], answer[2]

    status, body = put("DRAFT", [refund])
    assert status == 200, body
    assert Decimal(str(body["Invoices"][0]["Total"])) < 0
    status, body = put("AUTHORISED", [refund])
    assert status == 400
    assert "must not be negative" in body["Elements"][0]["ValidationErrors"][0]["Message"]
    widgets = {**refund, "Description": "Widgets", "UnitAmount": 20}
    assert put("AUTHORISED", [widgets, refund])[0] == 200


def test_what_orjson_cannot_write_is_answered_as_before(sandbox) -> None:
    """A lone surrogate in a name and an integer past 64 bits in a phone are JSON the
    sandbox accepts: its answers (then and later) are written, never a dropped line."""
    from support import request

    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = sandbox.tenants[0].tenant_id
    headers = {"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": tenant,
               "Accept": "application/json", "Content-Type": "application/json"}
    for body in (b'{"Contacts":[{"Name":"Bad \\ud800 name"}]}',
                 b'{"Contacts":[{"Name":"Big Phone","Phones":[{"PhoneNumber":'
                 b'123456789012345678901234567890}]}]}'):
        status, _, answer = request(base, "PUT", "/api.xro/2.0/Contacts", body=body,
                                    headers=headers)
        assert status == 200, answer
    status, _, _ = request(base, "GET", "/api.xro/2.0/Contacts?page=1", headers=headers)
    assert status == 200
    assert control(base, "GET", f"data?tenant={tenant}&only=contacts")["contacts"]


def test_dates_and_amounts_are_written_as_each_value_says() -> None:
    """The wire forms that are kept or taken short (an amount's text, a date's
    ``/Date()/``) match the long way for every value, the hour a clock goes back
    included: two times in one zone that compare equal but are an hour apart."""
    from zoneinfo import ZoneInfo

    from xerolink.sandbox.xerojson import _ms_date, decimal_number, ms_date

    auckland = ZoneInfo("Pacific/Auckland")
    first = datetime(2026, 4, 5, 2, 30, tzinfo=auckland)  # the clocks go back at 3:00
    second = first.replace(fold=1)
    assert first == second and ms_date(first) != ms_date(second)
    for moment in (first, second, date(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC),
                   datetime(2026, 1, 1, 13, tzinfo=auckland), datetime(2026, 1, 1, 9)):
        assert ms_date(moment) == ms_date(moment) == _ms_date(moment), moment
    for text in ("10.50", "-0", "0.00001", "1E+3", "123456789012.34", "NaN"):
        value = Decimal(text)
        shown = decimal_number(value)
        assert str(shown) == str(float(value)), text
    with pytest.raises(ValueError, match="signaling NaN"):
        decimal_number(Decimal("sNaN"))
    with pytest.raises(ValueError, match="too many digits"):
        decimal_number(Decimal("1234567890.1234567"))

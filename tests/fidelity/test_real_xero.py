"""Real Xero's answers, as the sandbox gives them by default, and xerolink's handling of
each (docs/xero-fidelity.md names the source of every behaviour tested here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from support import (
    api,
    connect_profile,
    control,
    crm_csv_from_sandbox,
    request,
    sandbox_token,
)
from xerolink.sandbox import SandboxOptions, SandboxServer

TESTS = Path(__file__).resolve().parents[1]


def _tenant(server: SandboxServer) -> str:
    return next(iter(server.sandbox.tenants))


def _linked(cli, server, tmp_path, limit: int | None = 12) -> list[dict]:
    crm_csv_from_sandbox(server, tmp_path / "crm.csv", limit=limit)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    return cli.json("links")


# -- long id lists ----------------------------------------------------------------------
def test_a_url_past_2048_characters_is_a_plain_text_404(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    ids = ",".join(list(sandbox.sandbox.tenants[tenant].contacts)[:60])
    status, headers, body = api(base, token, tenant, "GET", f"/Invoices?ContactIDs={ids}")
    assert status == 404
    assert headers["content-type"].startswith("text/plain")
    assert body == "The resource you're looking for cannot be found"
    short = ",".join(list(sandbox.sandbox.tenants[tenant].contacts)[:40])
    assert api(base, token, tenant, "GET", f"/Invoices?ContactIDs={short}")[0] == 200


def test_refresh_splits_a_list_xero_still_finds_too_long(cli, connected, sandbox,
                                                         tmp_path) -> None:
    """Xero's limit is "about" 2,048 characters; if a server cuts shorter, a 404 on a
    multi-id request means: halve the list and ask again, never "no such record"."""
    links = _linked(cli, sandbox, tmp_path, limit=None)
    assert len(links) > 20
    sandbox.sandbox.options.max_url = 1200  # about 25 GUIDs fit
    control(sandbox.base_url, "POST", "stats/reset")
    refreshed = cli.json("refresh", "--all")
    assert refreshed["contacts"] == len({r["xero_contact_id"] for r in links})
    stats = control(sandbox.base_url, "GET", "stats")
    assert stats["by_endpoint"]["GET /api.xro/2.0/Invoices"] >= 3  # split, then read


# -- 429s ----------------------------------------------------------------------------------
def test_a_concurrent_limit_429_has_no_retry_after(sandbox) -> None:
    import threading

    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    control(base, "POST", "limits", {"concurrent": 1})
    control(base, "POST", "faults", {"latency_ms": 500})
    seen: list[dict[str, str]] = []
    threads = [threading.Thread(target=lambda: seen.append(
        api(base, token, tenant, "GET", "/Organisation")[1])) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    refused = [h for h in seen if h.get("x-rate-limit-problem") == "concurrent"]
    assert len(refused) == 1 and "retry-after" not in refused[0]


def test_minute_windows_are_fixed_per_organisation(sandbox) -> None:
    """A minute window starts at the organisation's first call and resets for all its
    calls at once; the other organisation's window is its own."""
    base = sandbox.base_url
    sandbox.sandbox.options.bulk_connections = True
    first, second = list(sandbox.sandbox.tenants)
    token = sandbox_token(base)
    control(base, "POST", "limits", {"minute": 2, "minute_window": 1.5})
    assert api(base, token, first, "GET", "/Organisation")[0] == 200
    time.sleep(0.6)
    assert api(base, token, second, "GET", "/Organisation")[0] == 200
    assert api(base, token, first, "GET", "/Organisation")[0] == 200
    status, headers, _ = api(base, token, first, "GET", "/Organisation")
    assert status == 429 and headers["x-rate-limit-problem"] == "minute"
    assert int(headers["retry-after"]) in (1, 2)
    time.sleep(1.0)  # the first organisation's window has reset; the second's has not
    assert api(base, token, first, "GET", "/Organisation")[0] == 200
    assert api(base, token, second, "GET", "/Organisation")[0] == 200
    assert api(base, token, second, "GET", "/Organisation")[0] == 429


@pytest.mark.timeout(60)
def test_two_processes_share_a_concurrency_limit_of_one(cli, connected, sandbox,
                                                        tmp_path, home) -> None:
    links = _linked(cli, sandbox, tmp_path, limit=6)
    control(sandbox.base_url, "POST", "limits", {"concurrent": 1})
    control(sandbox.base_url, "POST", "faults", {"latency_ms": 1500})
    env = {**os.environ, "XEROLINK_HOME": str(home), "XEROLINK_USER": "alice",
           "XEROLINK_TOKEN_STORE": "file", "NO_COLOR": "1"}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "xerolink", "summary", links[i]["crm"],
                               "--refresh", "--json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    results = [p.communicate(timeout=30) for p in procs]
    elapsed = time.monotonic() - started
    assert [p.returncode for p in procs] == [0, 0], results
    stats = control(sandbox.base_url, "GET", "stats")
    assert stats["status_429"] >= 1, "the limit was met"
    # one call at a time: the answered calls one after another, and a few seconds of
    # waits at most (a refresh is 6 calls: its documents' 2, the paid and credit lists' 4)
    answered = stats["total"] - stats["status_429"]
    assert elapsed < answered * 1.5 + 4, (elapsed, answered)


# -- unitdp --------------------------------------------------------------------------------
def test_unit_amounts_are_kept_to_two_places_without_unitdp(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    contact = next(c for c in sandbox.sandbox.tenants[tenant].contacts.values()
                   if c["ContactStatus"] == "ACTIVE")
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                          "Date": date.today().isoformat(), "LineAmountTypes": "NoTax",
                          "LineItems": [{"Description": "kWh", "Quantity": 1000,
                                         "UnitAmount": "0.1648"}]}]}
    status, _, plain = api(base, token, tenant, "PUT", "/Invoices", body)
    assert status == 200
    assert Decimal(str(plain["Invoices"][0]["LineItems"][0]["LineAmount"])) == Decimal("160.00")
    status, _, precise = api(base, token, tenant, "PUT", "/Invoices?unitdp=4", body)
    line = precise["Invoices"][0]["LineItems"][0]
    assert Decimal(str(line["LineAmount"])) == Decimal("164.80")
    assert Decimal(str(line["UnitAmount"])) == Decimal("0.1648")
    read = api(base, token, tenant, "GET", f"/Invoices/{precise['Invoices'][0]['InvoiceID']}")
    assert Decimal(str(read[2]["Invoices"][0]["LineItems"][0]["UnitAmount"])) == Decimal("0.16")


def test_create_invoice_and_quote_keep_four_decimal_unit_amounts(cli, connected, sandbox,
                                                                 tmp_path) -> None:
    ref = _linked(cli, sandbox, tmp_path)[0]["crm"]
    invoice = cli.json("create-invoice", ref, "--line", "Widgets;1000;0.1648")
    quote = cli.json("create-quote", ref, "--line", "Widgets;1000;0.1648")
    books = sandbox.sandbox.tenants[connected]
    assert books.invoices[invoice["document_id"]]["LineItems"][0]["LineAmount"] == \
        Decimal("164.80")
    assert books.quotes[quote["document_id"]]["LineItems"][0]["LineAmount"] == \
        Decimal("164.80")


# -- scopes and 401s ---------------------------------------------------------------------
def test_a_missing_scope_is_named_and_costs_no_refresh(cli, sandbox, home, monkeypatch,
                                                       tmp_path) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(sandbox, home, scopes="offline_access accounting.contacts.read")
    _linked(cli, sandbox, tmp_path)
    ref = cli.json("links")[0]["crm"]
    control(sandbox.base_url, "POST", "stats/reset")
    code, _, err = cli("summary", ref, "--refresh")
    assert code == 3, err
    assert "accounting.invoices.read" in err and "accounting.transactions.read" in err
    assert ('xerolink connect --scopes "offline_access accounting.contacts.read '
            'accounting.invoices.read"') in err
    assert err.count("\n") == 1 and "Traceback" not in err
    stats = control(sandbox.base_url, "GET", "stats")
    assert stats["token_grants"].get("refresh_token", 0) <= 1


def test_xeros_three_401s_say_why(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base, scopes="offline_access accounting.contacts.read")
    missing = api(base, token, tenant, "GET", "/Invoices")
    assert missing[0] == 401 and missing[2]["Detail"] == "AuthorizationUnsuccessful"
    assert api(base, token, tenant, "GET", "/Contacts?page=1")[0] == 200
    bogus = api(base, {"access_token": "not-a-token"}, tenant, "GET", "/Contacts")
    assert bogus[0] == 401 and bogus[2]["Detail"] == "AuthenticationUnsuccessful"
    control(base, "POST", "clock", {"advance_seconds": 3600})
    expired = api(base, token, tenant, "GET", "/Contacts")
    assert expired[0] == 401 and expired[2]["Detail"].startswith("TokenExpired")


def test_a_granular_only_app_refuses_broad_scopes_and_accepts_xerolinks(cli, home,
                                                                        monkeypatch) -> None:
    from xerolink.xero.oauth import DEFAULT_SCOPES

    server = SandboxServer(SandboxOptions(seed=3, contacts=10, granular_only=True))
    server.start()
    try:
        with pytest.raises(Exception, match="code"):
            sandbox_token(server.base_url, scopes="offline_access accounting.transactions")
        token = sandbox_token(server.base_url, scopes=DEFAULT_SCOPES)
        tenant = _tenant(server)
        for path in ("/Contacts?page=1", "/Invoices?page=1", "/Quotes", "/Organisation"):
            assert api(server.base_url, token, tenant, "GET", path)[0] == 200, path
    finally:
        server.stop()


# -- a server without Organisation and Quotes -------------------------------------------
def test_without_organisation_and_quotes_the_rest_works(env, tmp_path) -> None:
    server = SandboxServer(SandboxOptions(seed=9, contacts=30,
                                          without=frozenset({"organisation", "quotes"})))
    server.start()
    try:
        connected = env.connect(server.base_url)
        assert connected.returncode == 0, connected.stderr
        assert "could not read the organisation's settings" in connected.stderr
        crm_csv_from_sandbox(server, tmp_path / "crm.csv", limit=8)
        assert env.run("crm", "import", str(tmp_path / "crm.csv")).returncode == 0
        assert env.run("link", "--auto").returncode == 0
        ref = json.loads(env.run("links", "--json").stdout)[0]["crm"]
        name = next(iter(server.sandbox.tenants[_tenant(server)].contacts.values()))["Name"]
        assert env.run("search", name.split()[0]).returncode == 0
        csv = tmp_path / "one.csv"
        csv.write_text("id,first_name,last_name,email\nnew1,Nova,Brandt,nova@example.com\n")
        assert env.run("crm", "import", str(csv)).returncode == 0
        assert env.run("create-contact", "contact:new1", "--yes").returncode == 0
        assert env.run("create-invoice", ref, "--line", "Work;2;50").returncode == 0
        summary = env.run("summary", ref, "--refresh", "--json")
        assert summary.returncode == 0, summary.stderr
        report = json.loads(summary.stdout)
        assert report["open_quotes"]["available"] is False
        assert report["open_quotes"]["count"] is None
        assert report["outstanding_invoices"]["available"] is True
        assert report["outstanding_invoices"]["total"] is None  # no base currency known
        assert report["outstanding_invoices"]["by_currency"]
        assert report["base_currency"] is None and len(report["notes"]) == 2
        human = env.run("summary", ref)
        assert human.returncode == 0
        assert "unavailable" in human.stdout and "Total (base unknown)" in human.stdout
    finally:
        server.stop()


# -- the daily allowance ------------------------------------------------------------------
def test_a_bulk_job_larger_than_todays_allowance_is_refused_up_front(cli, home, monkeypatch,
                                                                     tmp_path) -> None:
    server = SandboxServer(SandboxOptions(seed=12, contacts=400, day_limit=1000))
    server.start()
    try:
        monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
        tenant = connect_profile(server, home)
        links = _linked(cli, server, tmp_path, limit=None)
        assert len(links) > 300
        token = sandbox_token(server.base_url)
        control(server.base_url, "POST", "limits", {"minute": 100_000})
        for _ in range(1000):  # another job of the same app spends today's allowance
            status, headers, _ = api(server.base_url, token, tenant, "GET", "/Currencies")
            assert status == 200
            if int(headers["x-daylimit-remaining"]) <= 10:
                break
        # A single contact's refresh: six calls (its open documents' two, the paid and
        # credit lists' four), and the remainder they report is kept.
        assert cli("summary", links[0]["crm"], "--refresh")[0] == 0
        control(server.base_url, "POST", "stats/reset")
        code, _, err = cli("refresh", "--all")
        assert code == 6, err
        asked = re.search(r"needs at least (\d+) Xero calls, but only (\d+) of today's "
                          "allowance", err)
        assert asked and int(asked[1]) > int(asked[2]), err
        assert control(server.base_url, "GET", "stats")["total"] == 0, "not one call made"
        code, out, _ = cli("status")
        assert f"{asked[2]} today" in out
        code, _, err = cli("refresh", "--all", "--force")
        assert code == 6 and "daily call limit" in err  # Xero itself says no, fast
    finally:
        server.stop()


# -- the rest of real Xero's answers ------------------------------------------------------
def test_unknown_ids_are_plain_text_and_bad_where_is_a_query_parse_exception(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    status, headers, body = api(base, token, tenant, "GET",
                                "/Invoices/00000000-0000-0000-0000-000000000000")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert body == "The resource you're looking for cannot be found"  # a sentence, no page
    status, _, body = api(base, token, tenant, "GET",
                          "/Invoices?where=" + "Status%3D%3D%22AUTHORISED")
    assert status == 400 and body["ErrorNumber"] == 16
    assert body["Type"] == "QueryParseException"


def test_put_only_creates_and_post_updates(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    invoice = next(i for i in sandbox.sandbox.tenants[tenant].invoices.values()
                   if i["Status"] == "AUTHORISED")
    change = {"Invoices": [{"InvoiceID": invoice["InvoiceID"], "Reference": "PO-9"}]}
    status, _, body = api(base, token, tenant, "PUT", "/Invoices", change)
    assert status == 400 and body["Type"] == "ValidationException"
    assert api(base, token, tenant, "POST", "/Invoices", change)[0] == 200
    assert invoice["Reference"] == "PO-9"


def test_one_date_header_from_the_sandbox_clock(sandbox) -> None:
    import http.client
    from urllib.parse import urlsplit

    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    control(base, "POST", "clock", {"advance_seconds": 600})
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/api.xro/2.0/Organisation", headers={
        "Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": tenant})
    response = conn.getresponse()
    response.read()
    dates = [v for k, v in response.getheaders() if k.lower() == "date"]
    conn.close()
    assert len(dates) == 1
    skew = parsedate_to_datetime(dates[0]).timestamp() - time.time()
    assert 590 <= skew <= 610


def test_the_custom_connection_needs_no_tenant_header(sandbox) -> None:
    import base64

    apps = control(sandbox.base_url, "GET", "apps")["custom_connection"]
    basic = base64.b64encode(f"{apps['client_id']}:{apps['client_secret']}".encode()).decode()
    status, _, data = request(sandbox.base_url, "POST", "/connect/token",
                              body=b"grant_type=client_credentials",
                              headers={"Authorization": f"Basic {basic}",
                                       "Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(data)["access_token"]
    status, _, _ = request(sandbox.base_url, "GET", "/api.xro/2.0/Organisation",
                           headers={"Authorization": f"Bearer {token}"})
    assert status == 200

"""The forms live Xero's answers take (recorded answers in Xero's SDK repositories and
issue trackers; docs/xero-fidelity.md, "Answers"), as the sandbox gives them, by
default where Xero does and by a fault where it varies, and xerolink through each."""

from __future__ import annotations

import json
import re

import pytest

from support import control, crm_csv_from_sandbox, request, sandbox_token


def _tenant(server) -> str:
    return next(iter(server.sandbox.tenants))


def _raw(server, token, path: str, tenant: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
    if tenant is not None:
        headers["xero-tenant-id"] = tenant
    return request(server.base_url, "GET", f"/api.xro/2.0{path}", headers=headers)


def _linked(cli, server, tmp_path, limit: int | None = 12) -> list[dict]:
    crm_csv_from_sandbox(server, tmp_path / "crm.csv", limit=limit)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    return cli.json("links")


# -- the sandbox's default forms: live Xero's -------------------------------------------
def test_answers_are_crlf_pretty_with_escaped_dates_and_an_offsetless_envelope(sandbox
                                                                              ) -> None:
    token = sandbox_token(sandbox.base_url)
    status, _, body = _raw(sandbox, token, "/Invoices?page=1", _tenant(sandbox))
    assert status == 200
    assert body.startswith(b'{\r\n  "Id": ') and b"\n" not in body.replace(b"\r\n", b"")
    assert re.search(rb'"DateTimeUTC": "\\/Date\(\d+\)\\/"', body)
    assert re.search(rb'"Date": "\\/Date\(\d+\+0000\)\\/"', body)
    assert b'"/Date(' not in body
    data = json.loads(body)
    assert data["pagination"]["page"] == 1 and data["Invoices"][0]["CurrencyRate"]


def test_403s_for_a_tenant_take_both_cases_and_unknown_ids_are_text_html(sandbox) -> None:
    token = sandbox_token(sandbox.base_url)
    status, _, body = _raw(sandbox, token, "/Organisation")  # no xero-tenant-id
    assert status == 403
    assert set(json.loads(body)) == {"title", "status", "detail", "instance"}
    status, _, body = _raw(sandbox, token, "/Organisation",
                           "00000000-0000-0000-0000-000000000001")
    assert status == 403 and json.loads(body)["Detail"] == "AuthenticationUnsuccessful"
    status, headers, body = _raw(sandbox, token, "/Quotes/00000000-0000-0000-0000-000000000000",
                                 _tenant(sandbox))
    assert status == 404 and headers["content-type"].startswith("text/html")


# -- forms that vary, by fault -------------------------------------------------------------
def test_faults_give_the_older_forms(sandbox) -> None:
    base, tenant = sandbox.base_url, _tenant(sandbox)
    token = sandbox_token(base)
    control(base, "POST", "faults", {"no_pagination": True, "no_currency_rate": True,
                                     "dates_without_offset": True, "compact_json": True})
    _, _, body = _raw(sandbox, token, "/Invoices?page=1", tenant)
    data = json.loads(body)
    assert "pagination" not in data and b"\r\n" not in body
    base_currency = sandbox.sandbox.tenants[tenant].base_currency
    for invoice in data["Invoices"]:
        assert ("CurrencyRate" in invoice) == (invoice["CurrencyCode"] != base_currency)
    assert re.fullmatch(r"/Date\(\d+\)/", data["Invoices"][0]["Date"])


@pytest.mark.parametrize("kind", ["html", "empty", "xml"])
def test_a_bad_request_fault_answers_400_that_is_not_json(sandbox, kind) -> None:
    token = sandbox_token(sandbox.base_url)
    control(sandbox.base_url, "POST", "faults", {"bad_request_rate": 1.0,
                                                 "bad_request_body": kind})
    status, _, body = _raw(sandbox, token, "/Organisation", _tenant(sandbox))
    assert status == 400
    assert {"html": body.startswith(b"<!DOCTYPE html>"), "empty": body == b"",
            "xml": body.startswith(b"<ApiException")}[kind]


# -- xerolink through each ------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "said"), [("html", "a web page"),
                                            ("empty", "an empty answer"),
                                            ("xml", "The request could not be processed")])
def test_summary_refresh_and_create_invoice_through_a_400_that_is_not_json(
        cli, connected, sandbox, tmp_path, kind, said) -> None:
    """It exited 1 with "unexpected JSONDecodeError": xero-python parses the body to
    give the status. Now: exit 6, one line with the status and what the body said."""
    links = _linked(cli, sandbox, tmp_path)
    control(sandbox.base_url, "POST", "faults", {"bad_request_rate": 1.0,
                                                 "bad_request_body": kind})
    for args in (["summary", links[0]["crm"], "--refresh"],
                 ["create-invoice", links[0]["crm"], "--line", "Work;1;100"]):
        code, _, err = cli(*args)
        assert code == 6, err
        assert "HTTP 400" in err and said in err, err
        assert err.count("\n") == 1 and "JSONDecodeError" not in err


def test_create_invoice_gives_the_messages_of_an_xml_validation_exception(
        cli, connected, sandbox, tmp_path) -> None:
    links = _linked(cli, sandbox, tmp_path)
    control(sandbox.base_url, "POST", "faults", {"xml_errors": True})
    code, _, err = cli("create-invoice", links[0]["crm"], "--line", "Work;1;100;999")
    assert code == 6, err
    assert "Account code '999' is not a valid code" in err and err.count("\n") == 1


@pytest.mark.parametrize("answer", ["404", "400-html", "414"])
def test_refresh_splits_an_id_list_whatever_too_long_looks_like(cli, connected, sandbox,
                                                               tmp_path, answer) -> None:
    links = _linked(cli, sandbox, tmp_path, limit=None)
    sandbox.sandbox.options.max_url = 1200  # about 25 GUIDs fit
    sandbox.sandbox.options.long_url_answer = answer
    refreshed = cli.json("refresh", "--all")
    assert refreshed["contacts"] == len({r["xero_contact_id"] for r in links})


def test_summaries_are_the_same_in_the_older_forms(cli, connected, sandbox, tmp_path) -> None:
    from xerolink.services.summary import FIGURES

    links = _linked(cli, sandbox, tmp_path)

    def figures() -> list[dict]:
        answers = [cli.json("summary", row["crm"], "--refresh") for row in links[:6]]
        return [{name: answer[name] for name in FIGURES} for answer in answers]

    before = figures()
    assert any(f["open_quotes"]["count"] or f["outstanding_invoices"]["count"] for f in before)
    control(sandbox.base_url, "POST", "faults", {"no_pagination": True,
                                                 "no_currency_rate": True,
                                                 "dates_without_offset": True})
    assert figures() == before


def test_a_stopped_server_is_named_not_blamed_on_the_read_timeout(cli, connected, sandbox,
                                                                 tmp_path) -> None:
    links = _linked(cli, sandbox, tmp_path)
    port = sandbox.base_url.rsplit(":", 1)[1]
    sandbox.stop()
    code, _, err = cli("summary", links[0]["crm"], "--refresh")
    assert code == 7, err
    assert f"nothing is listening at 127.0.0.1:{port}" in err
    assert "read_timeout" not in err and err.count("\n") == 1

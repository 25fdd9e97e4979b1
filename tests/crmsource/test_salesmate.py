"""Salesmate as a live CRM source, end to end through the real commands against the
sandbox's Salesmate slice: connect, pull (first, incremental, deletions), push (only
changes, dry run, twice), and every refusal leaving the store as it was."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support import connect_profile, request, running_sandbox
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer
from xerolink.sandbox.salesmate import stamp


def modified_now() -> str:
    """A Salesmate modification time of this moment: what a person's edit now stamps."""
    return stamp(datetime.now(UTC))


def control(server: SandboxServer, method: str, path: str, data: dict[str, Any] | None = None
            ) -> Any:
    """The sandbox's Salesmate control API (``/_sandbox/salesmate...``)."""
    return sandbox_control(server.base_url, method, f"salesmate{path}",
                           data if method == "POST" else None)


@pytest.fixture
def crm_sandbox(shared_sandboxes) -> Any:
    return shared_sandboxes.get(crm="salesmate")


@pytest.fixture
def salesmate(crm_sandbox, home, monkeypatch, cli) -> SandboxServer:
    """A profile connected to the sandbox's Xero organisation and its Salesmate slice."""
    connect_profile(crm_sandbox, home)
    token = control(crm_sandbox, "GET", "")["access_token"]
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
    code, out, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                         "--salesmate-url", crm_sandbox.base_url)
    assert code == 0, err
    assert token not in out + err
    return crm_sandbox


def calls(server: SandboxServer) -> dict[str, int]:
    return control(server, "GET", "")["calls"]


def test_connect_checks_the_token_and_keeps_it_out_of_every_output(salesmate, cli, home):
    token = control(salesmate, "GET", "")["access_token"]
    status = cli.json("status")
    assert status["crm_source"]["source"] == "salesmate"
    assert status["crm_source"]["account"] == "demo"
    _, out, err = cli("status", "--debug")
    assert "Salesmate (demo.salesmate.io" in out
    files = "".join(p.read_text(errors="replace") for p in Path(home).rglob("*")
                    if p.is_file() and p.suffix != ".db")
    assert token not in out + err
    assert token in files  # kept in the (opt-in) token file, nowhere else
    assert token.encode() not in (Path(home) / "profiles/default/xerolink.db").read_bytes()


def test_first_pull_reads_every_kind_and_refs_are_the_salesmate_ids(salesmate, cli):
    control(salesmate, "POST", "/stats/reset")
    report = cli.json("crm", "pull")
    sizes = control(salesmate, "GET", "")["records"]
    for kind, plural in (("contact", "contacts"), ("company", "companies"),
                         ("deal", "deals")):
        assert report[plural]["full"] is True
        assert report[plural]["written"] == sizes[kind]
        assert report[plural]["calls"] <= math.ceil(sizes[kind] / 250) + 3
    contacts = cli.json("crm", "list", "contacts")
    assert {c["ref"] for c in contacts} == {f"contact:{i}" for i in range(1, 61)}
    deal = cli.json("crm", "show", "deal:1")
    assert deal["primary_contact_id"]
    # a second pull with nothing changed: two calls per kind, nothing written
    control(salesmate, "POST", "/stats/reset")
    again = cli.json("crm", "pull")
    for plural in ("contacts", "companies", "deals"):
        assert again[plural]["written"] == 0 and again[plural]["full"] is False
        assert again[plural]["calls"] <= 2
    assert sum(calls(salesmate).values()) == 6


def test_incremental_pull_writes_exactly_the_edited_records(salesmate, cli):
    cli.json("crm", "pull")
    touched = control(salesmate, "POST", "/touch", {"kind": "contact", "count": 7,
                                                    "offset": 10})["touched"]
    report = cli.json("crm", "pull")
    assert report["contacts"]["written"] == 7
    assert report["contacts"]["calls"] <= 2
    shown = cli.json("crm", "show", f"contact:{touched[0]}")
    assert shown["name"].split()[0].endswith("*")


def test_deleted_records_are_marked_gone_and_links_survive(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    links = {row["crm"] for row in cli.json("links")}
    victim = sorted(links, key=lambda r: int(r.split(":")[1]))[0]
    status, _, _ = request(salesmate.base_url, "DELETE",
                           f"/apis/contact/v4/{victim.split(':')[1]}",
                           headers={"accessToken": control(salesmate, "GET", "")["access_token"],
                                    "x-linkname": "demo.salesmate.io"})
    assert status == 200
    report = cli.json("crm", "pull")
    assert report["contacts"]["gone"] == [victim]
    listed = {c["ref"]: c for c in cli.json("crm", "list", "contacts")}
    assert listed[victim]["gone"] is True
    assert victim in {row["crm"] for row in cli.json("links")}
    _, out, _ = cli("crm", "list", "contacts")
    assert "Gone" in out


def test_push_writes_only_changes_and_a_second_push_writes_nothing(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    for figure, field in (("xero_contact", "textCustomField1"), ("xero_link", "urlCustomField1"),
                          ("outstanding_invoices", "decimalCustomField1"),
                          ("overdue_invoices_count", "numberCustomField1")):
        assert cli("config", "set", f"salesmate.fields.{figure}", field)[0] == 0
    control(salesmate, "POST", "/stats/reset")
    dry = cli.json("crm", "push", "--dry-run")
    assert dry["dry_run"] is True and dry["changes"]
    assert not any(k.startswith("PUT") for k in calls(salesmate))
    first = cli.json("crm", "push")
    linked = len(cli.json("links"))
    assert first["records_written"]["contact"] == linked
    puts = calls(salesmate).get("PUT /apis/contact/v4/{id}", 0)
    assert puts == linked
    some = first["changes"][0]["record"].split(":")[1]
    held = control(salesmate, "GET", f"/records/contact/{some}")["custom"]
    assert held["textCustomField1"] and held["urlCustomField1"].startswith("http")
    control(salesmate, "POST", "/stats/reset")
    second = cli.json("crm", "push")
    assert second["records_written"]["contact"] == 0 and second["changes"] == []
    assert calls(salesmate) == {}
    # pulling the pushed records back changes nothing for the next push either
    back = cli.json("crm", "pull")
    assert cli.json("crm", "push")["changes"] == []
    # nor are they new or changed: only their modification time moved, by xerolink
    assert back["contacts"]["read"] >= linked and back["contacts"]["written"] == 0, back
    assert cli.json("crm", "pull")["contacts"]["written"] == 0, "and the time was kept"
    touched = control(salesmate, "POST", "/touch", {"kind": "contact", "count": 2})["touched"]
    assert cli.json("crm", "pull")["contacts"]["written"] == len(touched) == 2


def test_push_after_a_summary_change_writes_only_that_contact(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.outstanding_invoices", "decimalCustomField1")
    cli.json("crm", "push")
    link = cli.json("links")[0]
    created = cli.json("create-invoice", link["crm"], "--line", "Work;1;100")
    assert created
    # approve it at Xero so that it counts as outstanding, then read that contact again
    tenant = next(iter(salesmate.sandbox.tenants.values()))
    tenant.invoices[created["invoice_id"] if "invoice_id" in created
                    else created["document_id"]]["Status"] = "AUTHORISED"
    cli.json("refresh", link["crm"])
    report = cli.json("crm", "push")
    assert [c["record"] for c in report["changes"]] == [link["crm"]]


@pytest.mark.parametrize("fault", [
    {"status": 429, "count": 20, "retry_after": "0"},
    {"status": 503, "count": 20},
])
def test_rate_limits_and_server_errors_fail_cleanly_and_change_nothing(salesmate, cli, fault):
    cli.json("crm", "pull")
    before = cli.json("crm", "list", "contacts")
    control(salesmate, "POST", "/touch", {"kind": "contact", "count": 3})
    control(salesmate, "POST", "/faults", fault)
    code, _, err = cli("crm", "pull")
    assert code == 9
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert cli.json("crm", "list", "contacts") == before


def test_a_few_429s_are_waited_out(salesmate, cli):
    control(salesmate, "POST", "/faults", {"status": 429, "count": 2, "retry_after": "0"})
    report = cli.json("crm", "pull")
    assert report["contacts"]["written"] == 60


def test_wrong_token_and_unknown_linkname_are_refused_and_nothing_is_kept(
        crm_sandbox, home, cli, monkeypatch):
    connect_profile(crm_sandbox, home)
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", "not-the-token-at-all")
    code, out, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                         "--salesmate-url", crm_sandbox.base_url)
    assert code == 8 and "refused the access token" in err
    assert "not-the-token-at-all" not in out + err
    token = control(crm_sandbox, "GET", "")["access_token"]
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
    code, out, err = cli("crm", "connect", "salesmate", "--linkname", "acme",
                         "--salesmate-url", crm_sandbox.base_url)
    assert code == 8 and "linkname" in err and len(err.strip().splitlines()) == 1
    assert cli.json("status")["crm_source"]["source"] is None
    code, _, err = cli("crm", "pull")
    assert code == 3 and "crm connect" in err
    assert not (Path(home) / "profiles/default/tokens.json").read_text().count(token)


def test_token_from_stdin_and_disconnect_keeps_records(crm_sandbox, home, cli, monkeypatch):
    import io

    connect_profile(crm_sandbox, home)
    token = control(crm_sandbox, "GET", "")["access_token"]
    monkeypatch.delenv("XEROLINK_SALESMATE_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "https://Demo.salesmate.io",
                         "--salesmate-url", crm_sandbox.base_url, "--token-stdin")
    assert code == 0, err
    cli.json("crm", "pull")
    gone = cli.json("crm", "disconnect")
    assert gone["disconnected"] == "salesmate"
    assert len(cli.json("crm", "list", "contacts")) == 60
    assert token not in (Path(home) / "profiles/default/tokens.json").read_text()


def test_pull_at_10000_contacts_stays_within_the_call_budget(tmp_path, monkeypatch, cli, home):
    with running_sandbox(seed=3, contacts=200, crm="salesmate",
                         crm_contacts=10_000) as server:
        connect_profile(server, home)
        token = control(server, "GET", "")["access_token"]
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", token)
        assert cli("crm", "connect", "salesmate", "--linkname", "demo", "--salesmate-url",
                   server.base_url)[0] == 0
        control(server, "POST", "/stats/reset")
        first = cli.json("crm", "pull")
        assert first["contacts"]["calls"] <= math.ceil(10_000 / 250) + 3
        assert first["contacts"]["written"] == 10_000
        for kind in ("companies", "deals"):
            total = control(server, "GET", "")["records"][kind[:-1] if kind == "deals"
                                                         else "company"]
            assert first[kind]["calls"] <= math.ceil(total / 250) + 3
        touched = control(server, "POST", "/touch", {"kind": "contact", "count": 50,
                                                     "offset": 4000})["touched"]
        second = cli.json("crm", "pull")
        for kind in ("contacts", "companies", "deals"):
            assert second[kind]["calls"] <= 2, second
        assert second["contacts"]["written"] == 50
        assert len(touched) == 50


def test_companies_and_deals_get_their_figures_and_unlinked_contacts_are_cleared(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")
    cli("config", "set", "salesmate.company_fields.outstanding_invoices", "decimalCustomField1")
    cli("config", "set", "salesmate.company_fields.outstanding_invoices_count",
        "numberCustomField1")
    cli("config", "set", "salesmate.deal_fields.overdue_invoices", "decimalCustomField1")
    offered = cli.json("deal", "suggest", "deal:1")
    chosen = [d["document_id"] for d in offered if d["type"] == "invoice"][:2]
    if chosen:
        cli.json("deal", "attach", "deal:1", *chosen)
    report = cli.json("crm", "push")
    assert report["records_written"]["company"] > 0
    company = next(c for c in report["changes"] if c["record"].startswith("company:"))
    held = control(salesmate, "GET", f"/records/company/{company['record'].split(':')[1]}")
    assert held["custom"]["decimalCustomField1"] is not None
    assert held["owner"]  # the required fields were sent back unchanged
    if chosen:
        assert report["records_written"]["deal"] == 1
        deal = control(salesmate, "GET", "/records/deal/1")
        assert deal["pipeline"] == "Sales" and deal["custom"]["decimalCustomField1"]
    # unlink one contact: the next push clears what xerolink wrote there
    link = cli.json("links")[0]
    cli.json("unlink", link["crm"])
    cleared = cli.json("crm", "push")
    change = next(c for c in cleared["changes"] if c["record"] == link["crm"])
    assert change["to"] == "" and change["from"]
    held = control(salesmate, "GET", f"/records/contact/{link['crm'].split(':')[1]}")
    assert held["custom"]["textCustomField1"] is None


def test_push_without_chosen_fields_says_how_and_writes_nothing(salesmate, cli):
    cli.json("crm", "pull")
    code, _, err = cli("crm", "push")
    assert code == 0 and "config set salesmate.fields" in err
    assert not any(k.startswith("PUT") for k in calls(salesmate))


def test_push_skips_contacts_never_read_from_xero(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli("config", "set", "salesmate.fields.outstanding_invoices", "decimalCustomField1")
    report = cli.json("crm", "push")
    assert report["not_read_from_xero"]["contact"] == len(cli.json("links"))
    assert report["records_written"]["contact"] == 0
    assert any("refresh --all" in n for n in report["notes"])


@pytest.mark.parametrize("key,value", [
    ("salesmate.fields.open_quotes", "not a field!"),
    ("salesmate.fields.open_quotes", "firstName"),  # a standard field: people's data
    ("salesmate.fields.open_quotes", "email"),
    ("salesmate.deal_fields.open_quotes", "owner"),
    ("salesmate.fields.open_quotes", "nosuchField9"),
    ("salesmate.fields.no_such_figure", "textCustomField1"),
    ("salesmate.company_fields.xero_link", "urlCustomField1"),
])
def test_push_field_settings_are_checked(cli, key, value):
    code, _, err = cli("config", "set", key, value)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert key not in {r["key"] for r in cli.json("config", "list")}, "nothing was set"


def test_two_figures_in_one_field_are_refused(salesmate, cli):
    cli.json("crm", "pull")
    cli("config", "set", "salesmate.fields.open_quotes", "decimalCustomField1")
    cli("config", "set", "salesmate.fields.overdue_bills", "decimalCustomField1")
    code, _, err = cli("crm", "push")
    assert code == 2 and "same field" in err


def test_the_slice_keeps_salesmates_limits(crm_sandbox):
    token = control(crm_sandbox, "GET", "")["access_token"]
    headers = {"accessToken": token, "x-linkname": "demo.salesmate.io",
               "Content-Type": "application/json"}
    body = {"displayingFields": ["contact.id"], "moduleId": 1, "reportType": "get_data",
            "filterQuery": {"group": {"operator": "AND", "rules": []}},
            "sort": {"fieldName": "contact.id", "order": "asc"}}
    for query, sort, expected in (("rows=251&from=0", "contact.id", 400),
                                  ("rows=250&from=0", "contact.email", 400),
                                  ("rows=250&from=0", "contact.lastName", 200)):
        status, _, raw = request(crm_sandbox.base_url, "POST",
                                 f"/apis/contact/v4/search?{query}",
                                 body=json.dumps({**body, "sort": {"fieldName": sort}}).encode(),
                                 headers=headers)
        assert status == expected, raw
        assert json.loads(raw)["Status"] == ("success" if expected == 200 else "failure")
    status, _, raw = request(crm_sandbox.base_url, "PUT", "/apis/contact/v4/1",
                             body=json.dumps({"firstName": "X"}).encode(), headers=headers)
    assert status == 400 and b"lastName" in raw


def test_the_slices_calls_take_its_own_latency_not_xeros_as_well():
    """Xero's latency (``latency_ms``) is Xero's: a Salesmate call sleeps only the
    slice's (``crm_latency_ms``). Both at 150 ms once made each Salesmate call take
    300 ms, which halved the benchmark's first push (13 records/s, not 26)."""
    with running_sandbox(crm="salesmate", latency_ms=1500, crm_latency_ms=100) as server:
        headers = {"accessToken": control(server, "GET", "")["access_token"],
                   "x-linkname": "demo.salesmate.io"}
        started = time.monotonic()
        status, _, raw = request(server.base_url, "GET", "/apis/contact/v4/1",
                                 headers=headers)
        seconds = time.monotonic() - started
    assert status == 200 and json.loads(raw)["Status"] == "success", raw
    assert 0.1 <= seconds < 1.0, f"{seconds:.2f} s: Xero's 1.5 s latency was slept too"


def test_doctor_checks_the_crm_token_is_still_here(salesmate, cli, home):
    _, out, _ = cli("doctor", "--offline", "--json")
    check = next(c for c in json.loads(out) if c["check"] == "crm source")
    assert check["status"] == "ok" and "demo" in check["detail"]
    tokens = Path(home) / "profiles/default/tokens.json"
    data = json.loads(tokens.read_text())
    data.pop("crm:salesmate:demo")
    tokens.write_text(json.dumps(data))
    code, out, _ = cli("doctor", "--offline", "--json")
    check = next(c for c in json.loads(out) if c["check"] == "crm source")
    assert code == 10 and check["status"] == "problem" and "crm connect" in check["action"]
    code, _, err = cli("crm", "pull")
    assert code == 3 and "crm connect salesmate" in err


def test_a_full_pull_reads_everything_again_and_writes_only_what_changed(salesmate, cli):
    cli.json("crm", "pull")
    control(salesmate, "POST", "/touch", {"kind": "deal", "count": 1})  # its time only
    control(salesmate, "POST", "/edit", {"kind": "deal", "id": "2",
                                         "fields": {"title": "Edited"}})
    report = cli.json("crm", "pull", "--full")
    assert report["contacts"]["full"] and report["contacts"]["read"] == 60
    assert report["contacts"]["written"] == 0 and report["deals"]["written"] == 1
    assert cli.json("crm", "show", "deal:2")["title"] == "Edited"


def test_show_labels_the_pushed_fields_with_their_figures(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")
    ref = cli.json("crm", "push")["changes"][0]["record"]
    shown = cli.json("crm", "show", ref)
    assert shown["crm_fields"]["textCustomField1"]
    _, out, _ = cli("crm", "show", ref)
    assert "Salesmate textCustomField1 (xero_contact)" in out


def test_a_record_salesmate_refuses_is_reported_and_the_others_are_written(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    linked = sorted((row["crm"] for row in cli.json("links")),
                    key=lambda r: int(r.split(":")[1]))
    assert len(linked) > 3
    victim = linked[2]
    record = salesmate.sandbox.salesmate.records["contact"][int(victim.split(":")[1])]
    record["lastName"] = ""  # Salesmate requires it on every update
    record["lastModifiedAt"] = modified_now()
    cli.json("crm", "pull", "--full")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")
    code, out, err = cli("crm", "push", "--json")
    assert code == 8 and "refused 1 record" in err and len(err.strip().splitlines()) == 1
    report = json.loads(out)
    assert [r["record"] for r in report["refused"]] == [victim]
    assert report["records_written"]["contact"] == len(linked) - 1
    # the next push tries only the refused one again
    code, out, _ = cli("crm", "push", "--json")
    assert code == 8 and [c["record"] for c in json.loads(out)["refused"]] == [victim]
    assert json.loads(out)["records_written"]["contact"] == 0


def test_another_account_cannot_land_on_the_records_of_the_first(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("crm", "disconnect")
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "other",
                       "--salesmate-url", salesmate.base_url)
    assert code == 2 and "XEROLINK_PROFILE" in err and "demo" in err
    # the same account again carries on where it stopped
    assert cli("crm", "connect", "salesmate", "--linkname", "demo", "--salesmate-url",
               salesmate.base_url)[0] == 0
    assert cli.json("crm", "pull")["contacts"]["written"] == 0


def test_the_python_api_pulls_and_pushes_without_printing(salesmate, cli, capsys):
    import xerolink

    capsys.readouterr()
    with xerolink.open() as xl:
        pulled = xl.crm_pull()
        xl.auto_link()
        xl.refresh_all()
        dry = xl.crm_push(dry_run=True)
        state = xl.crm_source_state()
    assert capsys.readouterr() == ("", "")
    assert pulled.kinds["contact"].written == 60 and pulled.to_json()["contacts"]["full"]
    assert dry.dry_run and dry.notes  # no fields chosen yet: it says how
    assert state.to_json()["records"]["contact"]["live"] == 60
    again = cli.json("crm", "pull")  # the CLI's --json is the same document
    assert set(again) == set(pulled.to_json()) and again["contacts"]["written"] == 0
    assert set(again["contacts"]) == set(pulled.to_json()["contacts"])


def test_salesmate_text_is_printed_literally(salesmate, cli):
    record = salesmate.sandbox.salesmate.records["contact"][1]
    record["firstName"] = "[bold red]Evil[/bold red]\x1b[2J\u202e"
    salesmate.sandbox.salesmate.records["contact"][2]["firstName"] = "=HYPERLINK(\"http://x\")"
    cli.json("crm", "pull")
    _, out, _ = cli("crm", "show", "contact:1")
    assert "[bold red]Evil[/bold red]" in out
    assert "\x1b" not in out and "\u202e" not in out
    _, out, _ = cli("crm", "list", "contacts", "--csv")
    assert "'=HYPERLINK" in out  # a spreadsheet shows it, never runs it


def test_a_push_stopped_by_salesmate_resumes_where_it_stopped(salesmate, cli, monkeypatch):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")
    linked = len(cli.json("links"))
    # Salesmate starts failing after the third update
    real_update = salesmate.sandbox.salesmate._update
    done: list[int] = []

    def failing(kind, record_id, body, now):
        if len(done) >= 3:
            return 503, b'{"Status": "failure"}', {"Content-Type": "application/json"}
        done.append(record_id)
        return real_update(kind, record_id, body, now)

    monkeypatch.setattr(salesmate.sandbox.salesmate, "_update", failing)
    code, _, err = cli("crm", "push")
    assert code == 9 and len(err.strip().splitlines()) == 1
    monkeypatch.setattr(salesmate.sandbox.salesmate, "_update", real_update)
    report = cli.json("crm", "push")
    assert report["records_written"]["contact"] == linked - 3
    assert f"contact:{done[0]}" not in {c["record"] for c in report["changes"]}


def test_a_number_salesmate_writes_its_own_way_is_not_written_again(salesmate, cli):
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    cli("config", "set", "salesmate.fields.outstanding_invoices", "decimalCustomField1")
    first = cli.json("crm", "push")["changes"][0]
    cli.json("crm", "pull")  # the pushed records, read back
    record = salesmate.sandbox.salesmate.records["contact"][int(first["record"].split(":")[1])]
    record["custom"]["decimalCustomField1"] = first["to"] + "0000000"  # decimal(18,9)
    record["lastModifiedAt"] = modified_now()
    assert cli.json("crm", "pull")["contacts"]["written"] == 1
    assert cli.json("crm", "push")["changes"] == []


def test_an_account_that_refuses_deal_participants_still_pulls_its_deals(salesmate, cli,
                                                                         monkeypatch):
    from xerolink.sandbox import salesmate as slice_module

    standard = {**slice_module.STANDARD,
                "deal": slice_module.STANDARD["deal"] - {"participants"}}
    monkeypatch.setattr(slice_module, "STANDARD", standard)
    control(salesmate, "POST", "/stats/reset")
    report = cli.json("crm", "pull")
    deals = control(salesmate, "GET", "")["records"]["deal"]
    assert report["deals"]["written"] == deals
    assert report["deals"]["calls"] == 2  # the refused ask, then without participants
    assert cli.json("crm", "show", "deal:1")["participant_ids"] == []
    assert cli.json("crm", "show", "deal:1")["primary_contact_id"]
    assert cli.json("crm", "pull")["deals"]["calls"] == 2  # remembered: not asked again


@pytest.mark.parametrize("entry", [{"secret": 5}, "text", [1], {"secret": None}])
def test_a_salesmate_entry_of_the_wrong_shape_is_a_damaged_token_file(salesmate, cli, home,
                                                                     entry):
    tokens = Path(home) / "profiles/default/tokens.json"
    data = json.loads(tokens.read_text())
    data["crm:salesmate:demo"] = entry
    tokens.write_text(json.dumps(data))
    code, _, err = cli("crm", "pull")
    assert code == 3, err
    assert "damaged" in err and "Traceback" not in err


def test_a_token_file_that_is_a_list_stops_crm_pull_cleanly(salesmate, cli, home):
    (Path(home) / "profiles/default/tokens.json").write_text("[1, 2]")
    code, _, err = cli("crm", "pull")
    assert code == 3 and "damaged" in err, err

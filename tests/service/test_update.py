"""``crm update``: one pass of pull, link, refresh and push, through the real command
against the sandbox and its Salesmate slice, with the calls counted by both."""

from __future__ import annotations

from decimal import Decimal

from service.conftest import crm_calls, reset_counts, salesmate_control, xero_calls
from support import api, sandbox_token


def test_a_second_pass_costs_two_xero_and_three_crm_calls_and_writes_nothing(salesmate, cli):
    first = cli.json("crm", "update")
    assert first["fields_written"] > 0
    assert [p["phase"] for p in first["phases"]] == ["pull", "link", "refresh", "push"]
    assert first["phases"][1]["written"] > 0  # contacts linked by email
    reset_counts(salesmate)
    second = cli.json("crm", "update")
    calls = crm_calls(salesmate)
    assert xero_calls(salesmate) <= 2 and second["xero_calls"] <= 2, second
    assert sum(calls.values()) <= 3 and second["crm_calls"] <= 3, calls
    assert not any(label.startswith("PUT") for label in calls)
    assert second["fields_written"] == 0 and second["changes"] == []


def test_after_a_document_changes_the_next_pass_writes_exactly_its_fields(salesmate, cli):
    cli.json("crm", "update")
    cli.json("crm", "update")
    tenant = next(iter(salesmate.sandbox.tenants.values()))
    linked = {r["xero_contact_id"]: r["crm"] for r in cli.json("links")}
    invoice = next(i for i in tenant.invoices.values() if i["Status"] == "AUTHORISED"
                   and i["Type"] == "ACCREC" and i["ContactID"] in linked
                   and i["AmountPaid"] == 0  # Xero voids no invoice with a payment
                   and i["CurrencyCode"] == tenant.base_currency)
    due = Decimal(str(invoice["AmountDue"]))
    token = sandbox_token(salesmate.base_url)
    status, _, _ = api(salesmate.base_url, token, tenant.tenant_id, "POST",
                       f"/Invoices/{invoice['InvoiceID']}",
                       {"Invoices": [{"Status": "VOIDED"}]})
    assert status == 200
    reset_counts(salesmate)
    report = cli.json("crm", "update")
    ref = linked[invoice["ContactID"]]
    assert {c["record"] for c in report["changes"]} == {ref}
    assert {c["field"] for c in report["changes"]} == {"decimalCustomField1",
                                                      "numberCustomField1"}
    before = {c["field"]: c for c in report["changes"]}
    assert Decimal(before["decimalCustomField1"]["from"]) \
        - Decimal(before["decimalCustomField1"]["to"]) == due
    puts = {k: v for k, v in crm_calls(salesmate).items() if k.startswith("PUT")}
    assert puts == {"PUT /apis/contact/v4/{id}": 1}
    held = salesmate_control(salesmate, "GET", f"/records/contact/{ref.split(':')[1]}")
    assert held["custom"]["decimalCustomField1"] == before["decimalCustomField1"]["to"]


def test_a_dry_run_writes_nothing_anywhere_and_calls_no_xero(salesmate, cli, home):
    from pathlib import Path

    db = Path(home) / "profiles/default/xerolink.db"
    cli.json("crm", "pull")  # the pass's pull would otherwise be a first one
    before = db.read_bytes()
    reset_counts(salesmate)
    report = cli.json("crm", "update", "--dry-run")
    assert report["dry_run"] is True and xero_calls(salesmate) == 0
    assert not any(k.startswith("PUT") for k in crm_calls(salesmate))
    assert {p["phase"]: p["skipped"] is not None for p in report["phases"]} == {
        "pull": False, "link": True, "refresh": True, "push": False}
    assert db.read_bytes() == before


def test_no_link_skips_linking(salesmate, cli):
    report = cli.json("crm", "update", "--no-link")
    assert report["phases"][1] == {"phase": "link", "xero_calls": 0, "crm_calls": 0,
                                   "read": 0, "written": 0, "fields_written": 0,
                                   "skipped": "--no-link"}
    assert cli.json("links") == []


def test_human_output_is_a_line_a_phase_and_a_summary(salesmate, cli):
    code, out, err = cli("crm", "update")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["pull", "link", "refresh", "push"]
    assert lines[4].startswith("Wrote ") and "Xero call" in lines[4]
    assert len(lines) == 5


def test_a_pass_past_the_days_allowance_is_refused_before_its_first_call(salesmate, cli,
                                                                         home):
    import json
    from datetime import UTC, datetime
    from pathlib import Path

    from xerolink.store.sqlite import SqliteStore

    cli.json("crm", "update")
    store = SqliteStore(Path(home) / "profiles/default/xerolink.db")
    tenant = store.active_connection().tenant_id
    store.record_rate_limits(tenant, json.dumps({"day_remaining": 1, "minute_remaining": 60,
                                                 "seen_at": datetime.now(UTC).isoformat()}))
    store.close()
    reset_counts(salesmate)
    code, _, err = cli("crm", "update")
    assert code == 6, err
    assert "crm update needs at least 2 Xero calls" in err and "\n" not in err.strip()
    assert xero_calls(salesmate) == 0 and crm_calls(salesmate) == {}
    code, _, err = cli("crm", "update", "--force")
    assert code == 0, err


def test_only_admins_update(salesmate, cli, monkeypatch):
    assert cli("access", "grant", "bob")[0] == 0
    monkeypatch.setenv("XEROLINK_USER", "bob")
    code, _, err = cli("crm", "update")
    assert code == 4, err

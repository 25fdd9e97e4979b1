"""Tables that fit a terminal (short ids, nothing cut) and ids people can type
(a unique prefix of six or more characters, or a document number)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from support import crm_csv_from_sandbox
from xerolink.store.models import XeroContact
from xerolink.store.sqlite import SqliteStore


@pytest.fixture
def world(cli, connected, sandbox, tmp_path):
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=12)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    (tmp_path / "more.csv").write_text("id,title,primary_contact_id\nd1,Big deal,1\n")
    assert cli("crm", "import", str(tmp_path / "more.csv"))[0] == 0
    (tmp_path / "co.csv").write_text("id,name\nco,Company\n")
    assert cli("crm", "import", str(tmp_path / "co.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    return cli.json("links")


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_and_keep_every_value_whole(cli, world, monkeypatch, width) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    first = world[0]
    documents = cli.json("details", first["crm"])
    assert documents, "the first linked contact has documents"
    for args in (("links",), ("details", first["crm"]), ("suggest", first["crm"]),
                 ("deal", "suggest", "d1"), ("search", first["xero_name"].split()[0])):
        code, out, err = cli(*args)
        assert code == 0, (args, err)
        table = [line for line in out.splitlines() if not line.startswith("Numbers link")]
        assert all(len(line) <= width for line in table), (args, max(map(len, table)))
        assert "…" not in out, (args, out)
    _, out, _ = cli("details", first["crm"])
    for document in documents:
        from decimal import Decimal

        assert document["number"] in out and document["currency"] in out
        assert f"{Decimal(document['total']):,.2f}" in out, out
    _, out, _ = cli("links")
    for row in world:
        assert row["xero_contact_id"][:8] in out and row["xero_contact_id"] not in out
        assert row["crm"] in out
    _, out, _ = cli("links", "--wide")
    assert all(row["xero_contact_id"] in out for row in world)


def test_deal_suggest_and_company_details_say_whose_each_document_is(cli, world,
                                                                   tmp_path) -> None:
    rows = cli.json("deal", "suggest", "d1")
    assert rows and all(r["contact"] for r in rows)
    member = world[0]
    crm = cli.json("crm", "show", member["crm"])
    (tmp_path / "member.csv").write_text(
        f"id,first_name,email,company_id\n{crm['id']},{crm['first_name'] or 'A'},"
        f"{crm['email']},co\n")
    assert cli("crm", "import", str(tmp_path / "member.csv"))[0] == 0
    company_rows = cli.json("details", "company:co")
    assert company_rows and {r["contact"] for r in company_rows} == {member["xero_name"]}
    _, out, _ = cli("details", "company:co")
    assert "Contact" in out
    _, out, _ = cli("deal", "suggest", "d1")
    assert rows[0]["contact"].split()[0] in out


def test_a_unique_prefix_or_a_number_is_enough(cli, world, connected) -> None:
    target = world[0]
    assert cli("unlink", target["crm"])[0] == 0
    code, _, err = cli("link", target["crm"], target["xero_contact_id"][:8])
    assert code == 0, err
    assert cli.json("links")[0]["xero_contact_id"] == target["xero_contact_id"]
    document = cli.json("details", target["crm"])[0]
    for typed in (document["document_id"][:8], document["number"]):
        shown = cli.json("view", typed)
        assert document["document_id"] in shown["url"], typed
    assert cli("deal", "attach", "d1", document["number"])[0] == 0
    assert [r["document_id"] for r in cli.json("deal", "docs", "d1")] == [
        document["document_id"]]
    assert cli("deal", "detach", "d1", document["document_id"][:10])[0] == 0


def test_a_number_not_in_the_cache_is_looked_up_in_xero(cli, world, sandbox,
                                                        connected) -> None:
    books = sandbox.sandbox.tenants[connected]
    invoice = next(i for i in books.invoices.values() if i["Type"] == "ACCREC"
                   and i["InvoiceNumber"] and i["Status"] == "PAID")  # never cached
    shown = cli.json("view", invoice["InvoiceNumber"])
    assert invoice["InvoiceID"] in shown["url"]


def test_an_ambiguous_prefix_lists_the_candidates(cli, world, home, connected) -> None:
    store = SqliteStore(home / "profiles" / "default" / "xerolink.db")
    now = datetime.now(UTC)
    store.upsert_xero_contacts(connected, [
        XeroContact(f"abcdef0{n}-0000-4000-8000-00000000000{n}", f"Twin {n}", "ACTIVE",
                    updated_utc=now) for n in (1, 2)])
    store.close()
    code, _, err = cli("link", world[0]["crm"], "abcdef0", "--replace")
    assert code == 2
    assert "matches several Xero contacts" in err and "Twin 1" in err and "Twin 2" in err
    code, _, err = cli("link", world[0]["crm"], "abc")
    assert code == 2 and "at least its first 6 characters" in err


def test_after_link_auto_the_report_shows_the_way_on(cli, connected, sandbox,
                                                     tmp_path) -> None:
    books = sandbox.sandbox.tenants[connected]
    twins = [c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"][:2]
    for twin in twins:
        twin["EmailAddress"] = "shared@example.com"
    (tmp_path / "crm.csv").write_text(
        "id,first_name,email\nk1036,Late,nobody-1036@example.com\nk112,Early,\n"
        "k7,Twin,shared@example.com\n")
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    code, out, err = cli("link", "--auto")
    assert code == 0, err
    for twin in twins:
        assert f"xerolink link contact:k7 {twin['ContactID'][:8]}" in out
    assert out.index("contact:k112") < out.index("contact:k1036")
    assert "no email" in out and "no Xero contact has this email" in out


def test_deal_attach_names_a_strangers_document_as_it_was_typed(cli, world, sandbox,
                                                                 connected) -> None:
    """The README once showed `deal attach deal:d1 INV-00042 ...` with a document of
    someone else; the refusal answered the number with a GUID."""
    books = sandbox.sandbox.tenants[connected]
    people = {row["xero_contact_id"] for row in world if row["crm"] == "contact:1"}
    invoice = next(i for i in books.invoices.values() if i["Type"] == "ACCREC"
                   and i["Status"] == "AUTHORISED" and i["ContactID"] not in people)
    number, guid = invoice["InvoiceNumber"], invoice["InvoiceID"]
    code, out, err = cli("deal", "attach", "d1", number)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {number} belongs to none of deal:d1's linked people"), err
    assert guid not in err
    code, _, err = cli("deal", "attach", "d1", guid[:8])
    assert code == 2 and err.startswith(f"error: {guid[:8]} ({number}) belongs to none"), err
    assert cli.json("deal", "docs", "d1") == [], "nothing was attached"

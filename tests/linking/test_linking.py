"""suggest, search, link, unlink, links, create-contact and link --auto."""

from __future__ import annotations

import time

import pytest

from support import connect_profile, control, crm_csv_from_sandbox
from xerolink.sandbox import SandboxOptions, SandboxServer


def _books(sandbox, tenant_id):
    return sandbox.sandbox.tenants[tenant_id]


def _import(cli, tmp_path, text: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(text)
    code, _, err = cli("crm", "import", str(path))
    assert code == 0, err


def test_suggest_finds_a_contact_by_a_contact_persons_email(cli, connected, sandbox,
                                                            tmp_path) -> None:
    books = _books(sandbox, connected)
    business = next(c for c in books.contacts.values()
                    if c["ContactPersons"] and c["ContactStatus"] == "ACTIVE")
    person = business["ContactPersons"][0]
    _import(cli, tmp_path, "id,first_name,last_name,email\n"
            f"7,{person['FirstName']},{person['LastName']},{person['EmailAddress']}\n"
            "8,Nobody,Anywhere,nobody@nowhere.example\n")
    found = cli.json("suggest", "contact:7")
    assert found[0]["xero_contact_id"] == business["ContactID"]
    assert found[0]["reason"].startswith("email matches contact person")
    code, out, _ = cli("suggest", "8")
    assert (code, out.strip()) == (0, "No Records Found")
    assert cli.json("suggest", "8") == []


def test_suggest_ranks_email_above_name(cli, connected, sandbox, tmp_path) -> None:
    books = _books(sandbox, connected)
    person = next(c for c in books.contacts.values() if c["EmailAddress"]
                  and c["ContactStatus"] == "ACTIVE" and not c["Name"].endswith("Ltd"))
    _import(cli, tmp_path, f"id,first_name,last_name,email\n1,{person['FirstName']},"
            f"{person['LastName']},{person['EmailAddress']}\n")
    found = cli.json("suggest", "1")
    assert found[0]["xero_contact_id"] == person["ContactID"] and found[0]["score"] == 100
    assert [s["score"] for s in found] == sorted((s["score"] for s in found), reverse=True)


def test_search_by_first_and_last_name(cli, connected, sandbox) -> None:
    books = _books(sandbox, connected)
    person = next(c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"
                  and c["Name"] == f"{c['FirstName']} {c['LastName']}")
    found = cli.json("search", "--first", person["FirstName"], "--last", person["LastName"])
    assert person["ContactID"] in [f["xero_contact_id"] for f in found]
    assert all(f["last_name"].lower().startswith(person["LastName"].lower()) for f in found)
    assert cli("search")[0] == 2


def test_link_replace_unlink_and_links(cli, connected, sandbox, tmp_path) -> None:
    books = _books(sandbox, connected)
    first, second = [c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"][:2]
    _import(cli, tmp_path, "id,first_name,email\n42,Ada,ada@example.com\n")
    assert cli("link", "42", "not-a-guid")[0] == 2
    assert cli("link", "42", "00000000-0000-4000-8000-000000000000")[0] == 5
    made = cli.json("link", "contact:42", first["ContactID"])
    assert made["xero_name"] == first["Name"] and made["replaced"] is None
    code, _, err = cli("link", "42", second["ContactID"])
    assert code == 2 and "pass --replace" in err
    assert cli.json("links")[0]["xero_contact_id"] == first["ContactID"], "one per CRM contact"
    replaced = cli.json("link", "42", second["ContactID"], "--replace")
    assert replaced["replaced"]["xero_contact_id"] == first["ContactID"]
    rows = cli.json("links")
    assert len(rows) == 1 and rows[0]["xero_contact_id"] == second["ContactID"]
    assert set(rows[0]) == {"crm", "crm_name", "crm_email", "xero_contact_id", "xero_name",
                            "linked_by", "linked_at"}
    assert cli.json("unlink", "42")["unlinked_xero_contact_id"] == second["ContactID"]
    assert cli("unlink", "42")[0] == 5
    assert cli.json("link", "42", first["ContactID"])["xero_contact_id"] == first["ContactID"]
    code, out, _ = cli("links", "--csv")
    assert out.splitlines()[0] == ("crm,crm_name,crm_email,xero_name,xero_contact_id,"
                                   "linked_by,linked_at")


def test_link_first_takes_the_top_suggestion(cli, connected, sandbox, tmp_path) -> None:
    books = _books(sandbox, connected)
    person = next(c for c in books.contacts.values()
                  if c["EmailAddress"] and c["ContactStatus"] == "ACTIVE")
    _import(cli, tmp_path, f"id,email\n5,{person['EmailAddress']}\n")
    assert cli.json("link", "5", "--first")["xero_contact_id"] == person["ContactID"]


def test_create_contact_creates_links_and_refuses_duplicates(cli, connected, sandbox,
                                                             tmp_path) -> None:
    books = _books(sandbox, connected)
    _import(cli, tmp_path, "id,first_name,last_name,email,phone\n"
            "1,Mere,Tawhiri,mere@tawhiri.example,+64 9 555 0100\n2,Dup,Name,dup@example.com,\n")
    made = cli.json("create-contact", "1", "--yes")
    assert made["sent"] == {"Name": "Mere Tawhiri", "FirstName": "Mere", "LastName": "Tawhiri",
                            "EmailAddress": "mere@tawhiri.example",
                            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "+64 9 555 0100"}]}
    assert books.contacts[made["xero_contact_id"]]["Name"] == "Mere Tawhiri"
    assert cli.json("links")[0]["crm"] == "contact:1"
    taken = next(iter(books.contacts.values()))["Name"]
    before = len(books.contacts)
    code, _, err = cli("create-contact", "2", "--name", taken, "--yes")
    assert code == 6 and "already assigned to another contact" in err and err.count("\n") == 1
    assert len(books.contacts) == before
    assert [row["crm"] for row in cli.json("links")] == ["contact:1"], "nothing was linked"
    assert cli("create-contact", "2", "--email", "bad", "--yes")[0] == 2


def test_strangers_get_exit_4(cli, connected, tmp_path, monkeypatch) -> None:
    _import(cli, tmp_path, "id,first_name\n1,Ann\n")
    monkeypatch.setenv("XEROLINK_USER", "mallory")
    for args in (["suggest", "1"], ["links"], ["link", "--auto"], ["search", "x"],
                 ["crm", "list"], ["unlink", "1"]):
        code, _, err = cli(*args)
        assert code == 4, args
        assert "ask an admin (xerolink access grant mallory)" in err


def test_auto_link_dry_run_links_nothing(cli, connected, sandbox, tmp_path) -> None:
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=30)
    cli("crm", "import", str(tmp_path / "crm.csv"))
    report = cli.json("link", "--auto", "--dry-run")
    assert report["linked"] and report["dry_run"] is True
    assert cli.json("links") == []
    report = cli.json("link", "--auto")
    assert len(cli.json("links")) == len(report["linked"])


@pytest.fixture(scope="module")
def big_sandbox():
    server = SandboxServer(SandboxOptions(seed=21, contacts=10_000))
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_auto_link_10000_crm_contacts_in_at_most_11_calls(cli, home, big_sandbox, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    tenant = connect_profile(big_sandbox, home)
    rows = crm_csv_from_sandbox(big_sandbox, tmp_path / "crm.csv")
    assert len(rows) == 10_000
    cli("crm", "import", str(tmp_path / "crm.csv"))
    base = big_sandbox.base_url
    control(base, "POST", "stats/reset")
    started = time.perf_counter()
    first = cli.json("link", "--auto")
    elapsed = time.perf_counter() - started
    stats = control(base, "GET", "stats")
    assert stats["total"] <= 11, stats
    assert stats["status_429"] == 0
    assert elapsed < 60
    books = big_sandbox.sandbox.tenants[tenant]
    active_emails: dict[str, set[str]] = {}
    for contact in books.contacts.values():
        if contact["ContactStatus"] != "ACTIVE":
            continue
        for email in [contact["EmailAddress"]] + [p["EmailAddress"] for p in
                                                   contact["ContactPersons"]]:
            if email:
                active_emails.setdefault(email.lower(), set()).add(contact["ContactID"])
    expected = sum(1 for r in rows if r["email"] and len(active_emails.get(r["email"], ())) == 1)
    assert len(first["linked"]) == expected > 8000
    control(base, "POST", "stats/reset")
    second = cli.json("link", "--auto")
    assert second["linked"] == [] and second["already_linked"] == expected
    assert control(base, "GET", "stats")["total"] <= 11


def test_a_suggestions_reason_says_which_name_matched() -> None:
    """A company's Xero contact names its person in FirstName/LastName: a match on
    those says so (and whose), not "name", which reads as the Name shown beside it."""
    from xerolink.services.linking import rank
    from xerolink.store.models import CrmContact, XeroContact

    gus = CrmContact("c29", "Gus", "Anderson", "gus@home.example.net")
    company = XeroContact("d9", "Summit Bakery Partners", "ACTIVE", "Ursula", "Anderson")
    himself = XeroContact("19", "Gus Anderson", "ACTIVE", "Gus", "Anderson")
    braces = XeroContact("b1", "Gus {Anderson}", "ACTIVE", "Gus {0}", "Anderson")
    reasons = {s.contact.contact_id: s.reason for s in
               rank(gus, [company, himself, braces], "Summit Partners")}
    assert reasons["19"] == "name matches"
    assert reasons["d9"] == "first and last name (Ursula Anderson) is similar (81%)"
    assert reasons["b1"] == "name matches", "punctuation aside, and braces are literal"

"""People at a terminal: at 80 and 120 columns (COLUMNS, as a terminal sets it) every
value is whole (emails, paths, statuses, dates), prose breaks between words, nothing
ends in padding when piped, members are in natural order, and `crm show` names the
people and the company it refers to. Each runs the real command on the sample data."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib.resources import files

import pytest

from support import connect_profile, running_sandbox
from xerolink.vocabulary import FIGURE_KEYS

SAMPLE = files("xerolink").joinpath("sample_data")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@pytest.fixture
def world(cli, home):
    """The sample files over the organisation they were made from (seed 1, 200
    contacts): 24 of their contacts link by email, with documents of every status."""
    with running_sandbox(seed=1, contacts=200) as server:
        connect_profile(server, home)
        for name in ("companies.csv", "contacts.csv", "deals.json"):
            code, _, err = cli("crm", "import", str(SAMPLE.joinpath(name)))
            assert code == 0, err
        assert cli("link", "--auto")[0] == 0
        assert cli("refresh", "deal:d1")[0] == 0
        yield cli


def _at(monkeypatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))


def _emails(cli) -> set[str]:
    return {c["email"] for c in cli.json("crm", "list", "contacts") if c["email"]}


@pytest.mark.parametrize("columns", [80, 120])
def test_contact_lists_keep_every_email_whole(world, monkeypatch, columns) -> None:
    emails = _emails(world)
    _at(monkeypatch, columns)
    code, out, _ = world("crm", "list", "contacts")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= columns
    assert set(EMAIL.findall(out)) == emails, "every email, each on one line"
    assert "Email" in out and "Reference" in out and "Name" in out


@pytest.mark.parametrize("columns", [80, 120])
def test_doctor_keeps_paths_whole(world, home, monkeypatch, columns) -> None:
    _at(monkeypatch, columns)
    _, out, _ = world("doctor", "--offline")
    config = str(home / "profiles" / "default" / "config.toml")
    assert config in out, out
    store = str(home / "profiles" / "default" / "xerolink.db")
    assert store in out, out
    # Only a line carrying a path longer than a line may run past the edge, whole.
    assert all(len(line) <= columns for line in out.splitlines() if str(home) not in line)


def test_deal_suggest_at_80_keeps_status_and_date(world, monkeypatch) -> None:
    _at(monkeypatch, 80)
    rows = world.json("deal", "suggest", "deal:d1")
    statuses = {r["status"] for r in rows}
    assert len(statuses) > 1, "the sample deal has drafts and authorised invoices"
    code, out, err = world("deal", "suggest", "deal:d1")
    assert code == 0
    header = out.splitlines()[0].split()
    assert {"Status", "Date", "Total", "Attached"} <= set(header), header
    for row in rows:
        line = next(line for line in out.splitlines() if line.startswith(row["document_id"][:8]))
        assert row["status"] in line.split() and row["date"] in line.split(), line
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "hidden to fit 80 columns" in err and "Status" not in err.split("hidden")[0]


def _words_intact(text: str, sentence: str) -> None:
    """The sentence appears, wrapped between words only."""
    assert " ".join(text.split()).find(sentence) >= 0, text


def test_details_footer_wraps_between_words(world, monkeypatch) -> None:
    _at(monkeypatch, 80)
    code, out, _ = world("details", "contact:c1")
    assert code == 0
    footer = ("Numbers link to Xero in terminals that support links; --json and --csv "
              "include the View in Xero links, and `xerolink view NUMBER` (or the short id "
              "shown for a document without a number) prints one.")
    tail = out[out.index("Numbers link"):]
    assert all(len(line) <= 80 for line in tail.splitlines())
    assert len(tail.splitlines()) > 1
    _words_intact(tail, footer)
    for line in tail.splitlines():
        assert line == line.strip() and not line.endswith("-")


COMMANDS = [("crm", "list", "contacts"), ("crm", "list", "companies"), ("crm", "list", "deals"),
            ("crm", "show", "contact:c3"), ("crm", "show", "deal:d1"),
            ("crm", "show", "company:summit"), ("links",), ("status",), ("summary", "deal:d2"),
            ("summary", "company:harbour"), ("details", "contact:c3"),
            ("deal", "suggest", "deal:d2"), ("doctor", "--offline"), ("suggest", "c1"),
            ("link", "--auto", "--dry-run")]


@pytest.mark.parametrize("columns", [None, 80, 40])
def test_no_line_ends_in_padding_when_piped(world, monkeypatch, columns) -> None:
    if columns:
        _at(monkeypatch, columns)
    for args in COMMANDS:
        _, out, _ = world(*args)
        assert out.strip(), args
        padded = [line for line in out.splitlines() if line != line.rstrip()]
        assert not padded, (args, padded[:3])


def test_members_are_in_natural_order(world) -> None:
    summary = world.json("summary", "company:summit")
    refs = [m["ref"] for m in summary["members"]]
    numbers = [int(r.removeprefix("contact:c")) for r in refs]
    assert numbers == sorted(numbers) and len(numbers) > 5, refs
    _, out, _ = world("summary", "company:summit")
    shown = [int(n) for n in re.findall(r"contact:c(\d+)", out)]
    assert shown == sorted(shown)
    shown = world.json("crm", "show", "company:summit")["members"]
    assert [int(m["id"].removeprefix("c")) for m in shown] == sorted(numbers)


def test_crm_show_names_the_company_and_the_deals_people(world) -> None:
    _, out, _ = world("crm", "show", "deal:d1")
    assert re.search(r"Primary contact:\s+c1 \(Gus Kelly\)$", out, re.M), out
    assert re.search(r"Participants:\s+c2 \(Sam Reid\), c4 \(Aroha Turner\)$", out, re.M)
    _, out, _ = world("crm", "show", "contact:c3")
    assert re.search(r"Company:\s+harbour \(Harbour Collective\)$", out, re.M), out
    data = world.json("crm", "show", "deal:d1")
    assert data["primary_contact_id"] == "c1" and data["participant_ids"] == ["c2", "c4"]


@pytest.mark.parametrize("columns", [40, 60])
def test_an_amount_keeps_its_currency_on_its_line(world, monkeypatch, columns) -> None:
    """By currency wraps between the amounts, never between an amount and its code."""
    assert world("refresh", "contact:c1")[0] == 0
    figures = world.json("summary", "contact:c1")
    mixed = [f for f in FIGURE_KEYS  # shown only where a currency is not the base's
             if set(figures[f]["by_currency"]) - {figures["base_currency"]}]
    wanted = {f"{Decimal(v):,.2f} {c}" for f in mixed
              for c, v in figures[f]["by_currency"].items()}
    assert len({w.split()[1] for w in wanted}) > 1, "more than one currency to show"
    _at(monkeypatch, columns)
    _, out, _ = world("summary", "contact:c1")
    lines = out.splitlines()
    for pair in wanted:
        assert any(pair in line for line in lines), (pair, out)

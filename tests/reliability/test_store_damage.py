"""A damaged store: every command says so in one line and exits 11 (never 1), doctor
reports it (exit 10, also as JSON), and ``doctor --repair`` gives back every link from
what is readable plus the copy taken when the links changed, at many page offsets of
a store holding thousands of links."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support import control
from xerolink.store.models import CrmContact, CrmDeal, Link
from xerolink.store.sqlite import SqliteStore

LINKS = 3000
DEALS = 200
PAGE = 4096
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _db(home: Path) -> Path:
    return Path(home) / "profiles" / "default" / "xerolink.db"


def _fill(path: Path, tenant: str, contacts: int = LINKS) -> None:
    """Thousands of CRM contacts, each linked, and deals with their documents: through
    the store's own operations, as the commands would write them (copies included)."""
    store = SqliteStore(path)
    try:
        store.upsert_crm_records(
            contacts=[CrmContact(str(n), f"First{n}", f"Last{n}", f"p{n}@example.com")
                      for n in range(1, contacts + 1)],
            deals=[CrmDeal(f"d{n}", f"Deal {n}", primary_contact_id=str(n))
                   for n in range(1, DEALS + 1)], at=AT)
        store.add_links_if_unlinked([
            Link(tenant, str(n), f"00000000-0000-4000-8000-{n:012d}", "alice", AT,
                 xero_name=f"Xero {n}") for n in range(1, contacts + 1)])
        for n in range(1, DEALS + 1):
            document = f"00000000-0000-4000-9000-{n:012d}"
            store.attach_deal_documents(tenant, f"d{n}", [(document, "invoice")], "alice", AT)
        store.set_setting("sales_note", "kept")
    finally:
        store.close()


def _links(path: Path, tenant: str) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT crm_contact_id, xero_contact_id FROM links "
                               "WHERE tenant_id = ?", (tenant,)).fetchall())
    finally:
        db.close()


def _pages(path: Path) -> dict[int, str]:
    """Page number -> the table or index that owns it."""
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT pageno, name FROM dbstat").fetchall())
    finally:
        db.close()


def _damage(path: Path, pristine: bytes, page: int, pattern: bytes = b"\xde\xad\xbe\xef"
            ) -> None:
    """One page overwritten (garbage, or zeros as a torn write leaves)."""
    data = bytearray(pristine)
    start = (page - 1) * PAGE
    data[start:start + PAGE] = pattern * (PAGE // len(pattern))
    path.write_bytes(bytes(data))


def _copies(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (path.parent / "store-copies").iterdir()}


def _restore(path: Path, pristine: bytes, copies: dict[str, bytes]) -> None:
    """The store and its copies as they were after the fill."""
    path.write_bytes(pristine)
    folder = path.parent / "store-copies"
    for old in folder.iterdir():
        old.unlink()
    for name, data in copies.items():
        (folder / name).write_bytes(data)


@pytest.fixture
def store_of_links(cli, connected, home, sandbox) -> tuple[str, Path, bytes, dict[str, bytes]]:
    # The store is what is damaged here, not Xero's limits: with 60 calls a minute the
    # commands below spent most of two minutes waiting out the window (waiting is
    # tested on its own, tests/reliability/test_faults.py).
    control(sandbox.base_url, "POST", "limits", {"minute": 100_000})
    path = _db(home)
    _fill(path, connected)
    assert not Path(f"{path}-wal").exists(), "every page is in the file"
    return connected, path, path.read_bytes(), _copies(path)


# Commands that read the store, and write it; few Xero calls.
COMMANDS = [
    ["links"], ["links", "--json"], ["crm", "list", "contacts"], ["crm", "list", "deals"],
    ["crm", "show", "contact:7"], ["crm", "show", "deal:d3"], ["status", "--offline"],
    ["access", "list"], ["summary", "contact:7"], ["view", "contact:7"],
    ["deal", "docs", "deal:d3"], ["link", "contact:2999", "00000000-0000-4000-8000-000000002999"],
    ["access", "grant", "bob"], ["unlink", "contact:999999"],
]


def _offsets(pages: dict[int, str], count: int = 20) -> list[int]:
    """Page 1 (the header and schema), and pages spread over the whole file: table
    leaves and interior pages, indexes."""
    numbers = sorted(pages)
    chosen = {1, *(numbers[(len(numbers) - 1) * k // (count - 2)] for k in range(count - 1))}
    links_pages = [p for p in numbers if pages[p] == "links"]
    chosen.add(links_pages[len(links_pages) // 2])
    for small in ("settings", "access", "connections",  # doctor reads these first
                  "sqlite_autoindex_connections_1"):  # written as a command ends
        chosen.add(min(p for p in numbers if pages[p] == small))
    return sorted(chosen)


@pytest.mark.slow
@pytest.mark.timeout(600)  # every page, every command: under a minute on two busy cores
def test_every_command_on_a_damaged_page_exits_11_and_repair_gives_back_every_link(
        cli, store_of_links) -> None:
    tenant, path, pristine, copies = store_of_links
    before = _links(path, tenant)
    assert len(before) == LINKS
    pages = _pages(path)
    offsets = _offsets(pages)
    assert len(offsets) >= 20 and len(pages) > 100
    healthy = {tuple(args): cli(*args)[0] for args in COMMANDS}
    assert healthy[("links",)] == 0 and 1 not in healthy.values(), healthy
    for number, page in enumerate(offsets):
        _restore(path, pristine, copies)
        _damage(path, pristine, page, b"\0" if number % 2 else b"\xde\xad\xbe\xef")
        met = _every_command_refuses_in_one_line(cli, path, healthy)
        if pages.get(page) == "links" or page == 1:
            assert "links" in met, (page, pages.get(page))
        _doctor_reports_the_damage(cli, page)
        report = _repair(cli, path, page)
        after = _links(path, tenant)
        assert after == before, (page, pages.get(page), len(after))
        assert report["links"]["readable"] + report["links"]["from_copy"] == LINKS
        if pages.get(page) == "links":
            assert report["links"]["from_copy"] > 0, "the lost page came from the copy"
        assert sum(1 for _ in _rows(path, "deal_documents")) == DEALS, page
        codes = {c["check"]: c["status"] for c in cli.json("doctor", "--offline")}
        assert codes["store"] == "ok" and codes["store copies"] == "ok", (page, codes)
        assert len(cli.json("links")) == LINKS


def _every_command_refuses_in_one_line(cli, path: Path, healthy: dict) -> set[str]:
    """Each command either never meets the damaged page (and answers as on a healthy
    store), or exits 11 with one line naming the file and the repair; none exits 1.
    Returns those that met it."""
    met = set()
    for args in COMMANDS:
        code, _, err = cli(*args)
        assert code != 1, (args, err)
        if code == healthy[tuple(args)]:
            continue
        assert code == 11, (args, code, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (args, err)
        assert str(path) in lines[0] and "xerolink doctor --repair" in lines[0], err
        assert "unexpected" not in err and "Traceback" not in err
        met.add(args[0])
    return met


def _doctor_reports_the_damage(cli, page: int) -> None:
    code, out, err = cli("doctor", "--offline", "--json")
    assert code == 10, (page, code, err)
    assert "unexpected" not in err, err
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["store"]["status"] == "problem", (page, checks)
    assert "xerolink doctor --repair" in checks["store"]["action"]


def _repair(cli, path: Path, page: int) -> dict[str, dict]:
    code, out, err = cli("doctor", "--repair", "--json")
    assert code == 0, (page, err)
    report = json.loads(out)
    assert report["repaired"] is True
    aside = Path(report["damaged_file"])
    assert aside.exists() and aside != path, "the damaged file is kept, never deleted"
    return {t["table"]: t for t in report["tables"]}


def _rows(path: Path, table: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - a test's name
    finally:
        db.close()

"""CRM import: formats, detection, upserts, and bad files that change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xerolink.store.sqlite import SqliteStore


def _store(home: Path) -> SqliteStore:
    return SqliteStore(home / "profiles" / "default" / "xerolink.db")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_contacts_companies_and_deals_in_every_format(cli, home, tmp_path) -> None:
    contacts = _write(tmp_path / "c.csv", "\ufeffid;first_name;last_name;email;phone;company_id\n"
                      "1;Aroha;Ngata;AROHA@example.com;+64 21 555 0101;acme\n"
                      "2;Ben;Smith;;;acme\n")
    code, out, err = cli("crm", "import", str(contacts))
    assert code == 0, err
    assert out.strip() == "Imported 2 contacts from c.csv"
    companies = _write(tmp_path / "companies.json", json.dumps([{"id": "acme", "name": "Acme"}]))
    assert cli.json("crm", "import", str(companies))["kind"] == "companies"
    deals = _write(tmp_path / "d.ndjson",
                   '{"id": "9", "title": "Fit-out", "value": "1500.50", "currency": "nzd", '
                   '"primary_contact_id": "1", "participant_ids": ["2"]}\n')
    assert cli.json("crm", "import", str(deals)) == {"kind": "deals", "format": "ndjson",
                                                      "imported": 1, "skipped": []}
    tsv = _write(tmp_path / "more.txt", "id\tname\nbeta\tBeta Ltd\n")
    assert cli.json("crm", "import", str(tsv))["imported"] == 1
    shown = cli.json("crm", "show", "deal:9")
    assert shown["value"] == "1500.50" and shown["currency"] == "NZD"
    assert shown["participant_ids"] == ["2"]
    company = cli.json("crm", "show", "company:acme")
    assert [m["ref"] for m in company["members"]] == ["contact:1", "contact:2"]
    assert cli.json("crm", "show", "1")["email"] == "aroha@example.com"


def test_reimport_updates_by_id(cli, home, tmp_path) -> None:
    path = _write(tmp_path / "c.csv", "id,first_name,email\n1,Ann,ann@example.com\n")
    cli("crm", "import", str(path))
    _write(path, "id,first_name,email\n1,Anne,anne@example.com\n2,Bob,bob@example.com\n")
    assert cli.json("crm", "import", str(path))["imported"] == 2
    listed = cli.json("crm", "list", "contacts")
    assert [(r["id"], r["first_name"]) for r in listed] == [("1", "Anne"), ("2", "Bob")]


@pytest.mark.parametrize("content, message", [
    (b"id,first_name,email\n1,Ann,ann@example.com\n2,Bo,not-an-email\n", "row 3: email"),
    (b"id,first_name\n1,Ann\n1,Again\n", "row 3: id '1' already appears in row 2"),
    (b"first_name,email\nAnn,a@example.com\n", "missing column id"),
    (b"id,first_name,shoe_size\n1,Ann,42\n", "unknown column 'shoe_size'"),
    (b"id,first_name\n1,=HYPERLINK(\"http://x\")\n", "spreadsheets run as a formula"),
    (b"id,first_name\n1,Ann,extra\n", "has 3 fields, the header has 2"),
    (b"id,first_name\n1,\xff\xfe\n", "is not UTF-8"),
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"[1, 2]", "record 1 is not an object"),
    (b'{"id": "1", "first_name": ', "not valid JSON"),
    (b"id,first_name\n1," + b"x" * (10 * 1024 * 1024) + b"\n", "row 2"),
])
def test_a_bad_file_is_one_line_exit_2_and_imports_nothing(cli, home, tmp_path, content,
                                                            message) -> None:
    good = _write(tmp_path / "good.csv", "id,first_name\nkeep,Kept\n")
    cli("crm", "import", str(good))
    before = _store(home).table_counts()
    suffix = ".json" if content.startswith((b"[", b"{")) else ".csv"
    code, out, err = cli("crm", "import", str(_write(tmp_path / f"bad{suffix}", content)))
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert out == ""
    assert _store(home).table_counts() == before


def test_skip_invalid_imports_the_rest_and_reports_rows(cli, home, tmp_path) -> None:
    path = _write(tmp_path / "c.csv", "id,first_name,email\n1,Ann,a@example.com\n"
                  "2,,\n3,Cy,c@example.com\n")
    report = cli.json("crm", "import", str(path), "--skip-invalid")
    assert report["imported"] == 2
    assert report["skipped"] == [{"row": 3, "reason": "needs a first name, a last name or an "
                                                      "email"}]


def test_a_row_is_named_by_its_first_line_when_a_quoted_field_spans_more(cli, home, tmp_path
                                                                        ) -> None:
    """Rows are counted as the file's lines, as an editor shows them: a record whose
    quoted field holds a line break is named by the line it starts on."""
    path = _write(tmp_path / "c.csv", 'id,first_name,email\n1,Ann,a@example.com\n'
                  '2,"Bea\nLine two",b@example.com\n3,,\n4,"Di\nx",d@example.com\n5,,\n')
    report = cli.json("crm", "import", str(path), "--skip-invalid")
    assert report["imported"] == 1  # a line break in a name is refused too
    assert [s["row"] for s in report["skipped"]] == [3, 5, 6, 8]


def test_references_and_missing_records(cli, home) -> None:
    assert cli("crm", "show", "invoice:3")[0] == 2
    assert cli("crm", "show", "contact:")[0] == 2
    assert cli("crm", "show", "contact:nope")[0] == 5
    assert cli("crm", "remove", "deal:nope")[0] == 5
    assert cli("crm", "list", "widgets")[0] == 2
    assert cli("crm", "import", "/no/such/file.csv")[0] == 5


@pytest.mark.slow
def test_importing_10000_contacts_takes_under_5_seconds(home, tmp_path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("id,first_name,last_name,email,phone,company_id\n")
        for n in range(10_000):
            handle.write(f"{n},First{n},Last{n},person{n}@example.com,+64 21 {n:07d},co{n % 50}\n")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "xerolink", "crm", "import", str(path),
                             "--json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ})
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 10_000
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_crm_show_says_a_file_imported_record_came_from_a_file(cli, home, tmp_path) -> None:
    path = _write(tmp_path / "c.csv", "id,first_name,email\n1,Ann,ann@example.com\n")
    assert cli("crm", "import", str(path))[0] == 0
    code, out, _ = cli("crm", "show", "contact:1")
    assert code == 0
    assert "Source:" in out and out.split("Source:")[1].splitlines()[0].strip() == \
        "file (crm import)", out
    assert cli.json("crm", "show", "contact:1")["source"] is None, "JSON as stored"

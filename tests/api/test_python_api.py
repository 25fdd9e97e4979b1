"""The Python API: what the CLI does, as calls that return results, with no output.
The docs' example (docs/python-api.md) is run as written; service behaviour is checked
directly."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import xerolink
from xerolink.clock import FixedClock
from xerolink.errors import ExitCode, NotFoundError, UsageError, XerolinkError

ROOT = Path(__file__).resolve().parents[2]


PAGE = "docs/python-api.md"


def _readme_example() -> str:
    match = re.search(r"```python\n(.*?)```", (ROOT / PAGE).read_text(), re.S)
    assert match, f"{PAGE} has a python example"
    return match.group(1)


def test_the_readme_example_runs_as_written(linked, capsys) -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        exec(compile(_readme_example(), PAGE, "exec"),  # noqa: S102 - the docs' own
             {"__name__": "__main__"})  # example, run as a reader would
    printed = out.getvalue()
    assert "contact:" in printed and "calls" in printed, printed
    assert err.getvalue() == ""


def test_results_are_the_clis_json_and_nothing_is_printed(linked, cli, capsys) -> None:
    capsys.readouterr()
    with xerolink.open() as xl:
        report = xl.summary(linked, refresh=True)
        details = xl.details(linked)
        calls = xl.calls()
    assert capsys.readouterr() == ("", ""), "the API prints nothing"
    assert calls.total >= 1 and report.as_of is not None and not report.cached
    for figure in report.figures.values():
        assert isinstance(figure.total, Decimal)
    from_cli = cli.json("summary", linked)
    from_api = json.loads(json.dumps(report.to_json()))
    for key in ("record", "tenant_id", "base_currency", "open_quotes", "overdue_invoices",
                "outstanding_invoices", "overdue_bills", "outstanding_bills", "notes"):
        assert from_api[key] == from_cli[key], key
    assert json.loads(json.dumps(details.to_json())) == cli.json("details", linked)


def test_a_long_running_caller_pays_nothing_for_cached_reads(linked) -> None:
    with xerolink.open() as xl:
        xl.summary(linked, refresh=True)
        before = xl.calls().total
        for _ in range(20):
            cached = xl.summary(linked)
        assert cached.cached and xl.calls().total == before


def test_the_clock_is_injected(linked) -> None:
    with xerolink.open() as xl:
        xl.summary(linked, refresh=True)
    later = FixedClock(datetime(2031, 1, 1, tzinfo=UTC))
    with xerolink.open(clock=later) as xl:
        report = xl.summary(linked)
    assert report.now == later.at
    assert report.to_json()["age_seconds"] > 3 * 365 * 86400


def test_errors_are_exceptions_with_the_clis_exit_codes(connected) -> None:
    with xerolink.open() as xl:
        with pytest.raises(NotFoundError) as missing:
            xl.crm_show("contact:nobody")
        assert missing.value.exit_code == ExitCode.NOT_FOUND
        with pytest.raises(UsageError):
            xl.crm_list("planets")
        with pytest.raises(XerolinkError):
            xl.link("contact:nobody", first=True)


def test_creating_through_the_api_matches_the_cli(linked) -> None:
    with xerolink.open() as xl:
        created = xl.create_invoice(linked, ["Consulting;3;150", "Widgets;1000;0.1648"],
                                    due_date="2031-01-31", reference="API")
        listed = xl.details(linked, kinds={"invoice"}, status="DRAFT")
    doc = created.to_json()
    assert doc["type"] == "invoice" and doc["status"] == "DRAFT"
    assert Decimal(doc["total"]) > Decimal("614")  # 450 + 164.80, plus tax
    assert any(row["document_id"] == doc["document_id"] for row in listed.rows)

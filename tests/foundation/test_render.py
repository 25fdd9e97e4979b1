"""Rendering: exact amounts in JSON, spreadsheet-safe CSV, no colour when asked."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xerolink.render import CSV, JSON, Column, Renderer, csv_cell, to_jsonable


@dataclass
class Row:
    amount: Decimal
    when: date


def test_json_keeps_decimals_exact_and_refuses_floats() -> None:
    assert to_jsonable(Row(Decimal("1500.10"), date(2026, 11, 26))) == {
        "amount": "1500.10", "when": "2026-11-26"}
    with pytest.raises(TypeError):
        to_jsonable({"amount": 0.1})


@pytest.mark.parametrize("text", ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tx", "\rx"])
def test_csv_neutralises_formula_text(text) -> None:
    assert csv_cell(text) == "'" + text


def test_csv_leaves_numbers_as_numbers() -> None:
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(-3) == -3
    assert csv_cell("plain") == "plain"


@given(st.text())
def test_no_csv_text_cell_can_start_a_formula(text) -> None:
    cell = csv_cell(text)
    assert not str(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_records_modes() -> None:
    rows = [{"name": "=evil()", "total": Decimal("10.00")}]
    columns = [Column("name", "Name"), Column("total", "Total", justify="right")]
    out = io.StringIO()
    Renderer(mode=CSV, stdout=out).records(rows, columns)
    assert out.getvalue() == "name,total\n'=evil(),10.00\n"
    out = io.StringIO()
    Renderer(mode=JSON, stdout=out).records(rows, columns)
    assert json.loads(out.getvalue()) == [{"name": "=evil()", "total": "10.00"}]


def test_human_output_has_no_colour_codes_when_not_a_terminal(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    Renderer(stdout=out).records([{"a": "x"}], [Column("a", "A", style="bold red")])
    assert "\x1b[" not in out.getvalue() and "x" in out.getvalue()


def test_errors_are_one_redacted_line() -> None:
    err = io.StringIO()
    Renderer(stderr=err).error("refused:\n Bearer abcdefghijklmnopqrstuvwxyz0123 was sent")
    assert err.getvalue() == "error: refused: Bearer *** was sent\n"

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


# -- fitting a console: values whole, prose between words --------------------------------
from xerolink.layout import choose, wrap_words  # noqa: E402


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _draw(width: int, rows, columns, monkeypatch) -> tuple[str, str]:
    monkeypatch.setenv("COLUMNS", str(width))
    out, err = io.StringIO(), io.StringIO()
    Renderer(stdout=out, stderr=err).records(rows, columns)
    return out.getvalue(), err.getvalue()


PEOPLE = [{"ref": f"contact:c{n}", "name": "Aroha Te Whare-Ngata", "status": "AUTHORISED",
           "email": f"aroha.tewhare{n}@pohutukawa-holdings.example.com",
           "phone": "+64 21 555 0100", "note": "x"} for n in range(3)]
PEOPLE_COLUMNS = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
                  Column("email", "Email"), Column("status", "Status"),
                  Column("phone", "Phone", drop=1), Column("note", "Note", drop=2)]


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_tables_never_cut_a_value_and_drop_the_least_useful_first(width, monkeypatch) -> None:
    out, err = _draw(width, PEOPLE, PEOPLE_COLUMNS, monkeypatch)
    lines = out.splitlines()
    for row in PEOPLE:
        assert row["email"] in out and row["ref"] in out and row["status"] in out
    assert all(line == line.rstrip() for line in lines)
    if width >= 100:
        assert "Phone" in out
    if width >= 120:
        assert "Note" in out and "hidden" not in err
    layout = choose(PEOPLE_COLUMNS, {c.key: [str(r[c.key]) for r in PEOPLE]
                                     for c in PEOPLE_COLUMNS}, width)
    if layout.style != "stacked":
        assert max(len(line) for line in lines) <= width
        kept = [c.key for c in layout.columns]
        assert "note" not in kept or "phone" in kept, "Note (rank 2) goes before Phone"
        assert {"ref", "name", "email", "status"} <= set(kept)


def test_too_narrow_for_any_whole_table_each_row_becomes_a_block(monkeypatch) -> None:
    out, _ = _draw(40, PEOPLE, PEOPLE_COLUMNS, monkeypatch)
    assert "Email:" in out and "Status:     AUTHORISED" in out
    for row in PEOPLE:
        assert row["email"] in out, "a value longer than the line is kept whole"
    assert "Aroha Te Whare-Ngata" in " ".join(out.split())


def test_prose_wraps_between_words_and_keeps_long_words_whole() -> None:
    text = "see /a/very/long/path/to/the/profile/config.toml for the settings it holds"
    lines = wrap_words(text, 20)
    assert " ".join(lines) == text
    assert "/a/very/long/path/to/the/profile/config.toml" in lines
    assert all(len(line) <= 20 for line in lines if "/" not in line)


def test_error_lines_wrap_at_a_terminal_and_stay_one_line_elsewhere(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    message = "no terminal to answer 'Create this Xero contact?': pass --yes to go ahead"
    piped = io.StringIO()
    Renderer(stderr=piped).error(message)
    assert piped.getvalue() == f"error: {message}\n"
    tty = _Tty()
    Renderer(stderr=tty).error(message)
    lines = tty.getvalue().splitlines()
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert " ".join(" ".join(lines).split()) == f"error: {message}"
    assert all(line.startswith("       ") for line in lines[1:])


def test_lines_wrap_between_words_at_the_console_width(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    out = io.StringIO()
    Renderer(stdout=out).line("Numbers link to Xero in terminals that support links; "
                              "https://go.xero.com/app/invoicing/view/0123456789abcdef")
    lines = out.getvalue().splitlines()
    assert "https://go.xero.com/app/invoicing/view/0123456789abcdef" in lines
    assert all(len(line) <= 30 for line in lines if "https" not in line)


# Values as data brings them: letters and spaces (leading, trailing, doubled), digits,
# wide characters (two cells), a combining accent (none), private-use characters (the
# fast path's own placeholders), and empty values; long enough that some must wrap.
_CELL = st.text(st.sampled_from([*"ab Z9 -.", "\u6f22", "\u00e9", "\u0301", "\ue000",
                                  "\uf8ff"]), max_size=24)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[Column], int, bool]:
    count = draw(st.integers(1, 5))
    columns = [Column(f"k{i}", draw(st.sampled_from(["Name", "Amount due", "Id", "A long header"])),
                      justify=draw(st.sampled_from(["left", "right"])),
                      style=draw(st.sampled_from([None, "bold", "red"])),
                      wrap=draw(st.booleans()), drop=draw(st.sampled_from([0, 0, 1, 2])))
               for i in range(count)]
    rows = draw(st.lists(st.fixed_dictionaries({c.key: _CELL for c in columns}),
                         min_size=1, max_size=6))
    return rows, columns, draw(st.integers(20, 210)), draw(st.booleans())


@given(_tables())
def test_plain_tables_are_the_characters_rich_draws(table) -> None:
    """Output that is not a terminal draws fitting tables a line a row (_PlainGrid);
    each is, character for character, what Rich's own table draws."""
    import os
    from unittest import mock

    from xerolink import render

    rows, columns, width, wide = table
    drawn: dict[bool, str] = {}
    for plain in (True, False):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, {"COLUMNS": str(width)}), \
                mock.patch.object(render, "_fits", render._fits if plain else lambda *_: False):
            Renderer(stdout=out, stderr=err, wide=wide).records(rows, columns, title="Things")
        drawn[plain] = out.getvalue()
    assert drawn[True] == drawn[False]


def test_a_fitting_table_is_drawn_without_rich_laying_out_its_rows(monkeypatch) -> None:
    from rich.table import Table

    monkeypatch.setenv("COLUMNS", "120")
    rows = [{"ref": f"contact:{n}", "name": f"Person {n}", "due": f"{n}.00"} for n in range(500)]
    columns = [Column("ref", "Reference"), Column("name", "Name", wrap=True),
               Column("due", "Due", justify="right")]
    laid_out: list[int] = []
    real = Table.add_row
    monkeypatch.setattr(Table, "add_row", lambda self, *a, **k: (laid_out.append(1),
                                                                 real(self, *a, **k)))
    out = io.StringIO()
    Renderer(stdout=out, stderr=io.StringIO()).records(rows, columns)
    lines = out.getvalue().splitlines()
    assert len(laid_out) == 1, "one row of placeholders, not 500 rows"
    assert len(lines) == 4 + 500, "boxed: the top rule, the header, its rule, the bottom"
    assert [cell.strip() for cell in lines[3].split("\u2502")] == ["", "contact:0",
                                                                  "Person 0", "0.00", ""]
    assert lines[-2].endswith("499.00 \u2502") and not any("\ue000" in x for x in lines)

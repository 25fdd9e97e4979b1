"""The one place that turns results into text: rich tables, JSON or CSV.

Commands compute plain data (dataclasses, dicts, lists with ``Decimal`` amounts) and
hand it here. In JSON mode stdout carries exactly one JSON document; in CSV mode one
table. Human decoration, notices and errors go to stderr so pipes stay clean.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TextIO

from xerolink.money import is_whole_cents
from xerolink.redact import redact
from xerolink.results import Result, to_jsonable
from xerolink.validation import UNSAFE

HUMAN, JSON, CSV = "human", "json", "csv"
WIDE = 200  # columns a console needs before tables add their wide-only columns
LONG_LIST = 1000  # past this many elements, --json writes one element to a line
SHORT_ID = 8  # a Xero id shown short, as git shows commits: enough to tell them apart

# A spreadsheet treats a cell that begins with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Characters a terminal acts on rather than shows: C0 and C1 controls (ESC starts
# colour, cursor and OSC-8 hyperlink sequences), DEL, and the bidi controls that make
# text read in another order than it is stored (validation.UNSAFE), and tabs, which
# break a table's columns. Data shows them as \uXXXX.
_UNSAFE = re.compile(f"{UNSAFE.pattern}|\t")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 contact``, ``2 contacts``, ``1 company``, ``3 companies``."""
    if count == 1:
        return f"{count} {singular}"
    if many is None:
        many = singular[:-1] + "ies" if singular.endswith("y") else singular + "s"
    return f"{count:,} {many}"


def timestamp(value: datetime | str) -> str:
    """A moment as people read it everywhere: ``2026-12-01 10:20 UTC``. Text in ISO
    form (a stored ``2026-12-01T10:20:11+00:00``) is shown the same way; other text as
    it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """Text from data (CRM files, Xero, the store) made safe to print literally: no
    control or bidi character reaches the terminal; each is shown as ``\\uXXXX``.
    Tables and single lines also show a newline as ``\\u000a``."""
    shown = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown if keep_newlines else shown.replace("\n", "\\u000a")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    justify: str = "left"  # "right" for amounts and counts: never wrapped or clipped
    style: str | None = None
    wrap: bool = False  # free text may wrap; codes, dates and numbers never break
    wide_only: bool = False  # shown in a table only when the console has room
    link_key: str | None = None  # cell becomes a terminal hyperlink to row[link_key]
    short_id: bool = False  # a 36-character Xero id: its first 8 characters unless wide
    optional: bool = False  # dropped (rightmost first) when the table would not fit


def csv_cell(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else value
    text = to_jsonable(value)
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


def _human_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if is_whole_cents(value) else format(value, "f")
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_human_cell(v) for v in value)
    return str(value)


@dataclass
class Renderer:
    mode: str = HUMAN
    wide: bool = False  # --wide: full ids and every column, whatever the width
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    _console: Any = None
    _err_console: Any = None
    _bar: Any = None  # (Progress, task) while a progress bar is showing

    # -- consoles -------------------------------------------------------------
    def _make_console(self, stream: TextIO) -> Any:
        from rich.console import Console

        # Piped output is read in logs and pagers: give tables room unless COLUMNS says.
        piped = not getattr(stream, "isatty", lambda: False)()
        width = 160 if piped and not os.environ.get("COLUMNS") else None
        # markup and emoji off: no string is ever read as Rich markup ("[/]",
        # "[link=...]") or an emoji code (":warning:"); styled headings are Text.
        return Console(
            file=stream,
            width=width,
            no_color=bool(os.environ.get("NO_COLOR")),
            highlight=False,
            soft_wrap=False,
            markup=False,
            emoji=False,
        )

    @property
    def console(self) -> Any:
        if self._console is None:
            self._console = self._make_console(self.stdout)
        return self._console

    @property
    def err_console(self) -> Any:
        if self._err_console is None:
            self._err_console = self._make_console(self.stderr)
        return self._err_console

    @property
    def is_human(self) -> bool:
        return self.mode == HUMAN

    def interactive(self) -> bool:
        """Progress bars and prompts only when a person is watching stderr."""
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    # -- structured output ----------------------------------------------------
    def json(self, data: Any) -> None:
        """One JSON document. A long list (a listing) is written one element to a line,
        each by the C encoder: the indenting encoder is pure Python and made a listing
        of 100,000 records take seconds."""
        document = to_jsonable(data)
        if isinstance(document, list) and len(document) > LONG_LIST:
            encode = json.JSONEncoder(ensure_ascii=False).encode
            self.stdout.write("[\n" + ",\n".join("  " + encode(item) for item in document)
                              + "\n]\n")
        else:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        self.stdout.flush()

    def json_line(self, data: Any) -> None:
        """One compact JSON document on one line: for streams a script reads line by line."""
        self.stdout.write(json.dumps(to_jsonable(data), ensure_ascii=False) + "\n")
        self.stdout.flush()

    def result(self, result: Result, human: Callable[[], None] | None = None) -> None:
        """A command's result: its ``to_json()`` in JSON mode; for people, ``human``
        draws it (tables, lines) from the same object."""
        if self.mode != HUMAN:
            self.json(result.to_json())
        elif human is not None:
            human()

    def records(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[Column],
        *,
        title: str | None = None,
        empty: str = "No Records Found",
        json_data: Any = None,
        row_style: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> None:
        """A list: a table for people, every column for CSV, the rows (or json_data) as JSON.
        ``row_style`` colours rows that mean something (overdue, a problem); Rich leaves
        them plain under NO_COLOR and when output is not a terminal."""
        if self.mode == JSON:
            self.json(rows if json_data is None else json_data.to_json()
                      if isinstance(json_data, Result) else json_data)
        elif self.mode == CSV:
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow([csv_cell(row.get(c.key)) for c in columns])
            self.stdout.flush()
        elif not rows:
            self.console.print(empty)
        else:
            self.console.print(self.table(rows, columns, title=title, row_style=row_style))

    def table(
        self, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, title: str | None,
        row_style: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        rows = list(rows)
        wide = self.wide or self.console.width >= WIDE
        shown = [c for c in columns if not c.wide_only or wide]

        def cell(row: Mapping[str, Any], col: Column) -> str:
            text = printable(_human_cell(row.get(col.key)))
            return text[:SHORT_ID] if col.short_id and not wide else text

        shown, compact = self._fitting(shown, rows, cell, wide)
        # Compact: no vertical rules, one space between columns, so a narrow terminal
        # shows every value whole rather than a boxed table with cut dates and numbers.
        table = Table(title=Text(printable(title)) if title else None, title_justify="left",
                      header_style="bold", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                      show_edge=not compact, pad_edge=not compact,
                      collapse_padding=compact)
        for col in shown:
            cells = [cell(row, col) for row in rows]
            if col.justify == "right" or col.short_id:  # amounts, counts, ids: whole
                width = max([len(col.header), *(len(c) for c in cells)])
                table.add_column(col.header, justify=col.justify,  # type: ignore[arg-type]
                                 style=col.style,
                                 no_wrap=True, min_width=width)
            elif col.wrap:  # free text may wrap, but never shrinks to nothing
                table.add_column(col.header, style=col.style, overflow="fold",
                                 min_width=min(10, max([len(col.header), *(len(c) for c in
                                                                             cells)])))
            else:
                table.add_column(col.header, style=col.style, no_wrap=True)
        for row in rows:
            texts: list[Text] = []
            for col in shown:
                text = cell(row, col)
                url = row.get(col.link_key) if col.link_key else None
                texts.append(Text(text, style=f"link {url}") if url and _safe_url(url)
                             else Text(text))
            table.add_row(*texts, style=row_style(row) if row_style else None)
        return table

    def _fitting(self, columns: list[Column], rows: list[Mapping[str, Any]],
                 cell: Callable[[Mapping[str, Any], Column], str], wide: bool
                 ) -> tuple[list[Column], bool]:
        """The columns to show, and whether to draw them compact: the boxed table if
        every value fits whole, else compact, else compact without the optional
        columns (rightmost first). Names, numbers, dates and amounts are never cut to
        make room."""
        if wide:
            return columns, False

        def natural(col: Column) -> int:
            longest = max([len(col.header), *(len(cell(r, col)) for r in rows)])
            return min(longest, 12) if col.wrap else longest

        def total(kept: list[Column], per_column: int) -> int:
            return sum(natural(c) + per_column for c in kept) + 1

        if total(columns, 3) <= self.console.width:  # a space each side and a rule
            return columns, False
        kept = list(columns)
        while total(kept, 2) > self.console.width:
            optional = [c for c in kept if c.optional]
            if not optional:
                break
            kept.remove(optional[-1])
        return kept, True

    def key_values(self, pairs: Sequence[tuple[str, Any]], *, title: str | None = None,
                   json_data: Any = None) -> None:
        """A record shown as label: value lines; JSON gets json_data (or the pairs as a dict)."""
        if self.mode == JSON:
            self.json(dict(pairs) if json_data is None else json_data)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(printable(title)) if title else None, title_justify="left",
                      show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column()
        for label, value in pairs:
            table.add_row(Text(f"{label}:"), Text(printable(_human_cell(value))))
        self.console.print(table)

    def print(self, *renderables: Any) -> None:
        """Human-only output (rich renderables; a string is printed literally, never as
        markup); silent in JSON and CSV mode."""
        if self.mode == HUMAN:
            self.console.print(*(printable(r, keep_newlines=True) if isinstance(r, str)
                                 else r for r in renderables))

    def heading(self, text: str, style: str = "bold") -> None:
        """A styled line whose text (which may hold data) is shown literally."""
        from rich.text import Text

        if self.mode == HUMAN:
            self.console.print(Text(printable(text), style=style))

    def line(self, text: str) -> None:
        """A plain line on stdout in human mode, with no markup interpretation and no
        control character reaching the terminal."""
        if self.mode == HUMAN:
            self.stdout.write(printable(text) + "\n")
            self.stdout.flush()

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr when a person is watching; otherwise nothing. The
        callable takes (done, total, phase=None): a phase names what is being read now
        and restarts the count. Notices while the bar shows (a wait for Xero's rate
        limit) appear on the bar, not printed over it."""
        if not self.interactive():
            yield lambda done, total, phase=None: None
            return
        from rich.progress import Progress

        with Progress(console=self.err_console, transient=True) as bar:
            task = bar.add_task(description, total=None)
            self._bar = (bar, task)

            def update(done: int, total: int | None, phase: str | None = None) -> None:
                if phase:
                    bar.update(task, completed=done, total=total, description=phase)
                else:
                    bar.update(task, completed=done, total=total)
                if phase:
                    bar.refresh()  # a new phase shows at once

            try:
                yield update
            finally:
                self._bar = None

    # -- stderr ---------------------------------------------------------------
    def notice(self, text: str) -> None:
        """Something a person should see that is not the result (waits, hints)."""
        shown = printable(redact(text), keep_newlines=True)
        if self._bar is not None:
            bar, task = self._bar
            bar.update(task, description=shown)
            bar.refresh()  # a wait shows at once, for as long as it lasts
            return
        self.stderr.write(shown + "\n")
        self.stderr.flush()

    def error(self, message: str) -> None:
        """The single error line. Secrets are masked even if a message carried one."""
        one_line = printable(" ".join(redact(message).split()))
        self.stderr.write(f"error: {one_line}\n")
        self.stderr.flush()


def _safe_url(url: Any) -> bool:
    """Only http(s) links with nothing a terminal could misread become hyperlinks."""
    text = str(url)
    return text.startswith(("https://", "http://")) and not _UNSAFE.search(text) \
        and " " not in text

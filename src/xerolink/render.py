"""The one place that turns results into text: rich tables, JSON or CSV.

Commands compute plain data (dataclasses, dicts, lists with ``Decimal`` amounts) and
hand it here. Results go to stdout (JSON mode: exactly one document; CSV: one table;
human: tables and lines); notices, progress and errors go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TextIO

from xerolink.layout import Column as Column  # re-exported: commands describe columns
from xerolink.layout import Layout, choose, labelled, stacked, wrap_parts, wrap_words
from xerolink.layout import timestamp as timestamp
from xerolink.money import grouped, plain
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


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """Text from data (CRM files, Xero, the store) made safe to print literally: no
    control or bidi character reaches the terminal; each is shown as ``\\uXXXX``.
    Tables and single lines also show a newline as ``\\u000a``."""
    shown = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown if keep_newlines else shown.replace("\n", "\\u000a")


def csv_cell(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return plain(value) if isinstance(value, Decimal) else value
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
        return grouped(value)
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

    def takes_bytes(self) -> bool:
        """Whether stdout may carry raw bytes (a PDF with ``-o -``): not a terminal,
        which would show them as garbage, and a stream with a byte buffer."""
        stream = self.stdout
        return not getattr(stream, "isatty", lambda: False)() and hasattr(stream, "buffer")

    def binary(self, data: bytes) -> None:
        """Bytes on stdout exactly as they are; ``takes_bytes()`` says whether it may."""
        self.stdout.flush()
        buffer = self.stdout.buffer
        buffer.write(data)
        buffer.flush()

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
            import csv

            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow([csv_cell(row.get(c.key)) for c in columns])
            self.stdout.flush()
        elif not rows:
            self.line(empty)
        else:
            self.emit(self.table(rows, columns, title=title, row_style=row_style))

    def table(
        self, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, title: str | None,
        row_style: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> Any:
        """The table as a renderable, its title above it. Values are never cut: a
        column that must shrink is one of free text, wrapped between words; when the
        console is too narrow even so, the least useful columns go (a notice says
        which), and failing that each row is shown as a block of lines."""
        from rich.console import Group
        from rich.text import Text

        rows = list(rows)
        wide = self.wide or self.console.width >= WIDE

        def cell(row: Mapping[str, Any], col: Column) -> str:
            text = printable(_human_cell(row.get(col.key)))
            return text[:SHORT_ID] if col.short_id and not wide else text

        shown = [c for c in columns if not c.wide_only or wide]
        cells = {c.key: [cell(row, c) for row in rows] for c in shown}
        layout = choose(shown, cells, self.console.width, wide=wide)
        if layout.hidden:
            self.notice(f"note: {', '.join(c.header for c in layout.hidden)} hidden to fit "
                        f"{self.console.width} columns; --wide shows every column")
        parts: list[Any] = _title(title, self.console.width)
        if layout.style == "stacked":
            parts += [Text(line) for line in stacked(layout.columns, cells, len(rows),
                                                     self.console.width)]
        else:
            parts.append(self._grid(rows, layout, cells, row_style))
        return Group(*parts)

    def _grid(self, rows: list[Mapping[str, Any]], layout: Layout,
              cells: Mapping[str, Sequence[str]],
              row_style: Callable[[Mapping[str, Any]], str | None] | None) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        def frame() -> Table:
            boxed = layout.style == "boxed"
            table = Table(header_style="bold", box=box.HEAVY_HEAD if boxed else box.SIMPLE_HEAD,
                          show_edge=boxed, pad_edge=boxed, collapse_padding=not boxed,
                          padding=(0, 0) if layout.style == "tight" else (0, 1))
            for col, width in zip(layout.columns, layout.widths, strict=True):
                justify: Literal["left", "right"] = "right" if col.justify == "right" \
                    else "left"
                table.add_column(col.header, justify=justify, style=col.style, width=width,
                                 overflow="fold")
            return table

        def full() -> Table:
            table = frame()
            for number, row in enumerate(rows):
                texts: list[Text] = []
                for col, width in zip(layout.columns, layout.widths, strict=True):
                    text = cells[col.key][number]
                    if col.keep and width and len(text) > width:
                        text = wrap_parts(text, col.keep, width)
                    url = row.get(col.link_key) if col.link_key else None
                    texts.append(Text(text, style=f"link {url}") if url and _safe_url(url)
                                 else Text(text))
                table.add_row(*texts, style=row_style(row) if row_style else None)
            return table

        if self.console.color_system is None and _fits(layout, cells):
            return _PlainGrid(frame, full, layout, [cells[c.key] for c in layout.columns],
                              len(rows))
        return full()

    def key_values(self, pairs: Sequence[tuple[str, Any]], *, title: str | None = None,
                   json_data: Any = None) -> None:
        """A record shown as label: value lines, values wrapped between words under
        themselves; JSON gets json_data (or the pairs as a dict)."""
        if self.mode == JSON:
            self.json(dict(pairs) if json_data is None else json_data)
            return
        from rich.console import Group
        from rich.text import Text

        lines: list[Any] = _title(title, self.console.width)
        for text in labelled([(name, printable(_human_cell(value))) for name, value in pairs],
                             self.console.width):
            line = Text(text)
            if text[:1] != " ":  # the label, bold; a wrapped value's later lines are not
                line.stylize("bold", 0, text.index(":") + 1)
            lines.append(line)
        self.emit(Group(*lines))

    def emit(self, renderable: Any) -> None:
        """Print a renderable on stdout with no trailing spaces (tables pad their
        cells; a pipe, a diff or a log should not carry that padding). Nothing is
        re-wrapped or cropped here: a line longer than the console was made so to
        keep a value whole, and the terminal shows it whole."""
        from rich.segment import Segment, Segments

        lines = self.console.render_lines(renderable, self.console.options.update_width(
            10_000), pad=False)
        segments = [s for line in lines for s in [*_rstrip(line), Segment.line()]]
        self.console.print(Segments(segments), crop=False, soft_wrap=True)

    def print(self, *renderables: Any) -> None:
        """Human-only output (rich renderables; a string is printed literally, never as
        markup); silent in JSON and CSV mode."""
        if self.mode == HUMAN:
            self.console.print(*(printable(r, keep_newlines=True) if isinstance(r, str)
                                 else r for r in renderables))

    def heading(self, text: str, style: str = "bold") -> None:
        """A styled line whose text (which may hold data) is shown literally, wrapped
        between words where the console is narrower (no line ends in a space)."""
        from rich.console import Group
        from rich.text import Text

        if self.mode == HUMAN:
            self.emit(Group(*(Text(line, style=style)
                              for line in wrap_words(printable(text), self.console.width))))

    def line(self, text: str) -> None:
        """A plain line on stdout in human mode, with no markup interpretation and no
        control character reaching the terminal; prose longer than the console is
        wrapped between words (a link or a path stays whole)."""
        if self.mode == HUMAN:
            self.stdout.write("\n".join(wrap_words(printable(text), self.console.width))
                              + "\n")
            self.stdout.flush()

    def log_line(self, text: str) -> None:
        """One line of a service's log on stdout, never wrapped (a log collector reads
        a line a record), with no control character and no secret."""
        self.stdout.write(printable(redact(text)) + "\n")
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
                if total == 0:  # nothing to do is done, not a bar stuck at 0%
                    done = total = 1
                # (a description of None keeps the bar's own)
                bar.update(task, completed=done, total=total, description=phase or None)
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
        self.stderr.write(self._for_stderr(shown) + "\n")
        self.stderr.flush()

    def error(self, message: str) -> None:
        """The single error line (wrapped between words only for a person at a
        terminal; a script or a log gets one line). Secrets are masked even if a
        message carried one."""
        one_line = printable(" ".join(redact(message).split()))
        self.stderr.write(self._for_stderr(f"error: {one_line}", indent="       ") + "\n")
        self.stderr.flush()

    def _for_stderr(self, text: str, indent: str = "") -> str:
        """Text for stderr: at a terminal, each line wrapped between words to its
        width, so no word is split at the edge; elsewhere as it is."""
        if not self.interactive():
            return text
        width = self.err_console.width
        return "\n".join(wrapped for line in text.split("\n")
                         for wrapped in wrap_words(line, width, indent=indent))


def _title(title: str | None, width: int) -> list[Any]:
    from rich.text import Text

    return [Text(line) for line in wrap_words(printable(title), width)] if title else []


def _rstrip(line: list[Any]) -> list[Any]:
    """A rendered line without its trailing spaces (styles kept on the rest)."""
    from rich.segment import Segment

    segments = list(line)
    while segments:
        last = segments[-1]
        if last.control:
            break
        text = last.text.rstrip(" ")
        if text:
            segments[-1] = Segment(text, last.style, last.control)
            break
        segments.pop()
    return segments


def _fits(layout: Layout, cells: Mapping[str, Sequence[str]]) -> bool:
    """Every value on one line within its column: nothing for Rich to wrap."""
    from rich.cells import cell_len

    return all(width > 0 for width in layout.widths) and all(
        cell_len(text) <= width and "\n" not in text
        for col, width in zip(layout.columns, layout.widths, strict=True)
        for text in cells[col.key])


class _PlainGrid:
    """A table drawn without styles (output that is not a terminal, where Rich drops
    them) whose every value fits its column: its rows are the same characters Rich
    draws, a line each, without Rich measuring, wrapping and padding every cell again
    (3,000 links: 1.4 s of Rich's to 0.1 s). Rich draws the header, the rules and the
    spacing between cells, from the same table with one row of placeholders; each row
    is that row with its values put in, justified to their widths."""

    _MARK = 0xE000  # private-use characters: the placeholders, one a column

    def __init__(self, frame: Callable[[], Any], full: Callable[[], Any], layout: Layout,
                 columns: list[Sequence[str]], count: int) -> None:
        self._frame, self._full = frame, full
        self._layout, self._columns, self._count = layout, columns, count

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.cells import cell_len
        from rich.segment import Segment

        template = self._frame()
        template.add_row(*(chr(self._MARK + i) * width
                           for i, width in enumerate(self._layout.widths)))
        lines = ["".join(s.text for s in line)
                 for line in console.render_lines(template, options, pad=False)]
        marked = [i for i, line in enumerate(lines) if chr(self._MARK) in line]
        pieces = re.split("[\ue000-\uf8ff]+", lines[marked[0]]) if len(marked) == 1 else []
        if len(pieces) != len(self._columns) + 1:  # not drawn as expected: Rich draws it
            yield self._full()
            return
        at = marked[0]
        right = [c.justify == "right" for c in self._layout.columns]
        for line in lines[:at]:
            yield Segment(line)
            yield Segment.line()
        widths = self._layout.widths
        for number in range(self._count):
            out = [pieces[0]]
            for i, width in enumerate(widths):
                text = self._columns[i][number]
                if right[i]:
                    text = text.rstrip()  # as Rich justifies to the right
                gap = " " * (width - cell_len(text))
                out += [gap, text] if right[i] else [text, gap]
                out.append(pieces[i + 1])
            yield Segment("".join(out))
            yield Segment.line()
        for line in lines[at + 1:]:
            yield Segment(line)
            yield Segment.line()


def _safe_url(url: Any) -> bool:
    """Only http(s) links with nothing a terminal could misread become hyperlinks."""
    text = str(url)
    return text.startswith(("https://", "http://")) and not _UNSAFE.search(text) \
        and " " not in text

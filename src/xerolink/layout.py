"""The arithmetic of showing text in a console of a given width, for render.py: which
columns a table keeps, how wide each is, and where prose breaks. Plain text in, plain
numbers out (no Rich here), so every rule can be checked without drawing.

The rules: a value is never cut. Codes, references, emails, statuses, dates and amounts
stay on one line; free text (names, titles, reasons) wraps between words, never inside
one. When a table cannot fit so, the columns of highest ``drop`` rank go first, and
when even that fails each row is shown as a block of ``Header: value`` lines.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

COMFORTABLE = 12  # free text keeps this many characters a line before a word a line


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    justify: str = "left"  # "right" for amounts and counts: never wrapped or clipped
    style: str | None = None
    wrap: bool = False  # free text may wrap between words; anything else stays whole
    # with wrap: wrap only where this separates a value's parts (", " between
    # "1,040.00 EUR" and "10.50 NZD"), so that no part is split across lines
    keep: str | None = None
    wide_only: bool = False  # shown in a table only when the console has room
    link_key: str | None = None  # cell becomes a terminal hyperlink to row[link_key]
    short_id: bool = False  # a 36-character Xero id: its first 8 characters unless wide
    optional: bool = False  # may be dropped when the table would not fit (as drop=1)
    drop: int = 0  # 0: always shown; else dropped when the table would not fit, highest first

    @property
    def rank(self) -> int:
        """How soon this column goes when a table is too wide (0: never)."""
        return self.drop or (1 if self.optional else 0)


@dataclass(frozen=True)
class Layout:
    """How a table is drawn: its columns with their widths, in a box, compact (two
    spaces between columns), tight (one), or stacked (a block of lines a row)."""

    columns: list[Column]
    widths: list[int]
    style: str  # "boxed", "compact", "tight" or "stacked"
    hidden: list[Column]


def timestamp(value: datetime | str) -> str:
    """A moment as people read it everywhere: ``2026-12-01 10:20 UTC``. Text in ISO
    form (a stored ``2026-12-01T10:20:11+00:00``) is shown the same way; other text as
    it is."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def overhead(style: str, columns: int) -> int:
    """The characters a table's rules and padding take beside its values: boxed, a
    space each side and a rule per column and one more rule; compact, two spaces
    between columns; tight, one."""
    return {"boxed": 3 * columns + 1, "compact": 2 * (columns - 1),
            "tight": columns - 1}[style]


def _longest_word(text: str, keep: str | None = None) -> int:
    """The longest word, or with ``keep`` the longest part and the separator's mark that
    ends its line (wrap_parts)."""
    if keep is None:
        return max((len(word) for word in text.split()), default=0)
    return max((len(part) + len(keep.rstrip()) for part in text.split(keep)), default=0)


def wrap_parts(text: str, keep: str, width: int) -> str:
    """``text`` wrapped only between the parts ``keep`` separates, each line at most
    ``width`` (a part longer than that on a line of its own); ``keep`` stays at the end
    of the line it ends."""
    lines: list[str] = []
    for part in text.split(keep):
        if lines and len(lines[-1]) + len(keep) + len(part) <= width:
            lines[-1] += keep + part
        elif lines:
            lines[-1] += keep.rstrip()
            lines.append(part)
        else:
            lines.append(part)
    return "\n".join(lines)


@dataclass(frozen=True)
class _Measure:
    natural: int  # the header and every value on one line
    hard: int  # the narrowest that cuts nothing
    soft: int  # the narrowest that reads comfortably


def _measure(col: Column, cells: Sequence[str]) -> _Measure:
    natural = max([len(col.header), *(len(c) for c in cells)])
    header = _longest_word(col.header)  # headers wrap between words too
    if not col.wrap:
        hard = max([header, *(len(c) for c in cells)])
        return _Measure(natural, hard, hard)
    hard = max([header, *(_longest_word(c, col.keep) for c in cells)])
    return _Measure(natural, hard, max(hard, min(natural, COMFORTABLE)))


def choose(columns: Sequence[Column], cells: Mapping[str, Sequence[str]], width: int, *,
           wide: bool = False) -> Layout:
    """The widest way to draw these columns in ``width`` characters that cuts no value.

    Tried in order: free text at a comfortable width, boxed, then compact, then
    tight; the same with free text down to its longest word; then the same without
    the column of highest ``drop`` rank, one at a time (the rightmost of equals
    first); last, stacked. ``wide`` (--wide): every column, boxed, each value on one
    line, whatever the width."""
    measures = {c.key: _measure(c, cells[c.key]) for c in columns}
    if wide:
        return Layout(list(columns), [measures[c.key].natural for c in columns], "boxed", [])
    kept = list(columns)
    while True:
        styles = ("boxed", "compact", "tight") if len(kept) == len(columns) \
            else ("compact", "tight")
        natural = [measures[c.key].natural for c in kept]
        for floor in ([measures[c.key].soft for c in kept],
                      [measures[c.key].hard for c in kept]):
            for style in styles:
                room = width - overhead(style, len(kept))
                if sum(floor) <= room:
                    return Layout(kept, spread(floor, natural, room), style,
                                  [c for c in columns if c not in kept])
        droppable = [c for c in kept if c.rank]
        if not droppable:
            return Layout(list(columns), [measures[c.key].natural for c in columns],
                          "stacked", [])
        highest = max(c.rank for c in droppable)
        kept.remove([c for c in droppable if c.rank == highest][-1])


def spread(floor: Sequence[int], natural: Sequence[int], room: int) -> list[int]:
    """Widths from the floor up: the room left over goes, a character at a time in
    turn, to the columns that would still wrap, until each shows its values on one
    line or the room is used."""
    widths = list(floor)
    spare = room - sum(widths)
    short = [i for i, w in enumerate(widths) if w < natural[i]]
    while spare > 0 and short:
        for i in short:
            if spare == 0:
                break
            widths[i] += 1
            spare -= 1
        short = [i for i in short if widths[i] < natural[i]]
    return widths


def wrap_words(text: str, width: int, *, indent: str = "") -> list[str]:
    """Prose wrapped between words to ``width``, later lines indented by ``indent``;
    a word longer than a line (a path, a link, an email) is kept whole on a line of
    its own, never cut."""
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width=max(width, len(indent) + 1), subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [text]


def labelled(pairs: Sequence[tuple[str, str]], width: int,
             keeps: Mapping[str, str] | None = None) -> list[str]:
    """``Label:  value`` lines, labels padded to one column and each value wrapped
    between words under itself (between the parts ``keeps`` names for its label)."""
    label = max((len(name) for name, _ in pairs), default=0) + 3
    lines: list[str] = []
    for name, value in pairs:
        keep = (keeps or {}).get(name)
        if keep is None:
            lines += wrap_words(f"{name + ':':<{label}}{value}", width, indent=" " * label)
            continue
        parts = wrap_parts(value, keep, max(1, width - label)).split("\n")
        lines += [f"{name + ':':<{label}}{parts[0]}", *(" " * label + p for p in parts[1:])]
    return lines


def stacked(columns: Sequence[Column], cells: Mapping[str, Sequence[str]], count: int,
            width: int) -> list[str]:
    """Each row as ``Header: value`` lines (empty values left out), a blank line
    between rows: for a console too narrow for any table that keeps values whole."""
    lines: list[str] = []
    for number in range(count):
        if number:
            lines.append("")
        lines += labelled([(c.header, cells[c.key][number]) for c in columns
                           if cells[c.key][number]], width,
                          {c.header: c.keep for c in columns if c.keep})
    return lines

"""Reading a CRM file as a stream: CSV (any common dialect), NDJSON, or a JSON list.

Rows are yielded one at a time, so a 50 MB file never sits in memory whole, and the
size cap counts the bytes actually read (a pipe or ``/dev/zero`` reports no size).
The first 64 KiB are read ahead to tell the format and the CSV dialect.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from xerolink.errors import NotFoundError, UsageError

MAX_FILE_BYTES = 200 * 1024 * 1024
SAMPLE_CHARS = 64 * 1024
CHUNK_CHARS = 256 * 1024
MAX_LINE_CHARS = 16 * 1024 * 1024  # a line longer than this is not a CRM record
Rows = Iterator[tuple[int, dict[str, Any]]]


class _Capped(io.RawIOBase):
    """A binary stream that refuses to deliver more than ``limit`` bytes."""

    def __init__(self, raw: BinaryIO, limit: int, name: str) -> None:
        self.raw, self.limit, self.name, self.seen = raw, limit, name, 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.seen += count or 0
        if self.seen > self.limit:
            raise UsageError(f"{self.name} is larger than {self.limit // 2**20} MiB; nothing "
                             "was imported")
        return count or 0


@contextmanager
def open_text(path: Path, limit: int = MAX_FILE_BYTES) -> Iterator[io.TextIOWrapper]:
    """The file as UTF-8 text (BOM removed), capped at ``limit`` bytes read."""
    try:
        raw = path.open("rb", buffering=0)
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a file") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc})") from None
    stream = io.TextIOWrapper(io.BufferedReader(_Capped(raw, limit, path.name)),
                              encoding="utf-8-sig", newline="")
    try:
        yield stream
    finally:
        stream.close()


def detect(path: Path, sample: str) -> str:
    """csv, json or ndjson, from the name or else the first character."""
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    first = sample.lstrip()[:1]
    if first == "[":
        return "json"
    if first == "{":
        return "json" if _one_document(sample) else "ndjson"
    return "csv"


def _one_document(sample: str) -> bool:
    """A sample starting with ``{`` is NDJSON if its first line is a whole object."""
    first_line = sample.lstrip().split("\n", 1)[0]
    try:
        json.loads(first_line)
    except (ValueError, RecursionError):
        return True
    return "\n" not in sample.strip()


def _lines(sample: str, stream: io.TextIOWrapper, name: str) -> Iterator[str]:
    """The sample's lines and then the stream's, joined where the sample cut one; a
    line longer than ``MAX_LINE_CHARS`` (``/dev/zero`` has no end of line) stops it."""
    pending = ""
    for line in io.StringIO(sample, newline=""):
        if line.endswith(("\n", "\r")):
            yield pending + line
            pending = ""
        else:
            pending += line
    while True:
        line = stream.readline(MAX_LINE_CHARS)
        if not line:
            break
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise UsageError(f"{name}: a line is longer than {MAX_LINE_CHARS // 2**20} MiB "
                             "of text; nothing was imported")
        yield pending + line
        pending = ""
    if pending:
        yield pending


def csv_rows(sample: str, stream: io.TextIOWrapper, name: str) -> tuple[list[str], Rows]:
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_lines(sample, stream, name), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UsageError(f"{name} has no header row ({exc})") from None
    columns = [c.strip().lower() for c in header]
    if len(set(columns)) != len(columns):
        raise UsageError(f"{name}: the header repeats a column name")

    def rows() -> Rows:
        while True:
            start = reader.line_num + 1  # a record's first line: a quoted field may span more
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                reason = str(exc)
                if "field limit" in reason:
                    reason = f"a field is longer than {csv.field_size_limit()} characters"
                raise UsageError(f"{name} row {reader.line_num}: {reason}; nothing was "
                                 "imported") from None
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                yield start, {"__error__": f"has {len(values)} fields, the header "
                                          f"has {len(columns)}"}
                continue
            yield start, dict(zip(columns, values, strict=True))

    return columns, rows()


def ndjson_rows(sample: str, stream: io.TextIOWrapper, name: str) -> Rows:
    for number, line in enumerate(_lines(sample, stream, name), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{name} line {number} is not valid JSON ({exc})") from None
        except RecursionError:
            raise UsageError(f"{name} line {number}: JSON nested too deeply to be a CRM "
                             "record") from None


class _JsonReader:
    """A JSON document read from a stream chunk by chunk: whitespace skipped, one
    value decoded at a time, so a file of records never sits in memory whole."""

    def __init__(self, sample: str, stream: io.TextIOWrapper, name: str) -> None:
        self.decoder = json.JSONDecoder()
        self.stream, self.name = stream, name
        self.buffer, self.position, self.eof = sample, 0, False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.buffer, self.position = self.buffer[self.position:] + chunk, 0
        return True

    def skip(self, chars: str = " \t\r\n") -> str:
        """Skip chars; the next character, or "" at the end."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in chars:
                self.position += 1
            if self.position < len(self.buffer) or not self.more():
                return self.buffer[self.position] if self.position < len(self.buffer) else ""

    def value(self) -> Any:
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                raise UsageError(f"{self.name} is not valid JSON ({exc})") from None
            except RecursionError:
                raise UsageError(f"{self.name}: JSON nested too deeply to be CRM "
                                 "records") from None
            if end == len(self.buffer) and self.more():
                continue  # a number may go on in the next chunk
            self.position = end
            return item


def json_list_rows(sample: str, stream: io.TextIOWrapper, name: str, kinds: tuple[str, ...]
                   ) -> Rows:
    """The records of ``[...]`` or ``{"contacts": [...]}``, decoded one by one."""
    reader = _JsonReader(sample, stream, name)
    not_a_list = (f"{name}: JSON must be a list of records (or one of "
                  f"{', '.join(kinds)} holding a list)")
    if reader.skip() == "{":
        start = reader.position
        reader.position += 1
        key = reader.value() if reader.skip() == '"' else None
        if key not in kinds or reader.skip() != ":":
            reader.position = start
            reader.value()  # the whole document: says "not valid JSON" if it is not
            raise UsageError(not_a_list)
        reader.position += 1
    if reader.skip() != "[":
        raise UsageError(not_a_list)
    reader.position += 1
    number = 0
    if reader.skip() == "]":
        return
    while True:
        number += 1
        reader.skip()
        yield number, reader.value()
        separator = reader.skip()
        reader.position += 1
        if separator == "]":
            return
        if separator != ",":
            raise UsageError(f"{name}: expected ',' or ']' after record {number}")

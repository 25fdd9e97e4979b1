"""CRM records: reading contacts, companies and deals from CSV, JSON or NDJSON, and
the references (``contact:42``, ``company:7``, ``deal:9``) that name them.

A file is checked whole before anything is written: a bad row rejects the file
with its row number and reason (or, with ``skip_invalid``, is skipped and reported),
and the rest goes into the store in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from xerolink import validation
from xerolink.errors import NotFoundError, UsageError
from xerolink.store import Store
from xerolink.store.records import CrmCompany, CrmContact, CrmDeal

KINDS = ("contacts", "companies", "deals")
COLUMNS = {
    "contacts": ("id", "first_name", "last_name", "email", "phone", "company_id"),
    "companies": ("id", "name"),
    "deals": ("id", "title", "value", "currency", "primary_contact_id", "participant_ids"),
}
REQUIRED = {"contacts": ("id",), "companies": ("id", "name"), "deals": ("id", "title")}
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_FIELD = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")


# -- references ------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    kind: str  # "contact", "company" or "deal"
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_ref(text: str, *, default: str = "contact") -> Ref:
    """``contact:42``, ``company:7``, ``deal:9``; a bare id means a contact."""
    raw = text.strip()
    kind, sep, ident = raw.partition(":")
    if not sep:
        kind, ident = default, raw
    kind = kind.lower()
    if kind not in ("contact", "company", "deal"):
        raise UsageError(f"invalid reference {text!r}: use contact:ID, company:ID or deal:ID")
    _check_id(ident, f"reference {text!r}")
    return Ref(kind, ident)


def _check_id(ident: str, what: str) -> None:
    if not ident or len(ident) > 128 or validation.has_unsafe(ident) or ident != ident.strip():
        raise UsageError(f"invalid {what}: an id is 1 to 128 characters with no control "
                         "characters or surrounding spaces")


# -- import ----------------------------------------------------------------------
@dataclass
class ImportResult:
    kind: str
    imported: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    fmt: str = "csv"


class _RowError(ValueError):
    pass


def read_file(path: Path) -> tuple[str, str]:
    """The file's text and format (csv, json or ndjson); BOMs removed, UTF-8 required."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a file") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); "
                         "save it as UTF-8 and import again") from None
    if not text.strip():
        raise UsageError(f"{path} is empty")
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return text, "ndjson"
    if suffix == ".json":
        return text, "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return text, "csv"
    first = text.lstrip()[:1]
    if first == "[":
        return text, "json"
    if first == "{":
        return text, ("json" if _is_single_json(text) else "ndjson")
    return text, "csv"


def _is_single_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    except RecursionError:
        return True  # parsed as JSON next, and refused there with the reason
    return True


def _rows(text: str, fmt: str, name: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Column names and (row number, record) pairs. Row numbers are what a person sees:
    the line of a CSV row (header = 1), the position in a JSON list, the NDJSON line."""
    if fmt == "csv":
        return _csv_rows(text, name)
    records: list[tuple[int, Any]] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{name} is not valid JSON ({exc})") from None
        except RecursionError:
            raise UsageError(f"{name}: JSON nested too deeply to be CRM records") from None
        if isinstance(data, dict):
            lists = [v for k, v in data.items() if k in KINDS and isinstance(v, list)]
            data = lists[0] if len(lists) == 1 else None
        if not isinstance(data, list):
            raise UsageError(f"{name}: JSON must be a list of records (or one of "
                             f"{', '.join(KINDS)} holding a list)")
        records = list(enumerate(data, start=1))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except ValueError as exc:
                raise UsageError(f"{name} line {number} is not valid JSON ({exc})") from None
            except RecursionError:
                raise UsageError(f"{name} line {number}: JSON nested too deeply to be a "
                                 "CRM record") from None
    for number, record in records:
        if not isinstance(record, dict):
            raise UsageError(f"{name} record {number} is not an object")
    columns: list[str] = []
    for _, record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    if not records:
        raise UsageError(f"{name} holds no records")
    return columns, iter(records)


def _csv_rows(text: str, name: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    sample = text[:64 * 1024]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UsageError(f"{name} has no header row ({exc})") from None
    columns = [c.strip().lower() for c in header]
    if len(set(columns)) != len(columns):
        raise UsageError(f"{name}: the header repeats a column name")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        while True:
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
                yield reader.line_num, {"__error__": f"has {len(values)} fields, the header "
                                                     f"has {len(columns)}"}
                continue
            yield reader.line_num, dict(zip(columns, values, strict=True))

    return columns, rows()


def detect_kind(columns: Iterable[str]) -> str:
    present = set(columns)
    if "title" in present or "primary_contact_id" in present or "participant_ids" in present:
        return "deals"
    if present & {"first_name", "last_name", "email", "phone", "company_id"}:
        return "contacts"
    if "name" in present:
        return "companies"
    raise UsageError("cannot tell whether the file holds contacts, companies or deals from "
                     "its columns; pass --kind")


def _text(record: dict[str, Any], key: str, *, phone: bool = False) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _RowError(f"{key} must be text")
    text = str(value).strip()
    if len(text) > MAX_FIELD:
        raise _RowError(f"{key} is longer than {MAX_FIELD} characters")
    if validation.has_unsafe(text):
        raise _RowError(f"{key} contains control or bidi characters")
    if validation.looks_like_formula(text) and not (phone and _PHONE.match(text)):
        raise _RowError(f"{key} starts with {text[0]!r}, which spreadsheets run as a formula")
    return text


def _ident(record: dict[str, Any], key: str, *, required: bool) -> str | None:
    text = _text(record, key)
    if not text:
        if required:
            raise _RowError(f"{key} is missing")
        return None
    if len(text) > 128:
        raise _RowError(f"{key} is longer than 128 characters")
    return text


def _contact(record: dict[str, Any]) -> CrmContact:
    email = _text(record, "email")
    if email and not EMAIL.match(email):
        raise _RowError(f"email {email[:60]!r} is not an email address")
    contact = CrmContact(
        id=_ident(record, "id", required=True) or "",
        first_name=_text(record, "first_name"),
        last_name=_text(record, "last_name"),
        email=email.lower(),
        phone=_text(record, "phone", phone=True),
        company_id=_ident(record, "company_id", required=False),
    )
    if not (contact.first_name or contact.last_name or contact.email):
        raise _RowError("needs a first name, a last name or an email")
    return contact


def _company(record: dict[str, Any]) -> CrmCompany:
    name = _text(record, "name")
    if not name:
        raise _RowError("name is missing")
    return CrmCompany(id=_ident(record, "id", required=True) or "", name=name)


def _deal(record: dict[str, Any]) -> CrmDeal:
    title = _text(record, "title")
    if not title:
        raise _RowError("title is missing")
    raw_value = record.get("value")
    value = None
    if raw_value not in (None, ""):
        if isinstance(raw_value, bool | float) or not isinstance(raw_value, str | int):
            raise _RowError("value must be written as a decimal number, e.g. \"1500.00\"")
        value = validation.decimal(str(raw_value))
        if value is None:
            raise _RowError(f"value {str(raw_value)[:30]!r} is not a number (digits 0-9, "
                            "an optional point, no separators)")
        if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
            raise _RowError("value must be a finite amount from 0 up to 999,999,999,999")
        if value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise _RowError("value has more than 4 decimal places")
    written = _text(record, "currency")
    currency = validation.currency(written) if written else None
    if written and currency is None:
        raise _RowError(f"currency {written[:10]!r} is not a three-letter code")
    participants = record.get("participant_ids")
    if participants in (None, ""):
        ids: list[str] = []
    elif isinstance(participants, list):
        if not all(isinstance(p, str | int) and not isinstance(p, bool) for p in participants):
            raise _RowError("participant_ids must hold ids (text or whole numbers)")
        ids = [str(p).strip() for p in participants]
    elif isinstance(participants, str):
        ids = [p.strip() for p in participants.split(";")]
    else:
        raise _RowError("participant_ids must be a list, or ids separated by ';'")
    ids = [p for p in ids if p]
    for participant in ids:
        if len(participant) > 128 or validation.has_unsafe(participant):
            raise _RowError("a participant id is invalid")
    return CrmDeal(
        id=_ident(record, "id", required=True) or "",
        title=title,
        value=value,
        currency=currency,
        primary_contact_id=_ident(record, "primary_contact_id", required=False),
        participant_ids=tuple(dict.fromkeys(ids)),
    )


_BUILDERS = {"contacts": _contact, "companies": _company, "deals": _deal}


def import_file(store: Store, path: Path, *, kind: str | None, skip_invalid: bool,
                at: datetime) -> ImportResult:
    text, fmt = read_file(path)
    name = path.name
    columns, rows = _rows(text, fmt, name)
    chosen = kind or detect_kind(columns)
    if chosen not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
    missing = [c for c in REQUIRED[chosen] if c not in columns]
    if missing:
        raise UsageError(f"{name}: missing column {', '.join(missing)} for {chosen} "
                         f"(columns: {', '.join(COLUMNS[chosen])})")
    extra = [c for c in columns if c not in COLUMNS[chosen]]
    if extra:
        raise UsageError(f"{name}: unknown column {', '.join(repr(c) for c in extra[:5])} for "
                         f"{chosen} (columns: {', '.join(COLUMNS[chosen])})")
    build = _BUILDERS[chosen]
    records: list[Any] = []
    skipped: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, record in rows:
        try:
            if "__error__" in record:
                raise _RowError(record["__error__"])
            item = build(record)
            if item.id in seen:
                raise _RowError(f"id {item.id!r} already appears in row {seen[item.id]}")
            seen[item.id] = number
            records.append(item)
        except _RowError as exc:
            if not skip_invalid:
                raise UsageError(f"{name} row {number}: {exc}; nothing was imported "
                                 "(--skip-invalid imports the other rows)") from None
            skipped.append({"row": number, "reason": str(exc)})
    if not records and not skipped:
        raise UsageError(f"{name} holds no records")
    store.upsert_crm_records(**{chosen: records}, at=at)
    return ImportResult(chosen, len(records), skipped, fmt)

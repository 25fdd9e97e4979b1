"""CRM records: reading contacts, companies and deals from CSV, JSON or NDJSON, and
the references (``contact:42``, ``company:7``, ``deal:9``) that name them.

A file is checked whole before anything is written: a bad row rejects the file
with its row number and reason (or, with ``skip_invalid``, is skipped and reported),
and the rest goes into the store in one transaction.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from xerolink import validation
from xerolink.errors import UsageError
from xerolink.formats import EMAIL
from xerolink.services.outcomes import Imported
from xerolink.store import Store
from xerolink.store.models import CrmCompany, CrmContact, CrmDeal
from xerolink.vocabulary import RECORD_KINDS, RECORD_PLURALS, RecordKind

KINDS = RECORD_PLURALS
COLUMNS = {
    RecordKind.CONTACT.plural: ("id", "first_name", "last_name", "email", "phone", "company_id"),
    RecordKind.COMPANY.plural: ("id", "name"),
    RecordKind.DEAL.plural: ("id", "title", "value", "currency", "primary_contact_id",
                             "participant_ids"),
}
REQUIRED = {RecordKind.CONTACT.plural: ("id",), RecordKind.COMPANY.plural: ("id", "name"),
            RecordKind.DEAL.plural: ("id", "title")}
MAX_FIELD = 1000
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
    if kind not in RECORD_KINDS:
        raise UsageError(f"invalid reference {validation.shown(text)}: use contact:ID, "
                         "company:ID or deal:ID")
    _check_id(ident, f"reference {validation.shown(text)}")
    return Ref(kind, ident)


def _check_id(ident: str, what: str) -> None:
    if not ident or len(ident) > 128 or validation.has_unsafe(ident) or ident != ident.strip():
        raise UsageError(f"invalid {what}: an id is 1 to 128 characters with no control "
                         "characters or surrounding spaces")


# -- import ----------------------------------------------------------------------
class _RowError(ValueError):
    pass


def detect_kind(columns: Iterable[str]) -> str:
    present = set(columns)
    if "title" in present or "primary_contact_id" in present or "participant_ids" in present:
        return RecordKind.DEAL.plural
    if present & {"first_name", "last_name", "email", "phone", "company_id"}:
        return RecordKind.CONTACT.plural
    if "name" in present:
        return RecordKind.COMPANY.plural
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
                            "an optional point, no spaces, plus signs or separators)")
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


_BUILDERS: dict[str, Callable[[dict[str, Any]], CrmContact | CrmCompany | CrmDeal]] = {
    RecordKind.CONTACT.plural: _contact, RecordKind.COMPANY.plural: _company,
    RecordKind.DEAL.plural: _deal}


def import_file(store: Store, path: Path, *, kind: str | None, skip_invalid: bool,
                at: datetime) -> Imported:
    """Validate and write every record in one transaction, reading the file as a
    stream: a bad row (without --skip-invalid) rolls everything back."""
    from xerolink.services import crmfile

    name = path.name
    with crmfile.open_text(path) as stream:
        try:
            sample = stream.read(crmfile.SAMPLE_CHARS)
            if not sample.strip():
                raise UsageError(f"{path} is empty")
            fmt = crmfile.detect(path, sample)
            if fmt == "csv":
                columns, rows = crmfile.csv_rows(sample, stream, name)
                chosen = _check_columns(kind or detect_kind(columns), columns, name)
            else:
                rows = (crmfile.ndjson_rows(sample, stream, name) if fmt == "ndjson" else
                        crmfile.json_list_rows(sample, stream, name, KINDS))
                first = next(rows, None)
                if first is None:
                    raise UsageError(f"{name} holds no records")
                rows = itertools.chain([first], rows)
                if not isinstance(first[1], dict):
                    raise UsageError(f"{name} record {first[0]} is not an object")
                keys = list(first[1])
                chosen = kind or _wrapper_kind(sample) or detect_kind(keys)
                if chosen not in KINDS:
                    raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
            written: dict[str, int] = {}  # id -> row, of every record written
            skipped: list[dict[str, Any]] = []
            records = _validated(rows, chosen, name, skip_invalid, written, skipped,
                                 check_keys=fmt != "csv")
            store.upsert_crm_records(**{chosen: records}, at=at)
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text; save it as UTF-8 and import "
                             "again") from None
    if not written and not skipped:
        raise UsageError(f"{name} holds no records")
    return Imported(chosen, fmt, len(written), skipped, name)


def _wrapper_kind(sample: str) -> str | None:
    """``{"deals": [...]}`` names its kind."""
    found = re.match(r'\s*\{\s*"(\w+)"\s*:', sample)
    return found.group(1) if found and found.group(1) in KINDS else None


def _check_columns(chosen: str, columns: list[str], name: str) -> str:
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
    return chosen


def _validated(rows: Iterator[tuple[int, Any]], chosen: str, name: str, skip_invalid: bool,
               seen: dict[str, int], skipped: list[dict[str, Any]], *, check_keys: bool
               ) -> Iterator[Any]:
    """Each valid record, built; its id goes into ``seen`` (with its row), each row
    skipped into ``skipped``. An invalid one stops the import (raising inside the
    store's transaction, which rolls back) unless ``skip_invalid``."""
    build = _BUILDERS[chosen]
    for number, record in rows:
        if not isinstance(record, dict):
            raise UsageError(f"{name} record {number} is not an object")
        if check_keys:
            extra = [k for k in record if k not in COLUMNS[chosen]]
            if extra:
                raise UsageError(f"{name} record {number}: unknown column "
                                 f"{', '.join(repr(k)[:40] for k in extra[:5])} for {chosen} "
                                 f"(columns: {', '.join(COLUMNS[chosen])})")
        try:
            if "__error__" in record:
                raise _RowError(record["__error__"])
            item = build(record)
            if item.id in seen:
                raise _RowError(f"id {item.id!r} already appears in row {seen[item.id]}")
            seen[item.id] = number
        except _RowError as exc:
            if not skip_invalid:
                raise UsageError(f"{name} row {number}: {exc}; nothing was imported "
                                 "(--skip-invalid imports the other rows)") from None
            skipped.append({"row": number, "reason": str(exc)})
            continue
        yield item


# -- completion ---------------------------------------------------------------------
COMPLETIONS = 50  # at most this many suggestions: a shell shows no more usefully


def complete_refs(store: Store, typed: str, kinds: tuple[str, ...]) -> list[str]:
    """References of the store's CRM records that begin with what was typed, for the
    shell's completion."""
    found: list[str] = []
    listings: dict[str, Callable[[], Sequence[CrmContact | CrmCompany | CrmDeal]]] = {
        RecordKind.CONTACT: store.list_crm_contacts, RecordKind.COMPANY: store.list_crm_companies,
        RecordKind.DEAL: store.list_crm_deals}
    for kind in kinds:
        for record in listings[kind]():
            ref = f"{kind}:{record.id}"
            if ref.startswith(typed):
                found.append(ref)
                if len(found) >= COMPLETIONS:
                    return found
    return found

"""Salesmate's records as its answers give them, read defensively: a field in any of
the shapes the public record leaves open, a timestamp or a count that is not one read
as missing (the caller makes that Salesmate's fault, exit 9), text made printable."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xerolink import validation
from xerolink.crmsource.base import Pulled
from xerolink.errors import CrmUnreachableError
from xerolink.store.models import CrmCompany, CrmContact, CrmDeal
from xerolink.vocabulary import RecordKind

NAME = "salesmate"
# What an update must repeat, per kind (the update endpoints' required fields).
ECHO: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: ("lastName", "owner"), RecordKind.COMPANY: ("name", "owner"),
    RecordKind.DEAL: ("title", "primaryContact", "owner", "pipeline", "status", "stage")}
# Timestamps outside these years are not Salesmate's (it was founded in 2014).
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:200]


def retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def whole(value: Any) -> int | None:
    """A count: a whole number of 0 or more (``600``, ``"600"``, or ``600.0``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() and value >= 0 \
            else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value)
    return None


def pick(row: dict[str, Any], dotted: str) -> Any:
    """A field from a search row, whichever shape it comes in: ``{"company": {"id": 5}}``,
    ``{"company.id": 5}``, or ``{"company": 5}`` for ``company.id``."""
    if dotted in row:
        return row[dotted]
    head, _, rest = dotted.partition(".")
    value = row.get(head)
    if not rest:
        return value
    if isinstance(value, dict):
        return pick(value, rest)
    return value if rest == "id" and isinstance(value, int | str) else None


def _text(row: dict[str, Any], dotted: str) -> str:
    value = pick(row, dotted)
    if value is None or isinstance(value, dict | list | bool):
        return ""
    text = str(value).strip()
    if text.isprintable():  # nearly always: the same text, without a pass per character
        return text[:1000]
    return "".join(c for c in text if c.isprintable())[:1000]


def _ident(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, dict):
        return _ident(value.get("id"))
    text = str(value).strip()
    return text if text and len(text) <= 128 and text.isprintable() else None


def parse_time(value: Any) -> datetime | None:
    """Salesmate's timestamps: ISO 8601 (UTC when no offset is given) or epoch
    milliseconds, in UTC; None for anything else, or a time outside 1970-9000
    (``NaN``, ``1e20``, a negative epoch)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            parsed = datetime.fromtimestamp(value / 1000, UTC)
        else:
            parsed = datetime.fromisoformat(str(value)[:64].replace("Z", "+00:00"))
            parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


def parse_row(kind: str, row: Any, fields: Sequence[str]) -> Pulled:
    if not isinstance(row, dict):
        raise CrmUnreachableError("Salesmate's search answer holds a record that is not an "
                                  "object; nothing was changed")
    record_id = _ident(row.get("id"))
    stamped = pick(row, "lastModifiedAt")
    modified = parse_time(stamped if stamped not in (None, "") else pick(row, "createdAt"))
    if record_id is None or modified is None:
        raise CrmUnreachableError(
            f"Salesmate answered a {kind} without a readable id or lastModifiedAt (id "
            f"{printable(repr(row.get('id')))[:30]}, lastModifiedAt "
            f"{printable(repr(stamped))[:40]}); nothing was changed")
    record: CrmContact | CrmCompany | CrmDeal
    if kind == RecordKind.CONTACT:
        email = _text(row, "email").lower()
        record = CrmContact(id=record_id, first_name=_text(row, "firstName"),
                            last_name=_text(row, "lastName"),
                            email=email if "@" in email else "",
                            phone=_text(row, "phone") or _text(row, "mobile"),
                            company_id=_ident(pick(row, "company.id")), source=NAME)
    elif kind == RecordKind.COMPANY:
        record = CrmCompany(id=record_id, name=_text(row, "name") or f"Company {record_id}",
                            source=NAME)
    else:
        participants = pick(row, "participants")
        ids = [i for i in (_ident(p) for p in participants)
               if i] if isinstance(participants, list) else []
        currency = _text(row, "currency").upper()
        record = CrmDeal(id=record_id, title=_text(row, "title") or f"Deal {record_id}",
                         value=_amount(record_id, pick(row, "dealValue")),
                         currency=currency if len(currency) == 3 and currency.isalpha()
                         else None,
                         primary_contact_id=_ident(pick(row, "primaryContact.id")),
                         participant_ids=tuple(dict.fromkeys(ids)), source=NAME)
    echo = {key: _ident(pick(row, f"{key}.id")) if key in ("owner", "primaryContact")
            else _text(row, key) for key in ECHO[kind]}
    values = {f: _text(row, f) for f in fields}
    return Pulled(kind, record, modified.astimezone(UTC), echo, values)


def _amount(record_id: str, value: Any) -> Decimal | None:
    """A deal's value: none, or an amount within xerolink's bounds (below 10^12, at
    most 4 places). Anything else (``"1e30"``, ``NaN``, ``"lots"``, a negative) is the
    server's fault: exit 9, nothing written, rather than a store no command can show."""
    if value in (None, ""):
        return None
    amount = None
    if isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, str) and len(value) <= 40:
        amount = validation.decimal(value)
    problem = ("is not a plain decimal number" if amount is None
               else validation.amount_problem(amount))
    if problem is not None:
        raise CrmUnreachableError(
            f"Salesmate answered deal:{record_id} with a dealValue that {problem} "
            f"({printable(repr(value))[:40]}); nothing was changed")
    return amount

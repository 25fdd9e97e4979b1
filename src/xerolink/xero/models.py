"""Xero's JSON, as parsed by the gateway (amounts already Decimal), into xerolink's
records. The only place that knows Xero's field names for these resources."""

from __future__ import annotations

from typing import Any

from xerolink.store.records import XeroContact
from xerolink.xero.jsonutil import ms_datetime, text


def contact(data: dict[str, Any]) -> XeroContact:
    persons = tuple(
        (text(p.get("FirstName")), text(p.get("LastName")), text(p.get("EmailAddress")).lower())
        for p in data.get("ContactPersons") or [] if isinstance(p, dict)
    )
    return XeroContact(
        contact_id=text(data.get("ContactID")).lower(),
        name=text(data.get("Name")),
        status=text(data.get("ContactStatus")) or "ACTIVE",
        first_name=text(data.get("FirstName")),
        last_name=text(data.get("LastName")),
        email=text(data.get("EmailAddress")).lower(),
        persons=persons,
        updated_utc=ms_datetime(data.get("UpdatedDateUTC")),
    )

"""Xero's formats that more than one layer checks: ids (GUIDs), email addresses, and
the Windows timezone names Xero gives an organisation. Standard library only, so the
sandbox (which stands alone) shares them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"(\d+)")

# Xero's organisation timezones are Windows names; these are the IANA zones behind them.
XERO_TIMEZONES = {
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland", "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EAUSTRALIASTANDARDTIME": "Australia/Brisbane", "CENAUSTRALIASTANDARDTIME":
    "Australia/Adelaide", "AUSCENTRALSTANDARDTIME": "Australia/Darwin",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth", "TASMANIASTANDARDTIME": "Australia/Hobart",
    "GMTSTANDARDTIME": "Europe/London", "GREENWICHSTANDARDTIME": "Atlantic/Reykjavik",
    "WEUROPESTANDARDTIME": "Europe/Berlin", "ROMANCESTANDARDTIME": "Europe/Paris",
    "CENTRALEUROPEANSTANDARDTIME": "Europe/Warsaw", "CENTRALEUROPESTANDARDTIME":
    "Europe/Budapest", "GTBSTANDARDTIME": "Europe/Bucharest", "FLESTANDARDTIME":
    "Europe/Kiev", "EASTERNSTANDARDTIME": "America/New_York", "CENTRALSTANDARDTIME":
    "America/Chicago", "MOUNTAINSTANDARDTIME": "America/Denver", "USMOUNTAINSTANDARDTIME":
    "America/Phoenix", "PACIFICSTANDARDTIME": "America/Los_Angeles", "ALASKANSTANDARDTIME":
    "America/Anchorage", "HAWAIIANSTANDARDTIME": "Pacific/Honolulu", "ATLANTICSTANDARDTIME":
    "America/Halifax", "NEWFOUNDLANDSTANDARDTIME": "America/St_Johns",
    "CANADACENTRALSTANDARDTIME": "America/Regina", "SINGAPORESTANDARDTIME": "Asia/Singapore",
    "CHINASTANDARDTIME": "Asia/Shanghai", "TOKYOSTANDARDTIME": "Asia/Tokyo",
    "KOREASTANDARDTIME": "Asia/Seoul", "INDIASTANDARDTIME": "Asia/Kolkata",
    "ARABIANSTANDARDTIME": "Asia/Dubai", "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg",
    "FIJISTANDARDTIME": "Pacific/Fiji", "TONGASTANDARDTIME": "Pacific/Tongatapu",
    "SAMOASTANDARDTIME": "Pacific/Apia", "SEASIASTANDARDTIME": "Asia/Bangkok",
    "UTC": "UTC", "COORDINATEDUNIVERSALTIME": "UTC",
}


def natural(text: str) -> list[Any]:
    """Sort key that puts k112 before k1036: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(text)]


def is_guid(text: str) -> bool:
    return bool(GUID.match(text.strip()))


def local_date(now: datetime, xero_timezone: str | None) -> date:
    """The date where an organisation is (UTC for a timezone xerolink does not know)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = XERO_TIMEZONES.get((xero_timezone or "").upper().replace(" ", ""), "UTC")
    try:
        return now.astimezone(ZoneInfo(name)).date()
    except ZoneInfoNotFoundError:
        return now.date()

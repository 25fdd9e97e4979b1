"""Xero's daily allowance, checked before a bulk job rather than discovered half-way.

Each organisation allows an app a number of calls a day: 5,000 on the established
tiers, reported at 1,000 on the Starter tier that new apps get since March 2026.
Every answer carries ``X-DayLimit-Remaining``; xerolink stores the last value seen
(with when it was seen). Before ``refresh --all`` or ``link --auto``, the job's calls
are estimated (a lower bound: pages beyond the first cannot be known in advance), and
a job that cannot fit in what is left today is refused before its first call, unless
the user passes ``--force``. Xero's day window resets at a time of its own per
organisation, so a remainder seen more than a day ago is not trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from xerolink.errors import XeroRefusedError
from xerolink.store.models import Connection

TRUSTED_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class DayRemainder:
    calls: int
    seen_at: datetime


def day_remainder(connection: Connection, now: datetime) -> DayRemainder | None:
    """The last ``X-DayLimit-Remaining`` seen for this organisation, if recent."""
    try:
        seen = json.loads(connection.rate_limits or "null")
        calls = int(seen["day_remaining"])
        at = datetime.fromisoformat(str(seen["seen_at"]))
    except (TypeError, ValueError, KeyError):
        return None
    if at.tzinfo is None or now - at > TRUSTED_FOR:
        return None
    return DayRemainder(calls, at)


def check(connection: Connection, job: str, estimate: int, *, now: datetime,
          force: bool) -> None:
    """Refuse (exit 6) a job estimated to need more calls than are left today."""
    if force:
        return
    left = day_remainder(connection, now)
    if left is None or estimate <= left.calls:
        return
    raise XeroRefusedError(
        f"{job} needs at least {estimate} Xero calls, but only {left.calls} of today's "
        f"allowance for {connection.tenant_name} are left (as of {left.seen_at:%H:%M} UTC); "
        "try after Xero's daily window resets, or pass --force to start anyway")

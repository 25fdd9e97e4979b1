"""Time as a dependency, so that "today" and "overdue" can be tested on a fixed date."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from xerolink.errors import UsageError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    """``XEROLINK_NOW`` (ISO-8601) pins the clock for tests and reproducible reports."""
    env = os.environ if env is None else env
    pinned = env.get("XEROLINK_NOW")
    if not pinned:
        return SystemClock()
    try:
        at = datetime.fromisoformat(pinned)
    except ValueError:
        raise UsageError(f"XEROLINK_NOW={pinned!r} is not an ISO-8601 date-time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return FixedClock(at.astimezone(UTC))

"""Time as a dependency, so that "today" and "overdue" can be tested on a fixed date,
and a simulated day run in a minute.

``XEROLINK_NOW`` pins the clock. ``XEROLINK_CLOCK_SPEED=SPEED@ORIGIN`` (a test and
benchmark facility, not for production) runs it ``SPEED`` times real time from
``ORIGIN``, the real instant at which it reads real time: what ``xerolink sandbox serve
--clock-speed`` prints, so that xerolink and the sandbox agree on the time. The
service's waits are scaled with it (``real_seconds``): a 15-minute interval at speed
1440 waits 0.625 real seconds.
"""

from __future__ import annotations

import math
import os
import time
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


@dataclass(frozen=True)
class ScaledClock:
    """Real time run ``speed`` times faster from ``origin`` (epoch seconds, the real
    instant at which it reads real time)."""

    speed: float
    origin: float

    def now(self) -> datetime:
        real = time.time()
        return datetime.fromtimestamp(self.origin + (real - self.origin) * self.speed, UTC)


def real_seconds(clock: Clock, seconds: float) -> float:
    """How long a wait of ``seconds`` on ``clock`` lasts in real time."""
    return seconds / clock.speed if isinstance(clock, ScaledClock) else seconds


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    """``XEROLINK_NOW`` (ISO-8601) pins the clock for tests and reproducible reports;
    ``XEROLINK_CLOCK_SPEED`` (``SPEED@ORIGIN``) runs it fast."""
    env = os.environ if env is None else env
    pinned = env.get("XEROLINK_NOW")
    scaled = env.get("XEROLINK_CLOCK_SPEED")
    if scaled and pinned:
        raise UsageError("XEROLINK_NOW pins the clock and XEROLINK_CLOCK_SPEED runs it: "
                         "set one of them")
    if scaled:
        return _scaled(scaled)
    if not pinned:
        return SystemClock()
    try:
        at = datetime.fromisoformat(pinned)
    except ValueError:
        raise UsageError(f"XEROLINK_NOW={pinned!r} is not an ISO-8601 date-time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return FixedClock(at.astimezone(UTC))


def _scaled(text: str) -> ScaledClock:
    """``SPEED@ORIGIN``: a positive speed up to 100,000 and an ISO-8601 instant."""
    speed_text, _, origin_text = text.partition("@")
    problem = (f"XEROLINK_CLOCK_SPEED={text[:60]!r} is not SPEED@ORIGIN (as `xerolink "
               "sandbox serve --clock-speed` prints it: 1440@2026-12-01T10:00:00+00:00)")
    try:
        speed = float(speed_text)
        origin = datetime.fromisoformat(origin_text)
    except ValueError:
        raise UsageError(problem) from None
    if not (math.isfinite(speed) and 0 < speed <= 100_000):
        raise UsageError(problem)
    if origin.tzinfo is None:
        origin = origin.replace(tzinfo=UTC)
    return ScaledClock(speed, origin.timestamp())

"""Keeping a run's calls inside Xero's minute limit instead of being refused.

Xero's minute limit is a fixed window per organisation (docs/xero-fidelity.md): 60
calls, counted from the window's first call, each answer saying how many remain
(``X-MinLimit-Remaining``). Counting those down, a run knows when it has used its
window, and, having seen the window's first answer (59 left), when the window ends.
Then it waits for the next window rather than sending calls Xero will refuse with a
429 (five at a time, with five in flight). A 429's ``Retry-After`` holds every thread
of the run, not only the one refused. Other processes may share the window; their
calls show in the counts, and anything missed still ends in a 429, handled as before.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xerolink.xero.answers import header

MINUTE_LIMIT = 60
MARGIN = 1.0  # seconds past the window's expected end: the window began after our send


@dataclass
class Ticket:
    """One call's place in the pacing: when it was sent, whether it was answered."""

    sent_at: float
    done: bool = False


class MinutePacer:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._lock = threading.Lock()
        self._left: int | None = None  # calls left in the window, as last answered
        self._in_flight = 0
        self._window_end: float | None = None
        self._resume_at = 0.0

    def wait_before(self, cleared: float = 0.0) -> tuple[float, float]:
        """Seconds to wait before the next call: until a refused call's Retry-After
        has passed, or the window is over when its calls are used up; and the time it
        waits until. ``cleared``: a time this caller has already waited for."""
        with self._lock:
            now = self._now()
            if self._resume_at > max(now, cleared):
                return self._resume_at - now, self._resume_at
            if self._left is not None and self._left - self._in_flight <= 0:
                self._left = None  # the next answer tells the new window's count
                if self._window_end is not None and self._window_end > max(now, cleared):
                    self._resume_at = self._window_end
                    return self._window_end - now, self._window_end
            return 0.0, cleared

    def send(self) -> Ticket:
        with self._lock:
            self._in_flight += 1
            return Ticket(self._now())

    def answered(self, ticket: Ticket, remaining: int | None) -> None:
        """A call came back (or failed): ``remaining`` is its X-MinLimit-Remaining."""
        with self._lock:
            if ticket.done:
                return
            ticket.done = True
            self._in_flight = max(0, self._in_flight - 1)
            if remaining is None:
                return
            if remaining >= MINUTE_LIMIT - 1:  # the window's first call: it ends in 60 s
                self._window_end = ticket.sent_at + 60.0 + MARGIN
            fresh = self._left is None or remaining >= MINUTE_LIMIT - 1
            self._left = remaining if fresh else min(self._left or 0, remaining)

    def refused(self, retry_after: float) -> float:
        """A minute-limit 429: every thread waits for it. Returns when it ends."""
        with self._lock:
            self._resume_at = max(self._resume_at, self._now() + retry_after)
            self._left = None
            return self._resume_at


@dataclass
class Waits:
    """One call's waits for Xero's rate limits."""

    windows: int = 0  # waits for a minute (or app-minute) window
    busy: int = 0  # concurrent-limit refusals
    busy_seconds: float = 0.0
    cleared: float = 0.0  # a pacing wait this call has already sat out, until then


def retry_after_seconds(headers: Any) -> float | None:
    """A 429's Retry-After in seconds; None if absent or not a finite number."""
    try:
        raw = header(headers, "Retry-After")
        value = None if raw in (None, "") else max(0.0, float(raw))
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None

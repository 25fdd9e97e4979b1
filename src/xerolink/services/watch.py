"""``crm update --watch``: passes on a schedule, for as long as the service runs.

The loop is bounded (``MAX_PASSES``, years at any sane interval) and owns no clock:
the time of day, the monotonic clock and the wait between passes are handed in, so a
test runs a simulated day in seconds. The wait is on ``wake`` (a ``threading.Event``):
whoever learns that Xero changed (the webhook receiver) sets it to start the next pass
at once; whoever must stop the service (the CLI's SIGTERM/SIGINT handlers) sets
``stop`` and then ``wake``. A pass under way when ``stop`` is set finishes first.

A failing pass (Xero or the CRM unreachable, a 5xx, a 429, the store unreachable, a
pass refused by the day's budget) is logged and the next one waits twice as long as
the last (from the interval, up to ``BACKOFF_CAP`` or the interval if longer); the
service stays up. What no wait can fix (a connection that needs re-authorising, a
missing scope, a refused CRM token, a permission taken away, a damaged store) stops
the service with that error's message and exit code.

The interval is planned so that the service's Xero calls stay under a share
(``budget``) of what the organisation has left today: with ``R`` calls left (the last
``X-DayLimit-Remaining``, or the Starter tier's 1,000 when none is known: the stricter
reading) and ``c`` calls a pass, passes are at least ``86400 * c / (budget * R)``
seconds apart. Xero's day window resets at a time of its own, so the whole ``R`` is
assumed to have to last 24 hours; as ``R`` falls the interval widens, and each widening
is said in the pass's log line and in ``status``.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from xerolink.errors import (
    CrmRecordRefusedError,
    CrmRefusedError,
    NotConnectedError,
    PermissionDeniedError,
    StoreDamagedError,
    UsageError,
    XerolinkError,
)
from xerolink.results import Result

if TYPE_CHECKING:
    from xerolink.store import Store

MAX_PASSES = 1_000_000
BACKOFF_CAP = 3600.0
DAY = 86400.0
STARTER_DAY_LIMIT = 1000  # the Starter tier's calls a day: assumed when none is known
SERVICE = "crm.update.service"  # the store setting holding the service's last pass
FATAL = (NotConnectedError, PermissionDeniedError, UsageError, StoreDamagedError)


def is_fatal(exc: XerolinkError) -> bool:
    """Whether waiting cannot fix it: the service stops with its exit code."""
    if isinstance(exc, CrmRefusedError):
        return not isinstance(exc, CrmRecordRefusedError)
    return isinstance(exc, FATAL)


@dataclass(frozen=True)
class Planned:
    """The wait before the next pass, and why it is longer than asked, if it is."""

    seconds: float
    widened: str | None = None


def plan(every: float, share: Decimal | None, per_pass: int, remaining: int | None
         ) -> Planned:
    """The interval that keeps ``per_pass`` calls a pass under ``share`` of the calls
    left today (see the module's docstring)."""
    if share is None or per_pass <= 0:
        return Planned(every)
    left = remaining if remaining is not None else STARTER_DAY_LIMIT
    allowed = share * left
    if allowed < per_pass:
        return Planned(DAY, f"only {left} Xero calls are left today: the next pass waits "
                       f"{_span(DAY)}, for Xero's daily window to reset")
    needed = math.ceil(Decimal(int(DAY)) * per_pass / allowed)
    if needed <= every:
        return Planned(every)
    return Planned(float(needed), f"interval widened from {_span(every)} to "
                   f"{_span(needed)} to keep {per_pass} calls a pass within "
                   f"{_percent(share)} of the {left} Xero calls left today")


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def backoff(interval: float, failures: int) -> float:
    """The wait after ``failures`` failing passes in a row: twice the interval in force
    (``--every``, or what the budget widened it to), doubling with each failure, up to
    an hour or the interval if longer. Never shorter than a healthy pass's wait."""
    cap = max(BACKOFF_CAP, interval)
    return float(min(cap, interval * 2 ** min(failures, 32)))


@dataclass
class Signals:
    """``stop``: finish the pass under way and return; ``wake``: start the next pass
    now (a webhook delivery, or ``stop`` itself)."""

    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)

    def request_stop(self) -> None:
        self.stop.set()
        self.wake.set()


@dataclass
class Schedule:
    every: float
    budget: Decimal | None  # a share of the day's calls left; None: no planning
    now: Callable[[], datetime]
    # waits up to this many seconds, or until woken; returns True when woken
    wait: Callable[[float], bool]


@dataclass
class PassResult:
    """What the loop needs from one pass: its log fields, the Xero calls it made and
    the ones the next is estimated to make, and the calls left today."""

    fields: dict[str, Any]
    xero_calls: int
    next_estimate: int
    remaining: int | None


def watch(one_pass: Callable[[], PassResult], schedule: Schedule, signals: Signals, *,
          log: Callable[[dict[str, Any]], None], max_passes: int = MAX_PASSES) -> None:
    """Run passes until ``signals.stop`` (returns) or a fatal error (raised, after its
    log line). ``log`` gets one record a pass."""
    failures = 0
    in_force = schedule.every  # the last healthy pass's wait: the budget may widen it
    for number in range(1, max_passes + 1):
        if signals.stop.is_set():
            return
        signals.wake.clear()
        started = schedule.now()
        try:
            result = one_pass()
        except XerolinkError as exc:
            failures += 1
            entry = _failed(number, started, exc)
            if is_fatal(exc):
                log({**entry, "outcome": "stopped"})
                raise
            wait = Planned(backoff(max(schedule.every, in_force), failures),
                           f"backing off after {failures} failing pass(es)")
        else:
            failures = 0
            per_pass = max(result.xero_calls, result.next_estimate)
            wait = plan(schedule.every, schedule.budget, per_pass, result.remaining)
            in_force = wait.seconds
            entry = {"pass": number, "at": started.isoformat(), "outcome": "ok",
                     **result.fields}
        next_at = schedule.now() + timedelta(seconds=wait.seconds)
        log({**entry, "interval_seconds": math.ceil(wait.seconds), "next_at": next_at.isoformat(),
             "widened": wait.widened})
        if signals.stop.is_set():
            return
        schedule.wait(wait.seconds)


def _failed(number: int, started: datetime, exc: XerolinkError) -> dict[str, Any]:
    return {"pass": number, "at": started.isoformat(), "outcome": "failed",
            "error": exc.message, "exit_code": int(exc.exit_code)}


def interval(value: str | float) -> float:
    """``--every``: ``"15m"``, ``"30s"``, ``"2h"`` or a number of seconds, from 1 s to a
    day."""
    text = str(value).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    number = text[:-1] if text[-1:] in units else text
    try:
        seconds = float(Decimal(number) * units.get(text[-1:], 1))
    except (ArithmeticError, ValueError):
        raise UsageError(f"invalid --every {str(value)[:20]!r}: a number with s, m or h "
                         "(30s, 15m, 1h)") from None
    if not 1 <= seconds <= DAY:
        raise UsageError(f"invalid --every {str(value)[:20]!r}: from 1s to 24h")
    return seconds


def share(value: str | None) -> Decimal | None:
    """``--budget``: ``"50%"`` (or ``"0.5"``) of the day's calls left; None: no plan."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except ArithmeticError:
        number = Decimal(-1)
    if not number.is_finite() or not Decimal("0.01") <= number <= 1:
        raise UsageError(f"invalid --budget {text[:20]!r}: a share of the day's Xero calls "
                         "from 1% to 100%")
    return number


@dataclass
class ServiceState(Result):
    """``status``'s view of the service: its last pass (when, how long, calls,
    outcome), the next one, and how far behind Xero the CRM's figures are (since the
    start of the last pass that succeeded)."""

    last: dict[str, Any] | None
    last_ok_at: str | None
    now: datetime | None = None
    webhooks: dict[str, Any] | None = None  # the receiver's health, when it runs

    @property
    def behind_seconds(self) -> int | None:
        try:
            at = datetime.fromisoformat(self.last_ok_at) if self.last_ok_at else None
        except ValueError:
            return None
        if at is None or self.now is None or at.tzinfo is None:
            return None
        return max(0, int((self.now - at).total_seconds()))

    def to_json(self) -> dict[str, Any]:
        last = self.last or {}
        return {"last_pass": self.last, "next_at": last.get("next_at"),
                "interval_seconds": last.get("interval_seconds"),
                "widened": last.get("widened"), "last_ok_at": self.last_ok_at,
                "behind_seconds": self.behind_seconds, "webhooks": self.webhooks}


def service_state(store: Store, now: datetime) -> ServiceState:
    """``status``'s view of the service, from what its passes recorded in the store."""
    try:
        state = json.loads(store.get_setting(SERVICE) or "null")
    except ValueError:
        state = None
    if not isinstance(state, dict):
        return ServiceState(None, None)
    return ServiceState(state.get("last"), state.get("last_ok_at"), now=now,
                        webhooks=_webhook_state(store, state))


def _webhook_state(store: Store, state: dict[str, Any]) -> dict[str, Any] | None:
    """The receiver's health as of the service's last pass (or its stop), and the
    stored events by outcome as of now; None when the service has no receiver."""
    held = state.get("webhooks")
    if not isinstance(held, dict):
        return None
    counts = store.webhook_event_counts()
    return {**held, "pending": counts.get("pending", 0),
            "processed": counts.get("done", 0), "ignored": counts.get("ignored", 0)}

"""The exchanges the Salesmate cassettes hold: every call ``crm pull`` and ``crm push``
make, and the failures xerolink must read. ``scripts/record_salesmate_cassettes.py``
runs them against a Salesmate-compatible server (the sandbox's slice, or a real
account) and scrubs them; ``tests/cassettes/test_salesmate_replay.py`` replays them
with no server. Recorded URLs are rewritten to https://demo.salesmate.io, the
``accessToken`` header to ``[scrubbed]``, and email addresses to
person@example.invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LINKNAME = "demo"
RECORDED_BASE = f"https://{LINKNAME}.salesmate.io"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)  # an incremental read's start, fixed for replay


@dataclass
class Ctx:
    """``source(token)`` makes a SalesmateSource; ``control`` (sandbox only) provokes
    the failures a real account gives on its own."""

    source: Callable[[str], Any]
    token: str
    control: Callable[[str, dict[str, Any]], Any] | None = None
    slept: list[float] = field(default_factory=list)


def search_contacts(ctx: Ctx) -> Any:
    return ctx.source(ctx.token).changed("contact", None, 0, ["textCustomField1"])


def search_companies(ctx: Ctx) -> Any:
    return ctx.source(ctx.token).changed("company", None, 0)


def search_deals_changed(ctx: Ctx) -> Any:
    return ctx.source(ctx.token).changed("deal", SINCE, 0)


def count_contacts(ctx: Ctx) -> Any:
    return ctx.source(ctx.token).count("contact")


def update_contact(ctx: Ctx) -> Any:
    source = ctx.source(ctx.token)
    first = source.changed("contact", None, 0).records[0]
    source.update("contact", first.id, first.echo, {"textCustomField1": "Recorded Ltd"})
    return first.id


def push_one_contact(ctx: Ctx) -> Any:
    """What ``crm push`` does per record: read it by id, then update it, repeating the
    required fields it holds at that moment."""
    source = ctx.source(ctx.token)
    first = source.changed("contact", None, 0).records[0]
    now = source.current("contact", first.id, ["textCustomField1"])
    source.update("contact", first.id, now.echo, {"textCustomField1": "Pushed Ltd"})
    return now


def read_a_deleted_contact(ctx: Ctx) -> Any:
    """A record Salesmate does not have, read by id: the only evidence of "gone"."""
    return ctx.source(ctx.token).current("contact", "987654321")


def wrong_token(ctx: Ctx) -> Any:
    return ctx.source("not-the-token").count("contact")


def rate_limited_then_ok(ctx: Ctx) -> Any:
    """One 429 with Retry-After, waited out, then the answer."""
    if ctx.control is not None:
        ctx.control("faults", {"status": 429, "count": 1, "retry_after": "1"})
    return ctx.source(ctx.token).count("company")


SCENARIOS: dict[str, Callable[[Ctx], Any]] = {f.__name__: f for f in (
    search_contacts, search_companies, search_deals_changed, count_contacts, update_contact,
    push_one_contact, read_a_deleted_contact, wrong_token, rate_limited_then_ok)}
SANDBOX_ONLY = {"rate_limited_then_ok"}

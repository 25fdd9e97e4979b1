"""The Salesmate client against recorded exchanges (cassettes/salesmate/, made by
scripts/record_salesmate_cassettes.py), replayed with no server and no network. A
request that differs from the recorded one (method, URL or body) finds no recording
and fails the test. Also: no cassette holds a token."""

from __future__ import annotations

import json
import re
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import vcr

from salesmate_scenarios import LINKNAME, SCENARIOS, Ctx
from xerolink.crmsource.salesmate import SalesmateSource
from xerolink.errors import CrmRefusedError

ROOT = Path(__file__).resolve().parents[2] / "cassettes"
CASSETTES = ROOT / "salesmate"


@pytest.fixture(autouse=True)
def no_network(monkeypatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a cassette test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def replay(name: str) -> tuple[Any, Ctx]:
    slept: list[float] = []
    ctx = Ctx(source=lambda token: SalesmateSource(LINKNAME, token, sleep=slept.append),
              token="placeholder-token", slept=slept)
    player = vcr.VCR(record_mode="none",
                     match_on=("method", "scheme", "host", "port", "path", "query", "body"))
    with player.use_cassette(str(CASSETTES / f"{name}.yaml"),
                             allow_playback_repeats=False) as cassette:
        try:
            result: Any = SCENARIOS[name](ctx)
        except Exception as exc:  # the failures are what is tested
            result = exc
        assert cassette.all_played, f"{name}: not every recorded exchange was asked for"
    return result, ctx


def test_every_scenario_has_a_cassette() -> None:
    index = json.loads((CASSETTES / "index.json").read_text())
    for name in SCENARIOS:
        assert (CASSETTES / f"{name}.yaml").exists(), name
        assert index[name]["where"]


def test_a_full_read_parses_every_record() -> None:
    page, _ = replay("search_contacts")
    assert page.total == len(page.records) > 0
    first = page.records[0]
    assert first.record.source == "salesmate" and first.modified_at.tzinfo is not None
    assert set(first.echo) == {"lastName", "owner"} and "textCustomField1" in first.fields
    companies, _ = replay("search_companies")
    assert all(r.echo["owner"] for r in companies.records)


def test_an_incremental_read_of_deals_keeps_their_people() -> None:
    page, _ = replay("search_deals_changed")
    assert page.records, "the recording has deals modified since 2026-01-01"
    deal = page.records[0].record
    assert deal.primary_contact_id and isinstance(deal.value, Decimal)
    assert set(page.records[0].echo) == {"title", "primaryContact", "owner", "pipeline",
                                         "status", "stage"}


def test_a_push_reads_the_record_just_before_updating_it() -> None:
    now, _ = replay("push_one_contact")  # a search, a GET by id, a PUT
    assert now.id == "1" and set(now.echo) == {"lastName", "owner"} and now.echo["owner"]
    assert "textCustomField1" in now.fields
    missing, _ = replay("read_a_deleted_contact")
    assert missing is None  # ObjectNotFound: the only answer that means "gone"


def test_count_and_update() -> None:
    count, _ = replay("count_contacts")
    assert count > 0
    updated, _ = replay("update_contact")
    assert updated == "1"


def test_a_refused_token_is_exit_8_without_the_token() -> None:
    error, _ = replay("wrong_token")
    assert isinstance(error, CrmRefusedError) and error.exit_code == 8
    assert "not-the-token" not in str(error)


def test_a_429_with_retry_after_is_waited_out() -> None:
    count, ctx = replay("rate_limited_then_ok")
    assert count > 0 and ctx.slept == [1.0]


def test_no_cassette_holds_a_token() -> None:
    """Scrubbed headers, and nothing shaped like a token anywhere in a recording."""
    for path in ROOT.rglob("*.yaml"):
        text = path.read_text()
        for header in re.findall(r"(?im)^\s*(accessToken|sessionToken|Authorization):\n"
                                 r"\s*- '?([^'\n]*)", text):
            assert header[1] in ("[scrubbed]", "Bearer [scrubbed]"), (path.name, header[0])
        assert not re.search(r'"(access_token|refresh_token|id_token)":\s*"[^"*\[]', text), \
            path.name

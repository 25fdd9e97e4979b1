"""Webhook events in the store behave the same on SQLite and on PostgreSQL: stored
once however often Xero replays them, drained per organisation, and a viewer's
service may process them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from xerolink.store.models import Connection
from xerolink.store.sqlite import SqliteStore
from xerolink.store.webhooks import WebhookEvent

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MINE, OTHER, STRANGER = "t" * 36, "o" * 36, "s" * 36


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        db = SqliteStore(tmp_path / "x.db")
    else:
        pg = request.getfixturevalue("pg")
        name = request.getfixturevalue("team_db")
        from xerolink.store.postgres import PostgresStore

        db = PostgresStore(pg.url("alice", name), migrate=True)
    yield db
    db.close()


def _event(tenant: str, resource: str, date: str = "2026-11-30T08:00:00.100") -> WebhookEvent:
    return WebhookEvent(tenant, "INVOICE", resource, "UPDATE", date)


def test_events_are_stored_once_drained_per_organisation_and_strangers_ignored(store):
    for tenant in (OTHER, MINE):
        store.save_connection(Connection(tenant, tenant[:1], "pkce", "alice", NOW))
    batch = [_event(MINE, "a"), _event(MINE, "b"), _event(OTHER, "c"), _event(STRANGER, "d")]
    assert store.add_webhook_events(batch, NOW) == 4
    assert store.add_webhook_events(batch, NOW) == 0  # a replay
    assert store.add_webhook_events([_event(MINE, "a", "2026-11-30T08:05:00.000")], NOW) == 1
    assert store.ignore_unconnected_webhook_events(NOW) == 1
    mine = store.pending_webhook_events(MINE)
    assert sorted(e.resource_id for e in mine) == ["a", "a", "b"]
    store.finish_webhook_events(mine, "done", NOW)
    assert [e.resource_id for e in store.pending_webhook_events()] == ["c"]
    assert store.webhook_event_counts() == {"done": 3, "ignored": 1, "pending": 1}

"""Xero's webhook events: written by the receiver before it answers Xero (so an event
answered 200 is never lost), read and marked done by the service that re-reads what
they name. The primary key is the event itself, so a replayed event adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xerolink.store.base import SqlBase, iso


@dataclass(frozen=True)
class WebhookEvent:
    """One event as Xero names it: which resource of which organisation changed, how
    and when. Nothing else from an event is kept (or trusted)."""

    tenant_id: str
    category: str  # CONTACT, INVOICE or CREDITNOTE
    resource_id: str
    event_type: str  # CREATE or UPDATE
    event_date_utc: str


_KEY = "tenant_id = ? AND category = ? AND resource_id = ? AND event_type = ? AND " \
       "event_date_utc = ?"
_PENDING = ("SELECT tenant_id, category, resource_id, event_type, event_date_utc FROM "
            "webhook_events WHERE done_at IS NULL ")
_OLDEST = "ORDER BY received_at, event_date_utc LIMIT ?"


def _key(event: WebhookEvent) -> tuple[str, str, str, str, str]:
    return (event.tenant_id, event.category, event.resource_id, event.event_type,
            event.event_date_utc)


class WebhookTables(SqlBase):
    def add_webhook_events(self, events: list[WebhookEvent], at: datetime) -> int:
        """Store events, all or none; returns how many were new (a replay adds 0)."""
        added = 0
        with self.transaction() as db:
            for event in events:
                added += db.execute(
                    "INSERT INTO webhook_events (tenant_id, category, resource_id, "
                    "event_type, event_date_utc, received_at) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING", (*_key(event), iso(at))).rowcount
        return added

    def pending_webhook_events(self, tenant_id: str | None = None, limit: int = 1000
                               ) -> list[WebhookEvent]:
        """Events not yet processed, oldest first: one organisation's, or (None) every
        organisation's."""
        if tenant_id is None:
            rows = self._db.execute(_PENDING + _OLDEST, (limit,)).fetchall()
        else:
            rows = self._db.execute(_PENDING + "AND tenant_id = ? " + _OLDEST,
                                    (tenant_id, limit)).fetchall()
        return [WebhookEvent(*(str(v) for v in r)) for r in rows]

    def ignore_unconnected_webhook_events(self, at: datetime) -> int:
        """Mark ``ignored`` the pending events of organisations this store has no
        connection to (active or not); returns how many."""
        with self.transaction() as db:
            return int(db.execute(
                "UPDATE webhook_events SET done_at = ?, outcome = 'ignored' WHERE done_at "
                "IS NULL AND tenant_id NOT IN (SELECT tenant_id FROM connections)",
                (iso(at),)).rowcount)

    def finish_webhook_events(self, events: list[WebhookEvent], outcome: str,
                              at: datetime) -> None:
        with self.transaction() as db:
            for event in events:
                db.execute(f"UPDATE webhook_events SET done_at = ?, outcome = ? "  # noqa: S608
                           f"WHERE {_KEY}", (iso(at), outcome, *_key(event)))

    def webhook_event_counts(self) -> dict[str, int]:
        """Events by outcome ("pending" for those not processed yet), for status."""
        rows = self._db.execute(
            "SELECT COALESCE(outcome, 'pending'), count(*) FROM webhook_events "
            "GROUP BY COALESCE(outcome, 'pending')").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

"""Connections, creates and sends under way, a team's shared tokens, and copying a whole store
(team migrate)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xerolink.store.base import (
    SqlBase,
    connection_row,
    iso,
)
from xerolink.store.models import (
    Connection,
    CreateIntent,
    SendIntent,
)


class ConnectionTables(SqlBase):
    # -- connections ------------------------------------------------------------
    def save_connection(self, conn: Connection) -> None:
        """Record the connection and make it the active one (at most one is active)."""
        with self.transaction() as db:
            db.execute("UPDATE connections SET active = 0 WHERE active = 1")
            db.execute(
                "INSERT INTO connections (tenant_id, tenant_name, short_code, base_currency, "
                "timezone, country_code, xero_url, client_id, auth_kind, scopes, connected_by, "
                "connected_at, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (tenant_id) DO UPDATE SET tenant_name = excluded.tenant_name, "
                "short_code = excluded.short_code, base_currency = excluded.base_currency, "
                "timezone = excluded.timezone, country_code = excluded.country_code, "
                "xero_url = excluded.xero_url, client_id = excluded.client_id, "
                "auth_kind = excluded.auth_kind, scopes = excluded.scopes, "
                "connected_by = excluded.connected_by, connected_at = excluded.connected_at, "
                "active = 1",
                (
                    conn.tenant_id,
                    conn.tenant_name,
                    conn.short_code,
                    conn.base_currency,
                    conn.timezone,
                    conn.country_code,
                    conn.xero_url,
                    conn.client_id,
                    conn.auth_kind,
                    conn.scopes,
                    conn.connected_by,
                    iso(conn.connected_at),
                ),
            )

    def active_connection(self) -> Connection | None:
        row = self._db.execute("SELECT * FROM connections WHERE active = 1").fetchone()
        return None if row is None else connection_row(row)

    def deactivate_connection(self, tenant_id: str) -> None:
        """Forget that the tenant is connected; its links and settings stay."""
        with self.transaction() as db:
            db.execute("UPDATE connections SET active = 0 WHERE tenant_id = ?", (tenant_id,))

    def record_rate_limits(self, tenant_id: str, limits_json: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE connections SET rate_limits = ? WHERE tenant_id = ?",
                (limits_json, tenant_id),
            )

    # -- creates under way ---------------------------------------------------------------
    def put_create_intent(self, intent: CreateIntent) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM create_intents WHERE tenant_id = ? AND fingerprint = ?",
                       (intent.tenant_id, intent.fingerprint))
            db.execute(
                "INSERT INTO create_intents (tenant_id, fingerprint, idempotency_key, kind, "
                "crm_contact_id, xero_contact_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (intent.tenant_id, intent.fingerprint, intent.idempotency_key, intent.kind,
                 intent.crm_contact_id, intent.xero_contact_id, intent.created_by,
                 iso(intent.created_at)))

    def get_create_intent(self, tenant_id: str, fingerprint: str) -> CreateIntent | None:
        row = self._db.execute(
            "SELECT tenant_id, fingerprint, idempotency_key, kind, crm_contact_id, "
            "xero_contact_id, created_by, created_at, document_id, noted_at, done_at FROM "
            "create_intents WHERE tenant_id = ? AND fingerprint = ?",
            (tenant_id, fingerprint)).fetchone()
        if row is None:
            return None
        return CreateIntent(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                            datetime.fromisoformat(row[7]), row[8], _when(row[9]),
                            _when(row[10]))

    def record_create_made(self, tenant_id: str, fingerprint: str, document_id: str) -> None:
        """Xero made the document: a rerun goes on from it, it never makes another."""
        with self.transaction() as db:
            db.execute("UPDATE create_intents SET document_id = ? WHERE tenant_id = ? AND "
                       "fingerprint = ?", (document_id, tenant_id, fingerprint))

    def record_create_noted(self, tenant_id: str, fingerprint: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE create_intents SET noted_at = ? WHERE tenant_id = ? AND "
                       "fingerprint = ?", (iso(at), tenant_id, fingerprint))

    def record_create_done(self, tenant_id: str, fingerprint: str, at: datetime,
                           forget_before: datetime) -> None:
        """Every step of the create was done; done ones older than ``forget_before``
        are forgotten (their window is over)."""
        with self.transaction() as db:
            db.execute("UPDATE create_intents SET done_at = ? WHERE tenant_id = ? AND "
                       "fingerprint = ?", (iso(at), tenant_id, fingerprint))
            db.execute("DELETE FROM create_intents WHERE tenant_id = ? AND done_at IS NOT "
                       "NULL AND done_at < ?", (tenant_id, iso(forget_before)))

    def delete_create_intent(self, tenant_id: str, fingerprint: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM create_intents WHERE tenant_id = ? AND fingerprint = ?",
                       (tenant_id, fingerprint))

    # -- sends under way and done ----------------------------------------------------------
    def put_send_intent(self, intent: SendIntent) -> None:
        """Before the email is asked of Xero: the key a rerun sends again."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO send_intents (tenant_id, idempotency_key, document_id, number, "
                "to_address, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (intent.tenant_id, intent.idempotency_key, intent.document_id, intent.number,
                 intent.to_address, intent.requested_by, iso(intent.requested_at)))

    def send_intents(self, tenant_id: str, document_id: str) -> list[SendIntent]:
        """The document's sends, oldest first."""
        rows = self._db.execute(
            "SELECT tenant_id, idempotency_key, document_id, number, to_address, "
            "requested_by, requested_at, sent_at, noted_at FROM send_intents "
            "WHERE tenant_id = ? AND document_id = ? ORDER BY requested_at, idempotency_key",
            (tenant_id, document_id)).fetchall()
        return [SendIntent(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]),
                           _when(r[7]), _when(r[8])) for r in rows]

    def record_send(self, tenant_id: str, key: str, *, sent_at: datetime | None = None,
                    noted_at: datetime | None = None) -> None:
        """Mark the send emailed (Xero answered) or noted (its history note tried)."""
        column, at = ("sent_at", sent_at) if sent_at is not None else ("noted_at", noted_at)
        if at is None:
            raise ValueError("record_send takes sent_at or noted_at")
        with self.transaction() as db:
            db.execute(f"UPDATE send_intents SET {column} = ? WHERE "  # noqa: S608 - fixed
                       "tenant_id = ? AND idempotency_key = ?", (iso(at), tenant_id, key))

    def delete_send_intent(self, tenant_id: str, key: str) -> None:
        """Xero refused the email: nothing was sent, nothing to resume."""
        with self.transaction() as db:
            db.execute("DELETE FROM send_intents WHERE tenant_id = ? AND idempotency_key = ?",
                       (tenant_id, key))

    # -- a team's shared tokens (team mode) ----------------------------------------------
    def load_token(self, tenant_id: str) -> str | None:
        row = self._db.execute("SELECT token FROM xero_tokens WHERE tenant_id = ?",
                               (tenant_id,)).fetchone()
        return None if row is None else str(row[0])

    def save_token(self, tenant_id: str, token: str, at: datetime) -> None:
        """Update the row (what a refresh does, and all a team's viewers may do); insert it
        only when it is missing (connect, an admin's job). An upsert would need INSERT
        privilege even when it updates."""
        updated = self._db.execute(
            "UPDATE xero_tokens SET token = ?, updated_at = ? WHERE tenant_id = ?",
            (token, iso(at), tenant_id)).rowcount
        if not updated:
            self._db.execute(
                "INSERT INTO xero_tokens (tenant_id, token, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant_id) DO UPDATE SET token = excluded.token, "
                "updated_at = excluded.updated_at", (tenant_id, token, iso(at)))

    def delete_token(self, tenant_id: str) -> None:
        self._db.execute("DELETE FROM xero_tokens WHERE tenant_id = ?", (tenant_id,))

    # -- copying a whole store (team migrate) ------------------------------------------
    COPY_ORDER = ("settings", "crm_companies", "crm_contacts", "crm_deals",
                  "crm_deal_participants", "connections", "links", "access", "deal_documents",
                  "xero_documents", "contact_refreshes", "sync_state", "xero_contacts",
                  "xero_payments", "xero_credits",
                  "crm_source_records", "crm_pulls", "send_intents")

    def export_table(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if table not in self.COPY_ORDER:
            raise ValueError(table)
        cursor = self._db.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed name
        columns = [c[0] for c in cursor.description]
        return columns, [tuple(r) for r in cursor.fetchall()]

    def import_rows(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> int:
        """Insert rows that are not there yet (by any unique key); returns rows added."""
        if table not in self.COPY_ORDER or not rows:
            return 0
        marks = ", ".join("?" * len(columns))
        added = 0
        with self.transaction() as db:
            for row in rows:
                added += db.execute(
                    f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({marks})", row).rowcount
        return added


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)

"""Every named store operation, in SQL that both engines run (SQLite and PostgreSQL),
one module per topic; ``SqlStore`` is all of them. Engines supply the connection, the
transactions and the migrations; the SQL is written with ``?`` placeholders and the
PostgreSQL engine translates them."""

from __future__ import annotations

from xerolink.store.access import AccessTables
from xerolink.store.base import BUSY_TIMEOUT_MS, LastAdminError, Row, StoreError
from xerolink.store.cache import CacheTables
from xerolink.store.connections import ConnectionTables
from xerolink.store.crmsource import CrmSourceTables
from xerolink.store.links import LinkTables
from xerolink.store.settlements import SettlementTables
from xerolink.store.webhooks import WebhookTables

__all__ = ["BUSY_TIMEOUT_MS", "LastAdminError", "Row", "SqlStore", "StoreError"]


class SqlStore(CrmSourceTables, ConnectionTables, LinkTables, CacheTables, AccessTables,
               WebhookTables, SettlementTables):
    """The store's operations; see the engines (sqlite, postgres) for connections and
    transactions."""

"""PostgreSQL's rows and SQL as the store's shared SQL expects them: ``?`` placeholders,
``INSERT OR IGNORE``, rows that answer by name; and a URL fit for messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def translate(sql: str) -> str:
    """SQLite-flavoured SQL to PostgreSQL: placeholders and INSERT OR IGNORE."""
    sql = sql.replace("?", "%s")
    if sql.lstrip().upper().startswith("INSERT OR IGNORE INTO"):
        sql = sql.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
    return sql


class PgRow(tuple[Any, ...]):
    """A row that answers by position and by column name, like sqlite3.Row."""

    names: dict[str, int]

    def __new__(cls, names: dict[str, int], values: Sequence[Any]) -> PgRow:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def row_factory(cursor: Any) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or [])}
    return lambda values: PgRow(names, values)


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)

"""The PostgreSQL engine: a team's shared store (``XEROLINK_DATABASE_URL``).

The same operations and migrations as SQLite, in a schema of its own (``xerolink``).
The database, not the CLI, enforces who may read what: ``xerolink team init`` creates
two roles, viewers and admins, and grants them privileges; a login that is in
neither is refused by PostgreSQL itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from xerolink.errors import PermissionDeniedError
from xerolink.store.migrations import MIGRATIONS
from xerolink.store.sql import SqlStore, StoreError

SCHEMA = "xerolink"
VIEWERS, ADMINS = "xerolink_viewers", "xerolink_admins"


def _translate(sql: str) -> str:
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


def _row_factory(cursor: Any) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or [])}
    return lambda values: PgRow(names, values)


class _Connection:
    """psycopg behind the small interface the store's SQL uses."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        import psycopg

        try:
            return self.conn.execute(_translate(sql), tuple(params))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise denied(exc, self.login) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        import psycopg

        cursor = self.conn.cursor()
        try:
            cursor.executemany(_translate(sql), [tuple(r) for r in rows])
        except psycopg.errors.InsufficientPrivilege as exc:
            raise denied(exc, self.login) from None
        return cursor

    @property
    def login(self) -> str:
        return str(self.conn.info.user)

    def close(self) -> None:
        self.conn.close()


def denied(exc: Exception, login: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"the team database refused {login} (PostgreSQL: {str(exc).splitlines()[0][:120]}); "
        f"ask an admin (xerolink access grant {login})")


class PostgresStore(SqlStore):
    engine = "postgres"

    def __init__(self, url: str, *, migrate: bool = False,
                 migrations: Sequence[str] = MIGRATIONS) -> None:
        import psycopg

        self.url = url
        self.path = _safe(url)
        try:
            conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory,
                                   connect_timeout=10,
                                   options=f"-c search_path={SCHEMA} -c lock_timeout=30000")
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot reach the team database {self.path}: "
                             f"{str(exc).strip().splitlines()[0][:200]}") from None
        self._db = _Connection(conn)
        if migrate:
            self._migrate(migrations)
        else:
            self._check_schema()

    @property
    def login(self) -> str:
        return str(self._db.execute("SELECT current_user").fetchone()[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        import psycopg

        try:
            with self._db.conn.transaction():
                yield self._db
        except psycopg.errors.InsufficientPrivilege as exc:
            raise denied(exc, self._db.login) from None

    def schema_version(self) -> int:
        row = self._db.execute(
            "SELECT to_regclass('xerolink.schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        return int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])

    def _check_schema(self) -> None:
        import psycopg

        try:
            version = self.schema_version()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise denied(exc, self._db.login) from None
        if version < len(MIGRATIONS):
            raise StoreError(f"the team database {self.path} has schema {version}, not "
                             f"{len(MIGRATIONS)}; an admin runs `xerolink team init`")
        if version > len(MIGRATIONS):
            raise StoreError(f"the team database has schema {version}, newer than this "
                             "xerolink understands; upgrade xerolink")

    def _migrate(self, migrations: Sequence[str]) -> None:
        with self._db.conn.transaction():
            self._db.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            # One migrator at a time, whoever else runs team init.
            self._db.conn.execute("SELECT pg_advisory_xact_lock(7265634)")
            self._db.conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                                  "(version INTEGER NOT NULL)")
            row = self._db.conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._db.conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                current = 0
            else:
                current = int(row[0])
            if current > len(migrations):
                raise StoreError("the team database is newer than this xerolink")
            for version in range(current, len(migrations)):
                self._db.conn.execute(migrations[version])
                self._db.conn.execute("UPDATE schema_version SET version = %s",
                                      (version + 1,))

    def integrity_check(self) -> str:
        self._db.execute("SELECT 1")
        return "ok"

    def table_counts(self) -> dict[str, int]:
        names = [r[0] for r in self._db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name <> 'schema_version' ORDER BY table_name", (SCHEMA,))]
        return {n: int(self._db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0])  # noqa: S608
                for n in names}

    # -- the shared token's row lock -------------------------------------------------------
    @contextlib.contextmanager
    def token_lock(self, tenant_id: str) -> Iterator[None]:
        """Hold the tenant's token row (SELECT ... FOR UPDATE) for a refresh: others wait,
        then re-read the new token set once this transaction commits."""
        with self.transaction() as db:
            db.execute("SELECT tenant_id FROM xero_tokens WHERE tenant_id = %s FOR UPDATE",
                       (tenant_id,))
            yield

    # -- team roles: the database's role membership is the access setting ---------------
    @property
    def roles(self) -> tuple[str, str]:
        """(viewers, admins) roles of this database: names include the database's, so
        two teams' databases on one server never share them."""
        database = str(self._db.execute("SELECT current_database()").fetchone()[0])
        return f"{database}_{VIEWERS}"[:63], f"{database}_{ADMINS}"[:63]

    def _member(self, user: str, role: str) -> bool:
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) AND "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (user, role)).fetchone()
        if not row[0]:
            return False
        return bool(self._db.execute("SELECT pg_has_role(%s, %s, 'MEMBER')",
                                     (user, role)).fetchone()[0])

    def role_of(self, tenant_id: str, user: str) -> str | None:
        viewers, admins = self.roles
        if self._member(user, admins):
            return "admin"
        return "viewer" if self._member(user, viewers) else None

    def count_admins(self, tenant_id: str) -> int:
        return len(self._members(self.roles[1]))

    def has_any_access_entries(self) -> bool:
        return bool(self._members(self.roles[1]))

    def is_admin_anywhere(self, user: str) -> bool:
        return self.role_of("", user) == "admin"

    def _members(self, role: str) -> list[str]:
        return [r[0] for r in self._db.execute(
            "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
            "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = %s AND m.rolcanlogin",
            (role,))]

    def grant_access(self, entry: Any) -> None:
        """Role membership first (the database enforces it), then the record."""
        from psycopg import sql

        viewers, admins = self.roles
        if not self._exists(entry.user):
            raise StoreError(f"the database has no login {entry.user!r}; create it first "
                             f"(CREATE ROLE \"{entry.user}\" LOGIN ...)")
        with self.transaction() as db:
            db.conn.execute(sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(viewers), sql.Identifier(entry.user)))
            if entry.role == "admin":
                db.conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
                    sql.Identifier(admins), sql.Identifier(entry.user)))
                db.conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
                    sql.Identifier(viewers), sql.Identifier(entry.user)))
            super().grant_access(entry)

    def revoke_access_keeping_an_admin(self, tenant_id: str, users: list[str]) -> list[str]:
        from psycopg import sql

        viewers, admins = self.roles
        remaining = [u for u in self._members(admins) if u not in users]
        if not remaining:
            from xerolink.store.sql import LastAdminError

            raise LastAdminError("that would leave the team without an admin; grant another "
                                 "admin first")
        removed = []
        with self.transaction() as db:
            for user in users:
                if not self._exists(user):
                    continue
                for role in (admins, viewers):
                    db.conn.execute(sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(role), sql.Identifier(user)))
                db.execute("DELETE FROM access WHERE user_name = ?", (user,))
                removed.append(user)
        return removed

    def list_access(self, tenant_id: str) -> list[Any]:
        from datetime import UTC, datetime

        from xerolink.store.records import AccessEntry

        recorded = {e.user: e for e in super().list_access(tenant_id)}
        viewers, admins = self.roles
        entries: list[AccessEntry] = []
        for role, name in ((admins, "admin"), (viewers, "viewer")):
            for user in self._members(role):
                if any(e.user == user for e in entries):
                    continue
                known = recorded.get(user)
                entries.append(AccessEntry(tenant_id, user, name,
                                           known.granted_by if known else "team init",
                                           known.granted_at if known else datetime.now(UTC)))
        return entries

    def initialise_team(self) -> tuple[str, str]:
        """Create (or bring up to date) the two roles and their privileges, and make the
        login running this an admin. Safe to run again."""
        from psycopg import sql

        viewers, admins = self.roles
        login = self.login
        with self.transaction() as db:
            conn = db.conn
            for role in (viewers, admins):
                if not self._exists(role):
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            v, a = sql.Identifier(viewers), sql.Identifier(admins)
            schema = sql.Identifier(SCHEMA)
            statements = [
                sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(schema, v, a),
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(schema),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} "
                        "TO {}").format(schema, a),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON crm_companies, crm_contacts, "
                        "crm_deals, crm_deal_participants, links, deal_documents, "
                        "xero_documents, contact_refreshes, sync_state, xero_contacts, "
                        "settings, create_intents, crm_source_records, crm_pulls TO {}").format(v),
                sql.SQL("GRANT SELECT ON connections, access, schema_version TO {}").format(v),
                sql.SQL("GRANT UPDATE (rate_limits) ON connections TO {}").format(v),
                # The token set: viewers read and renew it; only admins add or remove it.
                sql.SQL("GRANT SELECT, UPDATE ON xero_tokens TO {}").format(v),
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(v, sql.Identifier(login)),
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(a, sql.Identifier(login)),
            ]
            for statement in statements:
                conn.execute(statement)
        return viewers, admins

    def _exists(self, user: str) -> bool:
        return self._db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                (user,)).fetchone() is not None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)

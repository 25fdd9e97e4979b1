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

from xerolink.errors import StoreUnreachableError, UsageError
from xerolink.store.lease import Lease, RowLease
from xerolink.store.migrations import MIGRATIONS, POSTGRES_ONLY
from xerolink.store.pgerrors import denied, lost, quote_ident, setup_denied, unreachable
from xerolink.store.pgrows import row_factory as _row_factory
from xerolink.store.pgrows import safe_url as _safe
from xerolink.store.pgrows import translate as _translate
from xerolink.store.sql import SqlStore

SCHEMA = "xerolink"
VIEWERS, ADMINS = "xerolink_viewers", "xerolink_admins"
# Names PostgreSQL keeps for itself: never a person's login.
RESERVED = ("public", "none", "current_user", "current_role", "session_user")


class _Connection:
    """psycopg behind the small interface the store's SQL uses."""

    def __init__(self, conn: Any, where: str) -> None:
        self.conn = conn
        self.where = where

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.refusals():
            return self.conn.execute(_translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cursor = self.conn.cursor()
        with self.refusals():
            cursor.executemany(_translate(sql), [tuple(r) for r in rows])
        return cursor

    @contextlib.contextmanager
    def refusals(self) -> Iterator[None]:
        """PostgreSQL's refusal (exit 4) and a lost server (exit 12), in words."""
        import psycopg

        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            raise denied(exc, self.login) from None
        except psycopg.OperationalError as exc:
            raise lost(exc, self.where) from None

    @property
    def login(self) -> str:
        return str(self.conn.info.user)

    def close(self) -> None:
        self.conn.close()


class PostgresStore(SqlStore):
    engine = "postgres"

    def __init__(self, url: str, *, migrate: bool = False,
                 migrations: Sequence[str] = MIGRATIONS) -> None:
        self.url = url
        self.path = _safe(url)
        self._db = self._connect()
        if migrate:
            self._migrate(migrations)
        else:
            self._check_schema()

    def _connect(self) -> _Connection:
        """A connection in the store's schema. No server-side prepared statements: a
        pooler in transaction mode (pgbouncer) hands each statement any server."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory,
                                   connect_timeout=10, prepare_threshold=None,
                                   options=f"-c search_path={SCHEMA} -c lock_timeout=30000")
        except psycopg.OperationalError as exc:
            raise unreachable(exc, self.path) from None
        return _Connection(conn, self.path)

    @property
    def login(self) -> str:
        return str(self._db.execute("SELECT current_user").fetchone()[0])

    def lease(self, name: str) -> Lease:
        """The team's lease ``name``: a row of ``leases``, on a connection of its own."""
        return RowLease(self._connect, name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._db.refusals(), self._db.conn.transaction():
            yield self._db

    def schema_version(self) -> int:
        row = self._db.execute(
            "SELECT to_regclass('xerolink.schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        return int(self._db.execute(
            f"SELECT version FROM {SCHEMA}.schema_version").fetchone()[0])  # noqa: S608

    def _check_schema(self) -> None:
        with self._db.refusals():
            version = self.schema_version()
        if version == 0:
            raise StoreUnreachableError(
                f"the team database {self.path} is not set up for xerolink yet",
                "its first admin runs `xerolink team init` (a login that owns the database "
                "and may create roles)")
        if version < len(MIGRATIONS):
            raise StoreUnreachableError(
                f"the team database {self.path} has schema {version}, and this xerolink "
                f"needs {len(MIGRATIONS)}", "a team admin upgrades it: `xerolink team init`")
        if version > len(MIGRATIONS):
            raise StoreUnreachableError(
                f"the team database has schema {version}, newer than this xerolink "
                f"understands ({len(MIGRATIONS)})",
                "upgrade xerolink (pip install --upgrade 'xerolink[team]')")

    @contextlib.contextmanager
    def _setting_up(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            database = str(self._db.conn.info.dbname)
            raise setup_denied(exc, self._db.login, database) from None

    def _migrate(self, migrations: Sequence[str]) -> None:
        with self._db.refusals(), self._setting_up(), self._db.conn.transaction():
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
                raise StoreUnreachableError(
                    f"the team database has schema {current}, newer than this xerolink "
                    f"understands ({len(migrations)})",
                    "upgrade xerolink (pip install --upgrade 'xerolink[team]')")
            for version in range(current, len(migrations)):
                for step in (migrations[version], POSTGRES_ONLY.get(version + 1, "")):
                    if step.strip():
                        self._db.conn.execute(step)
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
        self.check_grantable(entry.user)
        with self.transaction() as db:
            db.conn.execute(sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(viewers), sql.Identifier(entry.user)))
            if entry.role == "admin":
                db.conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
                    sql.Identifier(admins), sql.Identifier(entry.user)))
                db.conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
                    sql.Identifier(viewers), sql.Identifier(entry.user)))
            super().grant_access(entry)

    def check_grantable(self, user: str) -> None:
        """Only a person's login: one that exists and may log in, is not a superuser,
        and is not one of PostgreSQL's own roles (pg_read_server_files, public...) or a
        team role."""
        if user.lower() in RESERVED or user.startswith("pg_"):
            raise UsageError(f"{user!r} is one of PostgreSQL's own roles, not a person's "
                             "login; grant the login each person connects as")
        if len(user.encode("utf-8")) > 63:
            raise UsageError(f"{user[:40]!r}... is longer than a PostgreSQL role name "
                             "(63 bytes); grant the login each person connects as")
        row = self._db.execute("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE "
                               "rolname = %s", (user,)).fetchone()
        if row is None:
            raise UsageError(f"the team database has no login {user!r}; a database "
                             f"administrator creates it first (CREATE ROLE "
                             f"{quote_ident(user)} LOGIN;), then grant it again")
        if not row[0]:
            raise UsageError(f"{user!r} is a role that cannot log in (NOLOGIN), not a "
                             "person's login; grant the login each person connects as")
        if row[1]:  # a superuser passes every grant: a role given to it limits nothing
            raise UsageError(f"{user!r} is a superuser, not a person's login: granting it "
                             "would record access the database does not enforce; grant "
                             "the login each person connects as")

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

        from xerolink.store.models import AccessEntry

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
                                           known.granted_at if known else datetime.now(UTC),
                                           may_send=bool(known and known.may_send)))
        return entries

    def initialise_team(self) -> tuple[str, str]:
        """Create (or bring up to date) the two roles and their privileges, and make the
        login running this an admin. Safe to run again."""
        from psycopg import sql

        viewers, admins = self.roles
        login = self.login
        with self._db.refusals(), self._setting_up(), self._db.conn.transaction():
            conn = self._db.conn
            for role in (viewers, admins):
                if not self._exists(role):
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            v, a = sql.Identifier(viewers), sql.Identifier(admins)
            schema = sql.Identifier(SCHEMA)
            statements = [
                sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(schema, v, a),
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(schema),
                # From nothing each time, so a database set up by an older xerolink
                # loses what viewers no longer hold.
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, v),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} "
                        "TO {}").format(schema, a),
                *_viewer_grants(v),
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(v, sql.Identifier(login)),
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(a, sql.Identifier(login)),
            ]
            for statement in statements:
                conn.execute(statement)
            self._set_database_defaults(conn)
        return viewers, admins

    def _set_database_defaults(self, conn: Any) -> None:
        """The schema and lock timeout every connection asks for, as the database's own
        defaults too: behind a pooler (pgbouncer) a client's startup options never reach
        the server. Only the database's owner may set them; another admin's init keeps
        what the owner's set."""
        from psycopg import sql

        owner = conn.execute("SELECT pg_has_role(current_user, datdba, 'USAGE') FROM "
                             "pg_database WHERE datname = current_database()").fetchone()
        if not owner or not owner[0]:
            return
        database = sql.Identifier(str(self._db.conn.info.dbname))
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = {}").format(
            database, sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '30s'").format(database))

    def _exists(self, user: str) -> bool:
        return self._db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                (user,)).fetchone() is not None


def _viewer_grants(viewers: Any) -> list[Any]:
    """What viewing needs (summary, refresh, details, links, creates, crm import, crm
    list and show), table by table; the row policies of migrations 7 and 8 narrow the
    token table further. crm pull and crm push are admins' (they send the CRM account's
    token), so what only they write is read-only for viewers."""
    from psycopg import sql

    grants = [
        # CRM records, links, deal documents, the caches, creates under way.
        "GRANT SELECT, INSERT, UPDATE, DELETE ON crm_companies, crm_contacts, crm_deals, "
        "crm_deal_participants, links, deal_documents, xero_documents, contact_refreshes, "
        "sync_state, xero_contacts, xero_payments, xero_credits, create_intents TO {}",
        # The emails under way and sent: a viewer with the right to send writes them;
        # the row policies of migration 12 keep every other viewer to reading.
        "GRANT SELECT, INSERT, UPDATE, DELETE ON send_intents TO {}",
        # What a pull and a push keep (watermarks, what the source holds), the
        # connection, the access list, the settings, the webhook events (the service
        # that receives and processes them runs a push: an admin's): read only.
        "GRANT SELECT ON crm_source_records, crm_pulls, connections, access, "
        "schema_version, settings, webhook_events TO {}",
        "GRANT UPDATE (rate_limits) ON connections TO {}",
        # Tokens: read and renew in place the Xero token set of a connected organisation
        # (a refresh; the policies hide every other row, the CRM source's token too).
        "GRANT SELECT, UPDATE (token, updated_at) ON xero_tokens TO {}",
        # Leases: only admins' passes take the CRM lease; viewers may see who runs one.
        "GRANT SELECT ON leases TO {}",
    ]
    return [sql.SQL(grant).format(viewers) for grant in grants]

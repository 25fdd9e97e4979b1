"""The admin side of ``Xerolink``: connecting and disconnecting, access, the team
database, and doctor's checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink.errors import UsageError

if TYPE_CHECKING:
    from xerolink.api.wiring import Wiring
    from xerolink.services.access import AccessChange
    from xerolink.services.connection import (
        ChooseTenant,
        Connected,
        ConnectOptions,
        RemoveReport,
        StatusReport,
    )
    from xerolink.services.doctor import Diagnosis
    from xerolink.services.outcomes import AccessList, Rows, TeamReady, WebhookKeySaved
    from xerolink.services.repair import Repaired


class Administration:
    """Connection, access, team and doctor: what admins run."""

    def __init__(self, wiring: Wiring) -> None:
        self._w = wiring

    # -- connection and access -----------------------------------------------------
    def connect_options(self, *, xero_url: str | None = None, client_id: str | None = None,
                        tenant: str | None = None, scopes: str | None = None,
                        port: int = 8742, timeout: float = 300.0,
                        notice: Callable[[str], None] | None = None) -> ConnectOptions:
        """Where and as which app to connect: arguments, else XEROLINK_XERO_URL /
        XEROLINK_CLIENT_ID, else the config, else where the profile's connection (an
        expired one, say) was made and as which app; a sandbox on this machine names
        its app."""
        from xerolink.config import SETTINGS
        from xerolink.services.connection import ConnectOptions
        from xerolink.xero.endpoints import Endpoints
        from xerolink.xero.oauth import DEFAULT_SCOPES

        raw = xero_url or self._w.env.get("XEROLINK_XERO_URL") or self._w.config.get("xero_url")
        remembered = self._w.store.active_connection()
        if not raw and remembered is not None and remembered.xero_url:
            raw = remembered.xero_url
            (notice or self._w.notice)(f"connecting to {raw}, where this profile's "
                                       "connection was made")
        try:
            url = str(SETTINGS["xero_url"].parse(raw)) if raw else None
        except ValueError as exc:
            raise UsageError(f"invalid --xero-url: {exc}") from None
        endpoints = Endpoints.at(url)
        chosen = (client_id or self._w.env.get("XEROLINK_CLIENT_ID")
                  or self._w.config.get("client_id"))
        if not chosen and remembered is not None and remembered.auth_kind == "pkce" \
                and remembered.client_id \
                and Endpoints.at(remembered.xero_url).base_url == endpoints.base_url:
            chosen = remembered.client_id
        if not chosen and endpoints.is_loopback:
            from xerolink.xero.discovery import sandbox_client_id

            chosen = sandbox_client_id(endpoints)
            if chosen:
                (notice or self._w.notice)(f"using the sandbox's app (client id {chosen})")
        if not chosen:
            raise UsageError(
                "no client id: pass --client-id, set XEROLINK_CLIENT_ID, or run "
                "`xerolink config set client_id ID` with your Xero app's client id")
        return ConnectOptions(endpoints=endpoints, client_id=str(chosen).strip(),
                              scopes=" ".join((scopes or DEFAULT_SCOPES).split()),
                              tenant=tenant, port=port, timeout=timeout)

    def connect(self, options: ConnectOptions, *, client_secret: str | None = None,
                show_url: Callable[[str], None] | None = None,
                choose: ChooseTenant | None = None) -> Connected:
        """Connect an organisation: a Custom Connection with ``client_secret``, else
        the PKCE flow, ``show_url`` handing the consent link to a browser."""
        from xerolink.services import connection as service

        deps = self._w.connection_deps(options.endpoints)
        if client_secret is not None:
            return service.connect_custom(deps, options, client_secret)
        shown = show_url or self._w.browser
        if shown is None:
            raise UsageError("connecting in a browser needs somewhere to show the link")
        return service.connect_pkce(deps, options, show_url=shown,
                                    choose=choose)

    def connection_status(self, *, offline: bool = False) -> StatusReport:
        """The Xero connection's part of ``status``."""
        from xerolink.services import connection as service

        return service.status(self._w.connection_deps(self._w.active_endpoints()),
                              self._w.token_manager, offline=offline)

    def disconnect(self) -> RemoveReport:
        """Revoke and forget the tokens; links and settings stay for a reconnect."""
        from xerolink.services import connection as service

        return service.remove(self._w.connection_deps(self._w.active_endpoints()))

    def access_list(self) -> AccessList:
        from xerolink.services import access

        return access.access_list(self._w.store, self._w.user)

    def grant(self, users: list[str], *, admin: bool = False,
              send: bool = False) -> AccessChange:
        from xerolink.services import access

        return access.grant(self._w.store, self._w.user, users, admin=admin,
                            at=self._w.clock.now(), send=send)

    def revoke(self, users: list[str], *, send: bool = False) -> AccessChange:
        from xerolink.services import access

        return access.revoke(self._w.store, self._w.user, users, send=send)

    def check_may_configure(self) -> None:
        from xerolink.services.access import check_may_configure

        check_may_configure(self._w.store, self._w.user)

    def config_set(self, key: str, value: str) -> Any:
        """Change one setting (admins, once connected), checked before the file is
        rewritten; returns the value stored."""
        self.check_may_configure()
        return self._w.config.set(key, value)

    def config_unset(self, key: str) -> bool:
        """Remove a setting so that its default applies (admins, once connected);
        whether it was set."""
        self.check_may_configure()
        removed: bool = self._w.config.unset(key)
        return removed

    def save_webhook_key(self, key: str) -> WebhookKeySaved:
        """Keep Xero's webhook key in this profile's token store (admins), where the
        receiver of ``crm update --watch --webhooks`` finds it."""
        from xerolink.redact import register_secret
        from xerolink.services.outcomes import WebhookKeySaved
        from xerolink.webhooks.key import SECRET_NAME

        key = key.strip()
        if not key or len(key) > 512 or any(c.isspace() for c in key):
            raise UsageError("a webhook key is one word of up to 512 characters (Xero's "
                             "app page shows it as 'Webhooks key')")
        register_secret(key)
        self.check_may_configure()
        self._w.token_store.save_secret(SECRET_NAME, key)
        return WebhookKeySaved(token_store=self._w.token_store_kind if not self._w.team
                               else "database")

    def forget_tokens(self) -> None:
        """Delete the active connection's tokens from this profile's token store (no
        call to Xero; links stay). A profile with no store yet has none to forget."""
        if not self._w.team and not self._w.profile.store_path.exists():
            return
        connection = self._w.store.active_connection()
        if connection is not None:
            self._w.token_store.delete(connection.tenant_id)

    # -- team ----------------------------------------------------------------------
    def _team_url(self) -> str:
        url = self._w.database_url
        if not url:
            raise UsageError("team mode needs a database: set XEROLINK_DATABASE_URL or "
                             "`xerolink config set database_url postgresql://...`")
        return url

    def team_init(self) -> TeamReady:
        """Prepare the team database: schema, roles, and this login as an admin."""
        from xerolink.services import team

        self._team_url()
        store = self._w.open_store(migrate=True)
        try:
            return team.init(store)
        finally:
            store.close()

    def team_migrate(self, from_sqlite: Path) -> Rows:
        """Copy a single-user profile's store into the team database."""
        from xerolink.services import team

        self._team_url()
        return team.migrate_from_sqlite(self._w.store, from_sqlite)

    def diagnose(self, *, offline: bool = False) -> Diagnosis:
        """Doctor's checks of this machine and profile, each with what to do."""
        from xerolink.services import doctor
        from xerolink.store.models import Connection

        def live(connection: Connection) -> doctor.Check:
            gateway = self._w.gateway_for(connection)
            return doctor.live_check(gateway.connections, lambda: (
                gateway.log.server_date, gateway.log.server_date_seen_at))

        return doctor.diagnose(doctor.Inputs(
            open_store=lambda: self._w.store, config=lambda: self._w.config,
            token_kind=lambda: self._w.token_store_kind, token_store=lambda: self._w.token_store,
            team=lambda: self._w.team, user=lambda: self._w.user, now=self._w.clock.now(),
            live=None if offline else live, copies=self._store_copies))

    def repair_store(self) -> Repaired:
        """Rebuild a damaged store (``doctor --repair``): the damaged file is moved
        aside, every readable row is kept, and what is missing comes from the newest
        copy. Run it while no other xerolink command is using the profile."""
        from xerolink.services import repair
        from xerolink.services.access import check_may_repair
        from xerolink.store.sqlite import SqliteStore

        if self._w.team:
            raise UsageError("doctor --repair rebuilds a profile's own SQLite store; a team "
                             "database is restored from its PostgreSQL backups")
        self._w.close_store()
        path = self._w.profile.store_path
        self._w.profile.ensure_dirs()
        check_may_repair(lambda: SqliteStore(path, keep_copies=False), self._w.user,
                         lambda: _owned_by_me(path))
        return repair.repair(lambda: SqliteStore(path), path, self._w.clock.now())

    def _store_copies(self) -> list[Path]:
        from xerolink.store.backup import copies

        return [] if self._w.team else copies(self._w.profile.store_path)



def _owned_by_me(path: Path) -> bool:
    """The store file (or, if it is gone, its folder) belongs to this OS user (or the
    user is root, who can open it anyway)."""
    import os

    uid = os.geteuid()
    for candidate in (path, path.parent):
        try:
            return uid in (0, candidate.stat().st_uid)
        except OSError:
            continue
    return False

"""The connection lifecycle: connect (PKCE in a browser, or a Custom Connection),
status, and remove. Removing forgets tokens but keeps links, deal documents and
access settings under the tenant id, so reconnecting the same organisation brings
them back."""

from __future__ import annotations

import contextlib
import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xerolink.clock import Clock
from xerolink.credentials import TokenSet, TokenStore
from xerolink.errors import (
    ExitCode,
    NotConnectedError,
    UsageError,
    XerolinkError,
    XeroRefusedError,
)
from xerolink.results import Result, to_jsonable
from xerolink.services import access
from xerolink.store import Store
from xerolink.store.models import AccessEntry, Connection
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.gateway import (
    EndpointUnavailable,
    OrganisationInfo,
    ScopeMissing,
    TenantInfo,
    XeroGateway,
)
from xerolink.xero.oauth import IdentityClient, OAuthError, authorize_url, pkce_pair
from xerolink.xero.tokens import ReauthorisationNeeded, StaticTokens, token_set_from_answer


class ConnectionState(enum.Enum):
    """What ``status`` reports; ``detail`` is the words shown to a person."""

    RUNNING = "Running"
    EXPIRED = "Expired"
    NOT_CONNECTED = "Not connected"

    @property
    def detail(self) -> str:
        return "Expired — run xerolink connect" if self is ConnectionState.EXPIRED \
            else self.value


RUNNING, EXPIRED, NOT_CONNECTED = (ConnectionState.RUNNING, ConnectionState.EXPIRED,
                                   ConnectionState.NOT_CONNECTED)
REFRESH_TOKEN_DAYS = 60

MakeGateway = Callable[[Endpoints, Any, str | None], XeroGateway]
ChooseTenant = Callable[[list[TenantInfo]], TenantInfo]


@dataclass(frozen=True)
class ConnectOptions:
    endpoints: Endpoints
    client_id: str
    scopes: str
    tenant: str | None = None
    port: int = 8742
    timeout: float = 300.0


def connection_json(connection: Connection, state: ConnectionState) -> dict[str, Any]:
    return {
        "status": state.value,
        "tenant_id": connection.tenant_id,
        "tenant_name": connection.tenant_name,
        "short_code": connection.short_code,
        "base_currency": connection.base_currency,
        "timezone": connection.timezone,
        "auth_kind": connection.auth_kind,
        "xero_url": connection.xero_url,
        "connected_by": connection.connected_by,
        "connected_at": connection.connected_at.isoformat(),
    }


@dataclass(frozen=True)
class Connected(Result):
    """A new connection, and what xerolink could not read about the organisation."""

    connection: Connection
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**connection_json(self.connection, RUNNING), "notes": list(self.notes)}


@dataclass
class ConnectionDeps:
    """What the connection services (connect, status, remove) use, handed in explicitly;
    the services that read or write Xero data use ``services.context.Deps``."""

    store: Store
    token_store: TokenStore
    identity: IdentityClient
    make_gateway: MakeGateway
    clock: Clock
    user: str


def connect_pkce(deps: ConnectionDeps, options: ConnectOptions, *,
                 show_url: Callable[[str], None], choose: ChooseTenant | None) -> Connected:
    """The authorization-code flow with PKCE, through the user's browser. The browser's
    last request is answered once the outcome is known: the page names the connected
    organisation, or says what went wrong, or that the terminal is asking which
    organisation."""
    from xerolink.xero import callback as pages
    from xerolink.xero.callback import CallbackServer

    access.check_may_connect(deps.store, deps.user)
    deps.token_store.check()  # fail before the browser, not after
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    callback = CallbackServer(options.port, state)
    try:
        url = authorize_url(options.endpoints, client_id=options.client_id,
                            redirect_uri=callback.redirect_uri, scopes=options.scopes,
                            state=state, challenge=challenge)
        show_url(url)
        code = callback.wait(options.timeout)

        def choose_in_terminal(tenants: list[TenantInfo]) -> TenantInfo:
            callback.respond(pages.CHOOSE_IN_TERMINAL)
            assert choose is not None
            return choose(tenants)

        try:
            connected = _exchange_and_finish(deps, options, code, callback.redirect_uri,
                                             verifier, choose_in_terminal if choose else None)
        except TenantNotGranted as exc:
            callback.respond(pages.choose_on_consent(exc.wanted, exc.granted))
            raise
        except XerolinkError as exc:
            callback.respond(pages.failed(str(exc)))
            raise
        callback.respond(pages.connected(connected.connection.tenant_name))
        return connected
    finally:
        callback.close()


def _exchange_and_finish(deps: ConnectionDeps, options: ConnectOptions, code: str,
                         redirect_uri: str, verifier: str,
                         choose: ChooseTenant | None) -> Connected:
    try:
        answer = deps.identity.exchange_code(client_id=options.client_id, code=code,
                                             redirect_uri=redirect_uri, verifier=verifier)
    except OAuthError as exc:
        raise XeroRefusedError(f"Xero refused the authorisation code ({exc.error}); run "
                               "xerolink connect again") from None
    now = deps.clock.now()
    tokens = token_set_from_answer(answer, kind="pkce", client_id=options.client_id, now=now)
    if not tokens.refresh_token:
        raise XeroRefusedError("Xero issued no refresh token; include the offline_access scope")
    return _finish(deps, options, tokens, choose)


def connect_custom(deps: ConnectionDeps, options: ConnectOptions, client_secret: str) -> Connected:
    """A Custom Connection: client credentials, one organisation, no browser."""
    access.check_may_connect(deps.store, deps.user)
    deps.token_store.check()
    try:
        answer = deps.identity.client_credentials(client_id=options.client_id,
                                                  client_secret=client_secret)
    except OAuthError as exc:
        raise XeroRefusedError(f"Xero refused the Custom Connection's credentials "
                               f"({exc.error}); check the client id and secret") from None
    now = deps.clock.now()
    tokens = token_set_from_answer(answer, kind="custom", client_id=options.client_id, now=now,
                                   client_secret=client_secret)
    return _finish(deps, options, tokens, choose=None)


def _finish(deps: ConnectionDeps, options: ConnectOptions, tokens: TokenSet,
            choose: ChooseTenant | None) -> Connected:
    """Choose the organisation, read it, check access, then store tokens and connection.

    A connection that cannot read the Organisation (no accounting.settings.read, or a
    server without the endpoint) still connects, under the connection's tenant name,
    and says what that leaves out."""
    notes: list[str] = []
    try:
        gateway = deps.make_gateway(options.endpoints, StaticTokens(tokens.access_token), None)
        tenant = _pick_tenant(gateway.connections(), options.tenant, choose)
        try:
            organisation = deps.make_gateway(
                options.endpoints, StaticTokens(tokens.access_token), tenant.tenant_id
            ).organisation()
        except (EndpointUnavailable, ScopeMissing) as exc:
            organisation = OrganisationInfo(tenant.tenant_name, "", "", "", "")
            notes.append(f"could not read the organisation's settings ({exc}); summaries "
                         "show totals per currency only, View in Xero links open in the "
                         "organisation last used in Xero, and today is taken in UTC")
        first_admin = access.check_may_take_tenant(deps.store, tenant.tenant_id,
                                                   tenant.tenant_name, deps.user)
    except XerolinkError:
        _revoke_quietly(deps.identity, tokens)
        raise
    now = deps.clock.now()
    previous = deps.store.active_connection()
    deps.token_store.save(tenant.tenant_id, tokens)
    connection = _connection(tenant, organisation, options, tokens, deps.user, now)
    deps.store.save_connection(connection)
    if first_admin:
        deps.store.grant_access(AccessEntry(tenant.tenant_id, deps.user, access.ADMIN,
                                            deps.user, now))
    if previous is not None and previous.tenant_id != tenant.tenant_id:
        deps.token_store.delete(previous.tenant_id)
    return Connected(connection, tuple(notes))


def _pick_tenant(tenants: list[TenantInfo], wanted: str | None,
                 choose: ChooseTenant | None) -> TenantInfo:
    organisations = [t for t in tenants if t.tenant_type.upper() in ("ORGANISATION", "")]
    if not organisations:
        raise NotConnectedError("the authorisation reached no Xero organisation; run "
                                "xerolink connect again and choose one")
    if wanted:
        key = wanted.strip().lower()
        matches = [t for t in organisations
                   if t.tenant_id == key or t.tenant_name.lower() == key]
        if not matches:
            raise TenantNotGranted(wanted, [t.tenant_name for t in organisations])
        return matches[0]
    if len(organisations) == 1:
        return organisations[0]
    if choose is not None:
        return choose(organisations)
    raise UsageError("the authorisation reached several organisations; pass --tenant with "
                     "one of: " + _choices(organisations))


class TenantNotGranted(UsageError):
    """--tenant names an organisation the consent did not include: Xero's page
    offered another (its default) and that one was allowed."""

    def __init__(self, wanted: str, granted: list[str]) -> None:
        self.wanted, self.granted = wanted, granted
        super().__init__(f"Xero gave access to {' and '.join(granted)}, not {wanted!r}, so "
                         f"nothing was connected: run xerolink connect --tenant {wanted!r} "
                         f"again and choose {wanted} on Xero's consent page")


def _choices(tenants: list[TenantInfo]) -> str:
    return "; ".join(f"{t.tenant_name} ({t.tenant_id})" for t in tenants)


def _connection(tenant: TenantInfo, org: OrganisationInfo, options: ConnectOptions,
                tokens: TokenSet, user: str, now: datetime) -> Connection:
    return Connection(
        tenant_id=tenant.tenant_id,
        tenant_name=org.name or tenant.tenant_name,
        auth_kind=tokens.kind,
        connected_by=user,
        connected_at=now.replace(microsecond=0),  # as the store keeps it, and status shows
        short_code=org.short_code,
        base_currency=org.base_currency,
        timezone=org.timezone,
        country_code=org.country_code,
        xero_url=options.endpoints.base_url,
        client_id=options.client_id,
        scopes=tokens.scope or options.scopes,
    )


def _revoke_quietly(identity: IdentityClient, tokens: TokenSet) -> None:
    if tokens.refresh_token:
        with contextlib.suppress(XerolinkError, OAuthError):
            identity.revoke(client_id=tokens.client_id, refresh_token=tokens.refresh_token)


@dataclass
class StatusReport(Result):
    status: ConnectionState
    connection: Connection | None = None
    verified: bool = False
    problem: str | None = None
    token_expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    access_entries: list[AccessEntry] = field(default_factory=list)
    rate_limits: dict[str, Any] | None = None
    crm_source: Result | None = None  # the connected CRM source (CrmSourceState)
    service: Result | None = None  # ``crm update --watch``'s last pass (ServiceState)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def exit_code(self) -> ExitCode:
        """3 unless the connection is running (expired, or not connected)."""
        return ExitCode.OK if self.running else ExitCode.NOT_CONNECTED

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status.value, "detail": self.status.detail,
                                "problem": self.problem, "verified": self.verified}
        if self.connection is not None:
            data.update(connection_json(self.connection, self.status))
            data.update({
                "token_expires_at": to_jsonable(self.token_expires_at),
                "refresh_token_expires_at": to_jsonable(self.refresh_token_expires_at),
                "access": [{"user": a.user, "role": a.role} for a in self.access_entries],
                "rate_limits": self.rate_limits,
            })
        if self.crm_source is not None:
            data["crm_source"] = self.crm_source.to_json()
        if self.service is not None:
            data["service"] = self.service.to_json()
        return data


def status(deps: ConnectionDeps, make_tokens: Callable[[Connection], Any], *, offline: bool
           ) -> StatusReport:
    connection = deps.store.active_connection()
    if connection is None:
        return StatusReport(NOT_CONNECTED, problem=access.NOT_CONNECTED)
    access.require_viewer(deps.store, deps.user)
    report = StatusReport(RUNNING, connection,
                          access_entries=deps.store.list_access(connection.tenant_id))
    tokens = deps.token_store.load(connection.tenant_id)
    if tokens is None:
        report.status, report.problem = EXPIRED, "no tokens are stored for this connection"
        return report
    if not offline:
        manager = make_tokens(connection)
        gateway = deps.make_gateway(Endpoints.at(connection.xero_url), manager,
                                    connection.tenant_id)
        try:
            reachable = {t.tenant_id for t in gateway.connections()}
        except ReauthorisationNeeded as exc:
            report.status, report.problem = EXPIRED, str(exc)
        except NotConnectedError as exc:
            report.status, report.problem = EXPIRED, str(exc)
        else:
            report.verified = True
            if connection.tenant_id not in reachable:
                report.status = EXPIRED
                report.problem = (f"{connection.tenant_name} is no longer connected to the "
                                  "app in Xero")
            if gateway.log.limits:
                report.rate_limits = gateway.log.limits
        tokens = deps.token_store.load(connection.tenant_id) or tokens
    report.token_expires_at = tokens.expires_at
    if tokens.refresh_token and tokens.refresh_issued_at:
        report.refresh_token_expires_at = (tokens.refresh_issued_at
                                           + timedelta(days=REFRESH_TOKEN_DAYS))
    if report.rate_limits is None and connection.rate_limits:
        import json

        report.rate_limits = json.loads(connection.rate_limits)
    return report


@dataclass(frozen=True)
class RemoveReport(Result):
    tenant_id: str
    tenant_name: str
    revoked_at_xero: bool
    warning: str | None
    kept: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"removed": True, "tenant_id": self.tenant_id, "tenant_name": self.tenant_name,
                "revoked_at_xero": self.revoked_at_xero, "kept": self.kept}


def remove(deps: ConnectionDeps) -> RemoveReport:
    connection = access.require_admin(deps.store, deps.user)
    tokens = deps.token_store.load(connection.tenant_id)
    revoked, warning = False, None
    if tokens is not None and tokens.refresh_token:
        try:
            deps.identity.revoke(client_id=tokens.client_id, refresh_token=tokens.refresh_token)
            revoked = True
        except (XerolinkError, OAuthError) as exc:
            warning = (f"could not revoke the token at Xero ({exc}); it was deleted here and "
                       "expires unused in 60 days, or disconnect the app in Xero's settings")
    deps.token_store.delete(connection.tenant_id)
    deps.store.deactivate_connection(connection.tenant_id)
    return RemoveReport(connection.tenant_id, connection.tenant_name, revoked, warning,
                        deps.store.counts_for_tenant(connection.tenant_id))

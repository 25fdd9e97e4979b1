"""Xero's identity endpoints: consent page, token grants, revocation, connections.

Behaviour follows Xero's documented rules: PKCE S256 for public clients, single-use
short-lived codes, single-use refresh tokens with a grace period for a lost
response, ``invalid_grant``/``invalid_client``/``invalid_request`` errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from xerolink.sandbox.scopes import BROAD_ONLY
from xerolink.sandbox.state import AuthCode, Identity, PendingConsent, Response, Stats

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data).encode("utf-8")
    return status, body, {"Content-Type": "application/json; charset=utf-8",
                          "Cache-Control": "no-store", **(headers or {})}


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _redirect(location: str) -> Response:
    return 302, b"", {"Location": location, "Cache-Control": "no-store"}


def _html(status: int, page: str) -> Response:
    return status, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}


def _is_loopback(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK and not parts.fragment


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class IdentityEndpoints:
    def __init__(self, identity: Identity, stats: Stats, tenants: dict[str, Any],
                 lock: Any) -> None:
        self.identity = identity
        self.stats = stats
        self.tenants = tenants  # tenant id -> seed.Tenant
        self.lock = lock

    # -- authorize -----------------------------------------------------------------
    def authorize(self, method: str, query: dict[str, list[str]], form: dict[str, list[str]]
                  ) -> Response:
        if method == "POST":
            return self._consent_decision(form)
        params = {k: v[0] for k, v in query.items()}
        client_id = params.get("client_id", "")
        app = self.identity.apps.get(client_id)
        if app is None or app.secret is not None:
            return _html(400, _error_page("unauthorized_client",
                                          "Unknown client_id for the authorization-code flow."))
        redirect_uri = params.get("redirect_uri", "")
        if not _is_loopback(redirect_uri):
            return _html(400, _error_page("invalid_request",
                                          "redirect_uri must be a loopback http URL."))
        state = params.get("state")

        def fail(error: str) -> Response:
            extra = {"state": state} if state is not None else {}
            return _redirect(_with_query(redirect_uri, {"error": error, **extra}))

        if params.get("response_type") != "code":
            return fail("unsupported_response_type")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not (43 <= len(challenge) <= 128):
            return fail("invalid_request")
        scopes = " ".join(params.get("scope", "").split())
        if not scopes:
            return fail("invalid_scope")
        if self.identity.options.granular_only and set(scopes.split()) & BROAD_ONLY:
            return fail("invalid_scope")  # apps created since 2 March 2026
        with self.lock:
            if self.identity.options.auto_approve:
                return self._approve(client_id, redirect_uri, state, challenge, scopes,
                                     list(self.tenants))
            request_id = secrets.token_urlsafe(16)
            self.identity.pending[request_id] = PendingConsent(
                client_id, redirect_uri, state, challenge, scopes, self.identity.clock.now()
            )
        return _html(200, _consent_page(request_id, app.name, scopes, self.tenants,
                                        bulk=self.identity.options.bulk_connections))

    def _consent_decision(self, form: dict[str, list[str]]) -> Response:
        request_id = form.get("request_id", [""])[0]
        with self.lock:
            pending = self.identity.pending.pop(request_id, None)
            if pending is None or pending.created < self.identity.clock.now() - 600:
                return _html(400, _error_page("invalid_request",
                                              "This consent request expired; start again."))
            extra = {"state": pending.state} if pending.state is not None else {}
            if form.get("decision", [""])[0] != "allow":
                return _redirect(_with_query(pending.redirect_uri,
                                             {"error": "access_denied", **extra}))
            picked = form.get("tenant", [])
            bulk = self.identity.options.bulk_connections
            chosen = list(self.tenants) if "all" in picked and bulk else [
                t for t in dict.fromkeys(picked) if t in self.tenants]
            if not chosen:  # every organisation unticked: nothing to connect
                return _redirect(_with_query(pending.redirect_uri, {
                    "error": "access_denied",
                    "error_description": "no organisation was chosen", **extra}))
            if len(chosen) > 1 and not bulk:
                return _html(400, _error_page(
                    "invalid_request", "Connecting several organisations at once needs "
                    "Xero's Advanced tier; choose one."))
            return self._approve(pending.client_id, pending.redirect_uri, pending.state,
                                 pending.challenge, pending.scopes, chosen)

    def _approve(self, client_id: str, redirect_uri: str, state: str | None, challenge: str,
                 scopes: str, tenant_ids: list[str]) -> Response:
        code = secrets.token_urlsafe(32)
        self.identity.codes[code] = AuthCode(
            code, client_id, redirect_uri, challenge, scopes, tenant_ids,
            self.identity.clock.now() + self.identity.options.code_ttl,
        )
        query = {"code": code, "scope": scopes}
        if state is not None:
            query["state"] = state
        return _redirect(_with_query(redirect_uri, query))

    # -- token ---------------------------------------------------------------------------
    def token(self, form: dict[str, list[str]], headers: dict[str, str]) -> Response:
        params = {k: v[0] for k, v in form.items()}
        client_id, secret = params.get("client_id", ""), params.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip()).decode("utf-8")
                client_id, _, secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client", "malformed basic credentials")
        grant_type = params.get("grant_type", "")
        with self.lock:
            app = self.identity.apps.get(client_id)
            if app is None or (app.secret is not None and not hmac.compare_digest(
                    (secret or "").encode(), app.secret.encode())):
                return _oauth_error("invalid_client", "client authentication failed")
            if grant_type == "authorization_code":
                response = self._code_grant(app.client_id, params)
            elif grant_type == "refresh_token":
                response = self._refresh_grant(app.client_id, params)
            elif grant_type == "client_credentials":
                response = self._client_credentials(app)
            else:
                response = _oauth_error("unsupported_grant_type", f"{grant_type!r}")
            status, body, _ = response
            with self.stats.lock:
                if status == 200:
                    self.stats.token_grants[grant_type] += 1
                elif b'"invalid_grant"' in body:
                    self.stats.invalid_grant += 1
            return response

    def _code_grant(self, client_id: str, params: dict[str, str]) -> Response:
        code = self.identity.codes.get(params.get("code", ""))
        if code is None or code.client_id != client_id:
            return _oauth_error("invalid_grant", "unknown authorization code")
        if code.used:
            return _oauth_error("invalid_grant", "authorization code already used")
        code.used = True
        if code.expires <= self.identity.clock.now():
            return _oauth_error("invalid_grant", "authorization code expired")
        if params.get("redirect_uri") != code.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        verifier = params.get("code_verifier", "")
        if not (43 <= len(verifier) <= 128):
            return _oauth_error("invalid_request", "code_verifier is missing or malformed")
        if not hmac.compare_digest(pkce_challenge(verifier), code.challenge):
            return _oauth_error("invalid_grant", "code_verifier does not match code_challenge")
        grant = self.identity.new_grant(client_id, code.scopes, code.tenant_ids)
        return _json(200, self.identity.issue(
            grant, with_refresh="offline_access" in code.scopes.split()))

    def _refresh_grant(self, client_id: str, params: dict[str, str]) -> Response:
        token = params.get("refresh_token", "")
        record = self.identity.refresh_tokens.get(token)
        now = self.identity.clock.now()
        if record is None:
            return _oauth_error("invalid_grant", "unknown refresh token")
        grant = self.identity.grants.get(record.grant_id)
        if grant is None or grant.revoked or grant.client_id != client_id:
            return _oauth_error("invalid_grant", "refresh token revoked")
        if record.used_at is not None:
            # Xero's grace period: a client that lost the response may retry.
            if now - record.used_at <= self.identity.options.refresh_grace and \
                    record.rotated_response is not None:
                return _json(200, record.rotated_response)
            return _oauth_error("invalid_grant", "refresh token already used")
        if now - record.issued > 60 * 86400:
            return _oauth_error("invalid_grant", "refresh token expired")
        response = self.identity.issue(grant, with_refresh=True)
        record.used_at = now
        record.rotated_response = response
        return _json(200, response)

    def _client_credentials(self, app: Any) -> Response:
        if app.secret is None or app.custom_tenant_id is None:
            return _oauth_error("unauthorized_client", "not a custom connection app")
        grant = next((g for g in self.identity.grants.values()
                      if g.client_id == app.client_id and not g.revoked), None)
        if grant is None:  # a Custom Connection's scopes are chosen on the app: the
            # sandbox's app has what xerolink asks for (payments too, for what was paid)
            grant = self.identity.new_grant(
                app.client_id, "accounting.invoices accounting.contacts "
                "accounting.payments.read accounting.settings.read", [app.custom_tenant_id])
        return _json(200, self.identity.issue(grant, with_refresh=False))

    # -- revocation and connections -----------------------------------------------------------
    def revoke(self, form: dict[str, list[str]], headers: dict[str, str]) -> Response:
        params = {k: v[0] for k, v in form.items()}
        client_id = params.get("client_id", "")
        if headers.get("authorization", "").lower().startswith("basic "):
            try:
                client_id = base64.b64decode(headers["authorization"][6:]).decode().split(":")[0]
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client", "malformed basic credentials")
        with self.lock:
            if client_id not in self.identity.apps:
                return _oauth_error("invalid_client", "client authentication failed")
            record = self.identity.refresh_tokens.get(params.get("token", ""))
            if record is not None:
                self.identity.revoke_grant(record.grant_id)
        return 200, b"", {}

    def connections(self, method: str, connection_id: str | None, bearer: str) -> Response:
        with self.lock:
            grant, reason = self.identity.grant_for_access_token(bearer)
            if grant is None:
                return _json(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                                   "Detail": reason, "Instance": secrets.token_hex(16),
                                   "Extensions": {}},
                             {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if method == "DELETE" and connection_id:
                for tenant_id, conn_id in list(grant.connections.items()):
                    if conn_id == connection_id:
                        del grant.connections[tenant_id]
                        return 204, b"", {}
                return _json(404, {"Title": "Not Found", "Status": 404,
                                   "Detail": "connection not found"})
            created = _iso(grant.created)
            return _json(200, [
                {"id": conn_id, "authEventId": grant.grant_id, "tenantId": tenant_id,
                 "tenantType": "ORGANISATION", "tenantName": self.tenants[tenant_id].name,
                 "createdDateUtc": created, "updatedDateUtc": created}
                for tenant_id, conn_id in grant.connections.items()
            ])


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _with_query(uri: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(uri).query else "?"
    return f"{uri}{joiner}{urlencode(params)}"


def parse_form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


# What each scope lets the app do, in the words Xero's consent screen uses.
_SCOPE_WORDS = {
    "offline_access": "Stay connected when you are not using it (for up to 60 days between "
                      "uses)",
    "openid": "Know who you are",
    "profile": "See your name",
    "email": "See your email address",
    "accounting.contacts": "View and manage your contacts",
    "accounting.contacts.read": "View your contacts",
    "accounting.invoices": "View and manage your invoices, bills and quotes",
    "accounting.invoices.read": "View your invoices, bills and quotes",
    "accounting.payments": "View and manage your payments",
    "accounting.payments.read": "View your payments",
    "accounting.transactions": "View and manage your business transactions",
    "accounting.transactions.read": "View your business transactions",
    "accounting.settings": "View and manage your organisation settings",
    "accounting.settings.read": "View your organisation settings",
}

_STYLE = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:#eef2f5;color:#1f2933}
.banner{background:#8a5a00;color:#fff;text-align:center;font-size:.85rem;padding:.35rem}
main{max-width:30rem;margin:6vh auto;padding:0 1rem}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12);
padding:1.5rem}
h1{font-size:1.3rem;margin:0 0 1rem;overflow-wrap:anywhere}
ul{padding-left:1.2rem;margin:.25rem 0 1rem}li{margin:.2rem 0}
fieldset{border:1px solid #cbd2d9;border-radius:8px;margin:0 0 1.25rem;padding:.75rem}
legend{padding:0 .25rem;font-weight:600}label{display:block;padding:.25rem 0}
.buttons{display:flex;gap:.75rem;flex-wrap:wrap}
button{font:inherit;border-radius:8px;padding:.6rem 1.2rem;border:1px solid #13b5ea;
cursor:pointer}
.allow{background:#13b5ea;color:#fff}.cancel{background:#fff;color:#1f2933;
border-color:#cbd2d9}
small{color:#7b8794}
"""


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body><div class="banner">xerolink sandbox: a local stand-in for Xero, not Xero itself</div>
<main><div class="card">{body}</div></main></body></html>"""


def _error_page(error: str, description: str) -> str:
    return _document("Error", f"<h1>{html.escape(error)}</h1><p>{html.escape(description)}</p>")


def _consent_page(request_id: str, app_name: str, scopes: str, tenants: dict[str, Any],
                  *, bulk: bool) -> str:
    # Since March 2026 one consent connects one organisation unless the app is on the
    # Advanced tier ("bulk connections"): radio buttons, or checkboxes for bulk.
    kind = "checkbox" if bulk else "radio"
    options = "".join(
        f'<label><input type="{kind}" name="tenant" value="{html.escape(t)}"'
        f'{" checked" if bulk or i == 0 else ""}> {html.escape(tenant.name)}</label>'
        for i, (t, tenant) in enumerate(tenants.items())
    )
    scope_items = "".join(
        f"<li>{html.escape(_SCOPE_WORDS.get(s, s))} <small>({html.escape(s)})</small></li>"
        for s in scopes.split())
    return _document(f"Allow {app_name} to access your organisation", f"""
<h1>{html.escape(app_name)} wants to access your Xero organisation</h1>
<p>It will be able to:</p><ul>{scope_items}</ul>
<form method="post" action="/identity/connect/authorize">
<input type="hidden" name="request_id" value="{html.escape(request_id)}">
<fieldset><legend>Organisation</legend>{options}</fieldset>
<div class="buttons">
<button class="allow" type="submit" name="decision" value="allow">Allow access</button>
<button class="cancel" type="submit" name="decision" value="deny">Cancel</button>
</div></form>""")

"""OAuth2 with Xero's identity service: PKCE, code exchange, refresh, client
credentials, revocation. Token requests go through ``post_form`` so that no token
or secret can leak into an error message."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from xerolink.errors import XeroRefusedError, XeroUnreachableError
from xerolink.redact import register_secret
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.http import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    RetryPolicy,
    Timeouts,
    connection_failure,
    is_timeout,
    pool_manager,
    transport_errors,
)

# accounting.payments.read: Payments, Overpayments and Prepayments (what was paid, and
# credit); CreditNotes are under accounting.invoices (docs/xero-fidelity.md).
DEFAULT_SCOPES = ("offline_access accounting.contacts accounting.invoices "
                  "accounting.payments.read accounting.settings.read")


class OAuthError(Exception):
    """Xero's identity service answered with an OAuth error (``invalid_grant``, ...)."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


def pkce_pair() -> tuple[str, str]:
    """A code verifier (kept secret) and its S256 challenge (sent in the URL)."""
    verifier = secrets.token_urlsafe(64)[:96]
    register_secret(verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(endpoints: Endpoints, *, client_id: str, redirect_uri: str, scopes: str,
                  state: str, challenge: str) -> str:
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": scopes, "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    return f"{endpoints.authorize}?{query}"


@dataclass
class IdentityClient:
    endpoints: Endpoints
    retry: RetryPolicy
    pool: Any = None  # built on first use: commands that never call Xero never load urllib3
    timeout: Timeouts = (CONNECT_TIMEOUT, READ_TIMEOUT)

    @property
    def http(self) -> Any:
        if self.pool is None:
            self.pool = pool_manager(timeout=self.timeout)
        return self.pool

    def post_form(self, url: str, fields: dict[str, str], *, retry: bool,
                  basic: tuple[str, str] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        if basic is not None:
            pair = f"{basic[0]}:{basic[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        attempts = self.retry.attempts if retry else 1
        timeouts = 0
        for attempt in range(attempts):
            try:
                response = self.http.request("POST", url, body=urlencode(fields),
                                             headers=headers)
            except transport_errors() as exc:
                failure = connection_failure(exc)
                timeouts += is_timeout(exc) or failure is not None
                if attempt + 1 < attempts and timeouts < self.retry.timeout_attempts:
                    self.retry.pause(attempt)
                    continue
                raise XeroUnreachableError(
                    f"Xero's identity service could not be reached ({failure or type(exc).__name__}"
                    "); check the network and try again") from None
            if response.status >= 500 and attempt + 1 < attempts:
                self.retry.pause(attempt)
                continue
            return _token_answer(response.status, response.data)
        raise AssertionError("unreachable")  # pragma: no cover

    def exchange_code(self, *, client_id: str, code: str, redirect_uri: str,
                      verifier: str) -> dict[str, Any]:
        # Not retried: a code is single-use, so a retry after a lost answer cannot work.
        return self.post_form(self.endpoints.token, {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, "client_id": client_id}, retry=False)

    def refresh(self, *, client_id: str, refresh_token: str) -> dict[str, Any]:
        # Retried with the same refresh token: Xero's grace period covers a lost answer.
        return self.post_form(self.endpoints.token, {
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": client_id}, retry=True)

    def client_credentials(self, *, client_id: str, client_secret: str) -> dict[str, Any]:
        return self.post_form(self.endpoints.token, {"grant_type": "client_credentials"},
                              retry=True, basic=(client_id, client_secret))

    def revoke(self, *, client_id: str, refresh_token: str) -> None:
        self.post_form(self.endpoints.revocation, {"token": refresh_token,
                                                   "client_id": client_id}, retry=True)


def _token_answer(status: int, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body else {}
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        data = None
    if status == 200 and isinstance(data, dict):
        for key in ("access_token", "refresh_token", "id_token"):
            register_secret(data.get(key))
        return data
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        raise OAuthError(data["error"], str(data.get("error_description") or ""), status)
    if status >= 500:
        raise XeroUnreachableError(f"Xero's identity service failed ({status}); try again")
    raise XeroRefusedError(f"Xero's identity service answered {status} with no usable body")

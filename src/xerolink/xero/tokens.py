"""Keeping a connection's access token valid without ever losing the connection.

Xero's refresh tokens are single-use: two processes refreshing the same token set at
once is the classic way to lose a connection. So a refresh happens only under an
inter-process lock, re-reads the newest token set inside the lock (another process
may have refreshed already), and persists the new set before anything uses it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xerolink.clock import Clock, SystemClock
from xerolink.credentials import TokenSet, TokenStore
from xerolink.errors import NotConnectedError
from xerolink.redact import Secret, register_secret
from xerolink.xero.oauth import IdentityClient, OAuthError

REAUTHORISE = (
    "Xero no longer accepts this connection's refresh token (it expired, was revoked, or "
    "was used elsewhere); run `xerolink connect` to reconnect"
)
LOCK_TIMEOUT = 120.0


class ReauthorisationNeeded(NotConnectedError):
    pass


def token_set_from_answer(answer: dict[str, Any], *, kind: str, client_id: str,
                          now: datetime,
                          client_secret: str | None = None,
                          previous: TokenSet | None = None) -> TokenSet:
    """A TokenSet from a token endpoint's JSON answer."""
    lifetime = float(answer.get("expires_in") or 1800)
    refresh = answer.get("refresh_token")
    return TokenSet(
        kind=kind,
        client_id=client_id,
        access_token=answer["access_token"],
        expires_at=now + timedelta(seconds=lifetime),
        lifetime=lifetime,
        refresh_token=refresh or (previous.refresh_token if previous else None),
        refresh_issued_at=now if refresh else (previous.refresh_issued_at if previous else None),
        client_secret=client_secret,
        scope=str(answer.get("scope") or ""),
    )


def file_lock(path: Path) -> Callable[[], AbstractContextManager[object]]:
    """An inter-process lock on a file beside the store (the single-user default),
    created the first time a refresh needs it."""
    made: list[AbstractContextManager[object]] = []

    def lock() -> AbstractContextManager[object]:
        if not made:
            from filelock import FileLock

            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            made.append(FileLock(str(path), timeout=LOCK_TIMEOUT, mode=0o600))
        return made[0]

    return lock


class TokenManager:
    """Hands out a valid access token for one tenant, refreshing when needed."""

    def __init__(
        self,
        store: TokenStore,
        identity: IdentityClient,
        tenant_id: str,
        lock: Callable[[], AbstractContextManager[object]],
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.identity = identity
        self.tenant_id = tenant_id
        self.lock = lock
        self.clock: Clock = clock or SystemClock()
        self._cached: TokenSet | None = None
        self._thread_lock = threading.Lock()
        self.refreshes = 0

    def current(self) -> TokenSet:
        tokens = self._cached or self.store.load(self.tenant_id)
        if tokens is None:
            raise NotConnectedError("not connected to Xero; run `xerolink connect`")
        self._cached = tokens
        return tokens

    def _fresh(self, tokens: TokenSet, rejected: str | None) -> bool:
        buffer = min(60.0, tokens.lifetime / 10)
        return (tokens.access_token != rejected
                and not tokens.expires_within(buffer, self.clock.now()))

    def access_token(self, rejected: str | None = None) -> str:
        """A valid access token; ``rejected`` names one Xero refused (401), to replace."""
        tokens = self.current()
        if self._fresh(tokens, rejected):
            return tokens.access_token
        with self._thread_lock, self._locked():
            newest = self.store.load(self.tenant_id)  # read inside the lock
            if newest is None:
                raise NotConnectedError("not connected to Xero; run `xerolink connect`")
            tokens = newest
            if not self._fresh(tokens, rejected):
                tokens = self._renew(tokens)
                self.store.save(self.tenant_id, tokens)  # persisted before any use
                self.refreshes += 1
            self._cached = tokens
            return tokens.access_token

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self.lock():
                yield
        except TimeoutError as exc:
            raise NotConnectedError(
                "another xerolink process has held the token lock for over "
                f"{int(LOCK_TIMEOUT)} s; try again") from exc

    def _renew(self, tokens: TokenSet) -> TokenSet:
        now = self.clock.now()
        try:
            if tokens.kind == "custom":
                if not tokens.client_secret:
                    raise ReauthorisationNeeded(
                        "the Custom Connection's secret is missing; run "
                        "`xerolink connect --custom-connection` again")
                answer = self.identity.client_credentials(client_id=tokens.client_id,
                                                          client_secret=tokens.client_secret)
            else:
                if not tokens.refresh_token:
                    raise ReauthorisationNeeded(REAUTHORISE)
                answer = self.identity.refresh(client_id=tokens.client_id,
                                               refresh_token=tokens.refresh_token)
        except OAuthError as exc:
            if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
                raise ReauthorisationNeeded(f"{REAUTHORISE} ({exc.error})") from None
            raise NotConnectedError(f"Xero refused to renew the token ({exc.error})") from None
        renewed = token_set_from_answer(answer, kind=tokens.kind, client_id=tokens.client_id,
                                        now=now, client_secret=tokens.client_secret,
                                        previous=tokens)
        register_secret(renewed.access_token)
        register_secret(renewed.refresh_token)
        return renewed


class StaticTokens:
    """A token that is not stored yet (during connect, before a tenant is chosen)."""

    def __init__(self, access_token: str) -> None:
        self.token = Secret(access_token)

    def access_token(self, rejected: str | None = None) -> str:
        if rejected == self.token.reveal():
            raise NotConnectedError("Xero rejected the new token; run `xerolink connect` again")
        return self.token.reveal()

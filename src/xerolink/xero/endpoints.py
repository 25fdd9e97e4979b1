"""Where Xero lives: real Xero's hosts, or one host serving all of Xero's paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    revocation: str
    identity: str  # base of /connections
    accounting: str  # base of /api.xro/2.0
    base_url: str | None = None  # None: real Xero

    @classmethod
    def real_xero(cls) -> Endpoints:
        return cls(
            authorize="https://login.xero.com/identity/connect/authorize",
            token="https://identity.xero.com/connect/token",  # noqa: S106 - a URL
            revocation="https://identity.xero.com/connect/revocation",
            identity="https://api.xero.com",
            accounting="https://api.xero.com/api.xro/2.0",
        )

    @classmethod
    def at(cls, base_url: str | None) -> Endpoints:
        """``--xero-url``: a sandbox or another server that serves Xero's paths."""
        if not base_url:
            return cls.real_xero()
        base = base_url.rstrip("/")
        return cls(
            authorize=f"{base}/identity/connect/authorize",
            token=f"{base}/connect/token",
            revocation=f"{base}/connect/revocation",
            identity=base,
            accounting=f"{base}/api.xro/2.0",
            base_url=base,
        )

    @property
    def is_loopback(self) -> bool:
        from urllib.parse import urlsplit

        host = urlsplit(self.base_url or "").hostname or ""
        return host in ("127.0.0.1", "localhost", "::1")

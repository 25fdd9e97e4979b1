"""``xerolink doctor``: check this machine's and this profile's set-up, and say what
to do about each finding. Problems make the command exit 1; warnings do not."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any

OK, WARNING, PROBLEM = "ok", "warning", "problem"
SKEW_WARNING = timedelta(minutes=1)
SKEW_PROBLEM = timedelta(minutes=5)  # the refresh watermarks' margin


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    action: str = ""


def versions() -> Check:
    found = []
    for package in ("xerolink", "xero-python", "typer", "rich", "keyring"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            return Check("packages", PROBLEM, f"{package} is not installed",
                         "reinstall xerolink: pip install --force-reinstall xerolink")
    python = ".".join(map(str, sys.version_info[:3]))
    return Check("python and packages", OK, f"Python {python}; " + ", ".join(found))


def keyring_backend(kind: str, token_store: Any, connected: bool) -> Check:
    from xerolink.tokenstore import TokenStoreUnavailable

    if kind == "file":
        return Check("token store", WARNING if connected else OK,
                     "tokens are kept in a plain-text file (mode 0600), by your choice "
                     "(XEROLINK_TOKEN_STORE=file)",
                     "prefer an OS keyring where one is available" if connected else "")
    try:
        token_store.check()
    except TokenStoreUnavailable:
        import keyring

        backend = type(keyring.get_keyring()).__module__
        return Check(
            "keyring backend", PROBLEM if connected else WARNING,
            f"no working OS keyring backend ({backend})",
            "install and unlock a keyring (e.g. gnome-keyring or keyrings.alt), or opt in "
            "to a private file with XEROLINK_TOKEN_STORE=file")
    import keyring

    return Check("keyring backend", OK, type(keyring.get_keyring()).__name__)


def store_health(store: Any) -> Check:
    integrity = store.integrity_check()
    version, latest = store.schema_version(), store.latest_schema_version()
    if integrity != "ok":
        return Check("store", PROBLEM, f"integrity check: {integrity}",
                     f"restore {store.path} from a backup, or move it aside and reconnect")
    if version != latest:
        return Check("store", PROBLEM, f"schema {version}, expected {latest}",
                     "upgrade xerolink")
    return Check("store", OK, f"{store.path} (schema {version}, integrity ok)")


def connection_checks(connection: Any, tokens: Any, now: datetime) -> list[Check]:
    if connection is None:
        return [Check("connection", WARNING, "not connected", "run xerolink connect")]
    checks = [Check("connection", OK, f"{connection.tenant_name} ({connection.tenant_id}), "
                    f"connected by {connection.connected_by} on "
                    f"{connection.connected_at:%Y-%m-%d}")]
    if tokens is None:
        checks.append(Check("tokens", PROBLEM, "no tokens are stored for the connection",
                            "run xerolink connect"))
        return checks
    if tokens.kind == "pkce" and tokens.refresh_issued_at:
        expires = datetime.fromtimestamp(tokens.refresh_issued_at, UTC) + timedelta(days=60)
        left = expires - now
        if left <= timedelta(0):
            checks.append(Check("refresh token", PROBLEM, f"expired on {expires:%Y-%m-%d}",
                                "run xerolink connect"))
        elif left < timedelta(days=7):
            checks.append(Check("refresh token", WARNING,
                                f"expires on {expires:%Y-%m-%d} unless used",
                                "run any xerolink command that calls Xero (xerolink status)"))
        else:
            checks.append(Check("refresh token", OK,
                                f"good until {expires:%Y-%m-%d} (60 days after last use)"))
    else:
        checks.append(Check("refresh token", OK, "a Custom Connection renews with its secret"))
    return checks


def clock_skew(server_date: str | None, seen_at: datetime | None) -> Check:
    if not server_date or seen_at is None:
        return Check("clock", WARNING, "Xero's time could not be read",
                     "run doctor again when Xero can be reached")
    try:
        server = parsedate_to_datetime(server_date)
        if server.tzinfo is None:  # HTTP dates are GMT
            server = server.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return Check("clock", WARNING, f"Xero sent an unreadable Date header {server_date!r}")
    skew = seen_at - server
    size = abs(skew)
    text = f"{size.total_seconds():.0f} s {'ahead of' if skew > timedelta(0) else 'behind'} Xero"
    if size > SKEW_PROBLEM:
        return Check("clock", PROBLEM, text, "synchronise this machine's clock (NTP)")
    if size > SKEW_WARNING:
        return Check("clock", WARNING, text, "synchronise this machine's clock (NTP)")
    return Check("clock", OK, text)


def rate_limits(connection: Any) -> Check:
    import json

    if connection is None or not connection.rate_limits:
        return Check("rate limits", OK, "no calls recorded yet")
    seen = json.loads(connection.rate_limits)
    day = seen.get("day_remaining")
    detail = (f"{seen.get('minute_remaining', '?')} calls left that minute, {day} that day "
              f"(seen {seen.get('seen_at', '?')})")
    if isinstance(day, int) and day < 500:
        return Check("rate limits", WARNING, detail,
                     "the daily budget is nearly spent; leave bulk refreshes for tomorrow")
    return Check("rate limits", OK, detail)


def access_check(store: Any, connection: Any, user: str) -> Check:
    if connection is None:
        return Check("access", OK, "anyone may connect until the first connection")
    entries = store.list_access(connection.tenant_id)
    admins = [e.user for e in entries if e.role == "admin"]
    role = next((e.role for e in entries if e.user == user), None)
    detail = (f"you ({user}) are {role or 'not granted'}; "
              f"{len(admins)} admin(s), {len(entries) - len(admins)} viewer(s)")
    if role is None:
        return Check("access", WARNING, detail,
                     f"ask an admin: xerolink access grant {user}")
    if len(admins) == 1:
        return Check("access", WARNING, detail,
                     "grant a second admin so the connection is not tied to one person")
    return Check("access", OK, detail)

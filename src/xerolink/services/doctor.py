"""``xerolink doctor``: check this machine's and this profile's set-up, and say what
to do about each finding. Problems make it exit 10 (CHECKS_FAILED); warnings do not.

Doctor exists for broken set-ups, so it opens nothing it cannot survive: a damaged
or foreign store file, a store from a newer xerolink, a damaged token file, an
unreachable Xero are each a finding with its own remedy, never the error that every
other command gives; a check that meets a damaged store page says so and the others
still run. A user without access sees no more of the connection than ``status``
would show them. ``services.repair`` rebuilds a damaged store (``doctor --repair``).
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink.errors import ExitCode
from xerolink.results import Result

if TYPE_CHECKING:
    from xerolink.config import Config
    from xerolink.credentials import TokenSet, TokenStore
    from xerolink.store import Store
    from xerolink.store.base import DamagedStore
    from xerolink.store.models import Connection

OK, WARNING, PROBLEM = "ok", "warning", "problem"
SKEW_WARNING = timedelta(minutes=1)
SKEW_PROBLEM = timedelta(minutes=5)  # the refresh watermarks' margin


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    action: str = ""


@dataclass(frozen=True)
class Diagnosis(Result):
    """Every check doctor made (a problem among them, not a warning, is exit 10)."""
    checks: list[Check]

    @property
    def exit_code(self) -> ExitCode:
        failed = any(c.status == PROBLEM for c in self.checks)
        return ExitCode.CHECKS_FAILED if failed else ExitCode.OK

    @property
    def rows(self) -> list[dict[str, str]]:
        return [{"check": c.name, "status": c.status, "detail": c.detail,
                 "action": c.action} for c in self.checks]

    def to_json(self) -> Any:
        return self.rows


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


def keyring_backend(kind: str, token_store: TokenStore, connected: bool) -> Check:
    from xerolink.credentials import TokenStoreUnavailable

    if kind == "file":
        path = getattr(token_store, "path", None)
        mode = _mode(path)
        if mode is not None and mode & 0o077:
            return Check("token store", PROBLEM,
                         f"the token file {path} is readable by others (mode {mode:04o})",
                         f"chmod 600 {path}")
        shown = f" (mode {mode:04o})" if mode is not None else ""
        return Check("token store", WARNING if connected else OK,
                     f"tokens are kept in a plain-text file{shown}, by your choice "
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


REPAIR = ("run xerolink doctor --repair: it keeps the damaged file aside and rebuilds "
          "the store from what is readable and its last copy")


def store_health(store: Store) -> Check:
    from xerolink.store.base import DamagedStore

    try:
        integrity = store.integrity_check()
    except DamagedStore as exc:
        integrity = exc.reason
    if integrity != "ok":
        return Check("store", PROBLEM, f"{store.path} is damaged: {integrity}",
                     REPAIR if store.engine == "sqlite" else
                     f"restore {store.path} from a backup")
    version, latest = store.schema_version(), store.latest_schema_version()
    if version != latest:
        return Check("store", PROBLEM, f"schema {version}, expected {latest}",
                     "upgrade xerolink")
    return Check("store", OK, f"{store.path} (schema {version}, integrity ok)")


def copies_check(copies: list[Path], store: Store | None) -> Check | None:
    """Where the copies of what only the store holds are, and how recent."""
    if store is not None and store.engine != "sqlite":
        return None
    if not copies:
        return Check("store copies", WARNING if _holds_access(store) else OK,
                     "no copy yet (one is taken when links, deal documents, access or "
                     "settings change)")
    try:
        taken = datetime.fromtimestamp(copies[0].stat().st_mtime, UTC)
    except OSError:
        return Check("store copies", WARNING, f"the copy {copies[0]} cannot be read")
    return Check("store copies", OK,
                 f"{len(copies)} in {copies[0].parent}, the newest from "
                 f"{taken:%Y-%m-%d %H:%M} UTC")


def _holds_access(store: Store | None) -> bool:
    """Connected: links and access exist only here, yet no copy has been taken (a store
    older than the copies; the next change takes one)."""
    try:
        return store is not None and bool(store.has_any_access_entries())
    except Exception:
        return False


def damaged_check(name: str, exc: DamagedStore) -> Check:
    """A check that could not be made: the store page it reads is damaged."""
    return Check(name, PROBLEM, f"cannot be checked: the store is damaged ({exc.reason})",
                 REPAIR)


def _mode(path: Path | None) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode) if path is not None else None
    except OSError:
        return None


def connection_checks(connection: Connection | None, tokens: TokenSet | None,
                      now: datetime, *,
                      may_view: bool = True, tokens_problem: str | None = None
                      ) -> list[Check]:
    if connection is None:
        return [Check("connection", WARNING, "not connected", "run xerolink connect")]
    if may_view:
        detail = (f"{connection.tenant_name} ({connection.tenant_id}), connected by "
                  f"{connection.connected_by} on {connection.connected_at:%Y-%m-%d}")
    else:  # what status refuses a stranger, doctor does not show them either
        detail = "an organisation is connected (its details need access)"
    checks = [Check("connection", OK, detail)]
    if tokens_problem is not None:
        checks.append(Check("tokens", PROBLEM, tokens_problem,
                            "delete the damaged file and run xerolink connect"))
        return checks
    if tokens is None:
        checks.append(Check("tokens", PROBLEM, "no tokens are stored for the connection",
                            "run xerolink connect"))
        return checks
    if tokens.kind == "pkce" and tokens.refresh_issued_at:
        expires = tokens.refresh_issued_at + timedelta(days=60)
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


def rate_limits(connection: Connection | None) -> Check:
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


def access_check(store: Store, connection: Connection | None, user: str) -> Check:
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


@dataclass
class Inputs:
    """What doctor looks at, each opened only inside its own check."""

    open_store: Callable[[], Store]
    config: Callable[[], Config]
    token_kind: Callable[[], str]
    token_store: Callable[[], TokenStore]
    team: Callable[[], bool]
    user: Callable[[], str]
    now: datetime
    live: Callable[[Connection], Check] | None  # one Xero call for the connection; None: offline
    copies: Callable[[], list[Path]] = list  # the store's copies, newest first


def diagnose(given: Inputs) -> Diagnosis:
    return Diagnosis(_checks(given))


def _checks(given: Inputs) -> list[Check]:
    """Every check, each surviving what the others find."""
    from xerolink.errors import StoreUnreachableError, XerolinkError
    from xerolink.store.base import DamagedStore

    results = [versions()]
    try:
        results.append(config_check(given.config()))
        team, user = given.team(), given.user()
        store = given.open_store()
    except StoreUnreachableError as exc:  # the team database: the network, a role...
        return [*results, Check("store", PROBLEM, exc.problem, exc.fix)]
    except DamagedStore as exc:
        copies = copies_check(given.copies(), None)
        return [*results, Check("store", PROBLEM, f"{exc.path} is damaged: {exc.reason}",
                                REPAIR), *([copies] if copies else [])]
    except XerolinkError as exc:
        name = "profile" if "XEROLINK_HOME" in str(exc) or "folder" in str(exc) else "store"
        return [*results, Check(name, PROBLEM, str(exc), _store_remedy(str(exc)))]
    except Exception as exc:  # a damaged database file fails in the driver
        return [*results, Check("store", PROBLEM, f"the store cannot be opened ({exc})",
                                "restore it from a backup, or move it aside and reconnect")]
    try:
        health = store_health(store)
    except Exception as exc:  # corruption found while checking
        health = Check("store", PROBLEM, f"the store is damaged ({exc})",
                       f"restore {store.path} from a backup, or move it aside and reconnect")
    copies = copies_check(given.copies(), store)
    try:
        connection = store.active_connection()
    except DamagedStore as exc:
        return [*results, health, *([copies] if copies else []),
                damaged_check("connection", exc)]
    except Exception:
        return [*results, health]
    results.append(_token_store_check(given, store, team, connection is not None))
    results.append(health)
    if copies:
        results.append(copies)
    return results + _connection_checks(given, store, connection, user)


def _token_store_check(given: Inputs, store: Store, team: bool, connected: bool) -> Check:
    from xerolink.errors import XerolinkError

    if team:
        return Check("token store", OK, f"the team database ({store.path}), shared by the team")
    try:
        return keyring_backend(given.token_kind(), given.token_store(), connected)
    except XerolinkError as exc:
        return Check("token store", PROBLEM, str(exc), "")


def _connection_checks(given: Inputs, store: Store, connection: Connection | None,
                       user: str) -> list[Check]:
    """The connection's tokens, the live call, rate limits and who may see what."""
    from xerolink.errors import XerolinkError
    from xerolink.store.base import DamagedStore

    results: list[Check] = []
    may_view = _may_view(store, connection, user)
    tokens, tokens_problem = None, None
    if connection is not None:
        try:
            tokens = given.token_store().load(connection.tenant_id)
        except XerolinkError as exc:
            tokens_problem = str(exc)
    results += connection_checks(connection, tokens, given.now, may_view=may_view,
                                 tokens_problem=tokens_problem)
    if connection is not None and tokens is not None and given.live is not None and may_view:
        results.append(given.live(connection))
    if may_view:
        results.append(rate_limits(connection))
    try:
        results.append(access_check(store, connection, user))
    except DamagedStore as exc:
        results.append(damaged_check("access", exc))
    return results


def live_check(connections: Callable[[], Any], server_date: Callable[[], Any]) -> Check:
    """The token works (refreshing it if due), and Xero's clock against ours. Xero
    being unreachable is a network finding, not a reason to reconnect."""
    from xerolink.errors import XerolinkError, XeroUnreachableError

    try:
        connections()
    except XeroUnreachableError as exc:
        return Check("Xero", WARNING, str(exc), _unreachable_advice(exc))
    except XerolinkError as exc:
        return Check("Xero", PROBLEM, str(exc), "run xerolink connect")
    return clock_skew(*server_date())


def _unreachable_advice(exc: BaseException) -> str:
    """A refused connection is a wrong address or a stopped server, not a slow network."""
    import re

    if "refused" not in str(exc) and "could not be found" not in str(exc):
        return "check the network (or read_timeout), then run doctor again"
    where = re.search(r"at (\S+:\d+)", str(exc))
    return (f"{f'the server at {where.group(1)}' if where else 'the server'} refused the "
            "connection: check the Xero URL (connect --xero-url, XEROLINK_XERO_URL or "
            "config xero_url) and that the server is running, then run doctor again")


def config_check(config: Config) -> Check:
    from xerolink.config import SETTINGS
    from xerolink.errors import XerolinkError

    try:
        problems = [p for p in (config.problem(k) for k in SETTINGS) if p]
    except XerolinkError as exc:
        return Check("config", PROBLEM, str(exc), f"fix or delete {config.path}")
    if problems:
        return Check("config", PROBLEM, "; ".join(problems),
                     "xerolink config set KEY VALUE, or xerolink config unset KEY")
    return Check("config", OK, str(config.path))


def _may_view(store: Store, connection: Connection | None, user: str) -> bool:
    if connection is None:
        return True
    try:
        return any(e.user == user for e in store.list_access(connection.tenant_id))
    except Exception:
        return False


def _store_remedy(message: str) -> str:
    if "newer" in message:
        return "upgrade xerolink (pip install --upgrade xerolink)"
    if "XEROLINK_HOME" in message or "folder" in message:
        return "point XEROLINK_HOME at a folder you can write"
    return "restore it from a backup, or move it aside and reconnect"

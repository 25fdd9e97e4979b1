"""Where a connection's tokens (and xerolink's other secrets) are kept: the OS keyring,
or (opt-in) a 0600 file, or in team mode the team database. Keeping a token valid
(refreshing it) is ``xero/tokens.py``.

Outside team mode tokens never go to the store; they never go to the config file or
any output. Where no keyring backend works (a headless Linux box), xerolink refuses to
fall back silently and names the opt-in instead.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from xerolink.clock import Clock, SystemClock
from xerolink.errors import NotConnectedError
from xerolink.fileutil import atomic_write
from xerolink.profile import Profile
from xerolink.redact import SecretField, register_secret

if TYPE_CHECKING:
    from xerolink.store import Store

SERVICE = "xerolink"


@dataclass(frozen=True, repr=False)
class TokenSet:
    """What it takes to call Xero for one organisation. The tokens and the client
    secret read as text but are held as ``Secret``s: no repr or ``vars()`` shows them."""

    kind: str  # "pkce" or "custom"
    client_id: str
    access_token: SecretField[str] = SecretField()  # noqa: RUF009 - a descriptor
    # When the access token stops working (UTC). mypy takes the SecretField above for a
    # default; it is required (its __get__ says so to dataclass).
    expires_at: datetime  # type: ignore[misc]
    lifetime: float = 1800.0  # seconds the access token was issued for
    refresh_token: SecretField[str | None] = SecretField(None)  # noqa: RUF009
    refresh_issued_at: datetime | None = None  # refresh tokens die 60 days after issue
    # Custom Connections re-authenticate with it.
    client_secret: SecretField[str | None] = SecretField(None)  # noqa: RUF009
    scope: str = ""

    def __repr__(self) -> str:
        return (f"TokenSet(kind={self.kind!r}, client_id={self.client_id!r}, "
                f"expires_at={self.expires_at!r}, scope={self.scope!r})")

    def expires_within(self, seconds: float, now: datetime) -> bool:
        return self.expires_at - timedelta(seconds=seconds) <= now

    def to_json(self) -> str:
        """Stored with times as epoch seconds: the format every keyring entry, token
        file and team database row has held since 0.1, so stored tokens keep working."""
        data: dict[str, Any] = asdict(self)
        data["expires_at"] = self.expires_at.timestamp()
        data["refresh_issued_at"] = (None if self.refresh_issued_at is None
                                     else self.refresh_issued_at.timestamp())
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        """Raises ValueError for text that is not a token set (damaged or foreign)."""
        data = json.loads(text)
        _check_shape(data)
        fields = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        fields["expires_at"] = _instant(fields.get("expires_at")) or _EPOCH
        fields["refresh_issued_at"] = _instant(fields.get("refresh_issued_at"))
        tokens = cls(**fields)
        for secret in (tokens.access_token, tokens.refresh_token, tokens.client_secret):
            register_secret(secret)
        return tokens


_EPOCH = datetime.fromtimestamp(0, UTC)
_TEXT = {"kind": True, "client_id": True, "access_token": True,  # True: required
         "refresh_token": False, "client_secret": False, "scope": False}


def _check_shape(data: Any) -> None:
    """A stored token set is an object of text fields (and a number of seconds); any
    other shape is a damaged entry, refused before it reaches TokenSet."""
    if not isinstance(data, dict):
        raise ValueError(f"a token entry is {type(data).__name__}, not an object")
    for name, required in _TEXT.items():
        value = data.get(name)
        if (value is None and required) or not (value is None or isinstance(value, str)):
            raise ValueError(f"a token entry's {name} is not text")
    lifetime = data.get("lifetime", 0)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
        raise ValueError("a token entry's lifetime is not a number")


def _instant(value: Any) -> datetime | None:
    """A stored time (epoch seconds) as a datetime; None if absent or unreadable."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


class TokenStoreUnavailable(NotConnectedError):
    pass


def _read_entry(text: str, where: str) -> TokenSet:
    """A stored token set; one that is damaged or foreign means: connect again."""
    try:
        return TokenSet.from_json(text)
    except ValueError as exc:
        raise TokenStoreUnavailable(f"{where} for this connection is damaged ({exc}); run "
                                    "xerolink connect again") from exc


class TokenStore(Protocol):
    description: str

    def check(self) -> None:
        """Raise TokenStoreUnavailable, with the way forward, if tokens cannot be kept."""

    def load(self, tenant_id: str) -> TokenSet | None: ...

    def save(self, tenant_id: str, tokens: TokenSet) -> None: ...

    def delete(self, tenant_id: str) -> None: ...

    def load_secret(self, key: str) -> str | None:
        """A CRM source's secret (an access token), kept like Xero's tokens."""

    def save_secret(self, key: str, secret: str) -> None: ...


NO_KEYRING = (
    "no OS keyring is available on this machine, so xerolink has nowhere safe to keep "
    "Xero tokens; install and unlock a keyring backend (e.g. gnome-keyring or "
    "keyrings.alt), or opt in to a private file with XEROLINK_TOKEN_STORE=file "
    "(tokens in plain text, mode 0600, under XEROLINK_HOME)"
)


class KeyringTokenStore:
    description = "OS keyring"

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._checked = False

    def _name(self, tenant_id: str) -> str:
        return f"{self.profile.name}:{tenant_id}"

    def _keyring(self) -> Any:
        import keyring

        return keyring

    def check(self) -> None:
        if self._checked:
            return
        keyring = self._keyring()
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            raise TokenStoreUnavailable(NO_KEYRING)
        try:
            keyring.get_password(SERVICE, self._name("__probe__"))
        except Exception as exc:  # any backend failure means: nowhere to keep tokens
            raise TokenStoreUnavailable(
                f"{NO_KEYRING} (the keyring said: {type(exc).__name__})") from exc
        self._checked = True

    def load(self, tenant_id: str) -> TokenSet | None:
        self.check()
        text = self._keyring().get_password(SERVICE, self._name(tenant_id))
        return None if text is None else _read_entry(text, "the keyring's xerolink entry")

    def save(self, tenant_id: str, tokens: TokenSet) -> None:
        self.check()
        self._keyring().set_password(SERVICE, self._name(tenant_id), tokens.to_json())

    def load_secret(self, key: str) -> str | None:
        self.check()
        text = self._keyring().get_password(SERVICE, self._name(key))
        register_secret(text)
        return None if text is None else str(text)

    def save_secret(self, key: str, secret: str) -> None:
        self.check()
        register_secret(secret)
        self._keyring().set_password(SERVICE, self._name(key), secret)

    def delete(self, tenant_id: str) -> None:
        self.check()
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._keyring().delete_password(SERVICE, self._name(tenant_id))


class FileTokenStore:
    """Opt-in plaintext tokens in one 0600 JSON file, replaced atomically."""

    description = "file (XEROLINK_TOKEN_STORE=file)"

    def __init__(self, path: Path, prepare: Any = None) -> None:
        self.path = path
        self.prepare = prepare  # creates the profile's (private) folders before a write

    def check(self) -> None:
        return None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise self._damaged(exc) from exc
        if not isinstance(data, dict):
            raise self._damaged(f"it holds {type(data).__name__}, not an object")
        return data

    def _damaged(self, why: object) -> TokenStoreUnavailable:
        return TokenStoreUnavailable(
            f"the token file {self.path} is damaged ({why}); delete it and run "
            "xerolink connect again")

    def load(self, tenant_id: str) -> TokenSet | None:
        entry = self._read().get(tenant_id)
        if entry is None:
            return None
        try:
            return TokenSet.from_json(json.dumps(entry))
        except ValueError as exc:
            raise self._damaged(exc) from exc

    def save(self, tenant_id: str, tokens: TokenSet) -> None:
        data = self._read()
        data[tenant_id] = json.loads(tokens.to_json())
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        if self.prepare is not None:
            self.prepare()
        atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def load_secret(self, key: str) -> str | None:
        entry = self._read().get(key)
        if entry is None:
            return None
        secret = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(secret, str):
            raise self._damaged(f"the entry {key!r} holds no secret text")
        register_secret(secret)
        return secret

    def save_secret(self, key: str, secret: str) -> None:
        register_secret(secret)
        data = self._read()
        data[key] = {"secret": secret}
        self._write(data)

    def delete(self, tenant_id: str) -> None:
        data = self._read()
        if data.pop(tenant_id, None) is not None:
            atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))


class DatabaseTokenStore:
    """A team's shared token set, in the team database (readable only by granted roles).
    Used inside the store's row lock, so a refresh is one transaction."""

    description = "team database"

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()

    def check(self) -> None:
        return None

    def load(self, tenant_id: str) -> TokenSet | None:
        text = self.store.load_token(tenant_id)
        return None if text is None else _read_entry(text, "the team database's token row")

    def save(self, tenant_id: str, tokens: TokenSet) -> None:
        self.store.save_token(tenant_id, tokens.to_json(), self.clock.now())

    def delete(self, tenant_id: str) -> None:
        self.store.delete_token(tenant_id)

    def load_secret(self, key: str) -> str | None:
        secret = self.store.load_token(key)
        register_secret(secret)
        return secret

    def save_secret(self, key: str, secret: str) -> None:
        register_secret(secret)
        self.store.save_token(key, secret, self.clock.now())


def token_store_kind(config_value: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    kind = (env.get("XEROLINK_TOKEN_STORE") or config_value or "keyring").strip().lower()
    if kind not in ("keyring", "file"):
        from xerolink.errors import UsageError

        raise UsageError(f"XEROLINK_TOKEN_STORE must be keyring or file, not {kind!r}")
    return kind


def open_token_store(profile: Profile, kind: str) -> TokenStore:
    if kind == "file":
        return FileTokenStore(profile.token_file, prepare=profile.ensure_dirs)
    return KeyringTokenStore(profile)

"""Keeping secrets out of every message xerolink prints or logs.

Two layers: values registered as secret (a token as soon as it is loaded or
received) are replaced wherever they appear, and patterns catch the shapes a secret
takes in HTTP traffic (Bearer headers, token fields in JSON or form bodies). Neither
blanks the words of a message: a value shorter than any token is never registered,
and a word such as "token" is followed by a secret only as a key or a field.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any, Generic, TypeVar, overload

MASK = "***"
# Shorter than any token xerolink holds (Xero's are 40+ characters, a PKCE verifier 43+,
# a Salesmate access key 32+): a shorter value is a word a message may well contain.
MIN_SECRET_LENGTH = 16
T = TypeVar("T")
_lock = threading.Lock()
# The most recently registered secrets, oldest first (a dict keeps the order). A service
# running for months renews its access token every 30 minutes: without a bound, every
# token it ever held would stay here. The oldest go first; a secret in use is
# registered again each time it is loaded, which makes it the newest.
MAX_SECRETS = 256
_secrets: dict[str, None] = {}

_VALUE = r"[^\"'&\s,}]+"
_TOKEN_LIKE = rf"[A-Za-z0-9._~+/=-]{{{MIN_SECRET_LENGTH},}}"
# Names only a token has (a header, a JSON key, a form field): whatever follows is masked.
_KEY_NAMES = (r"access_?token|refresh_?token|id_token|session_?token|client_?secret|"
              r"code_?verifier")
# Names that are also words of a message ("the access token: pipe it to --token-stdin"):
# masked as a JSON key or a form field, or after a colon only when a token follows.
_WORDS = r"token|code|password"
_PATTERN_TEXTS = (
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+",
    rf"(?i)([\"']?\b(?:{_KEY_NAMES})[\"']?\s*[:=]\s*[\"']?)({_VALUE})",
    rf"(?i)([\"']\b(?:{_WORDS})[\"']\s*:\s*[\"']?)({_VALUE})",
    rf"(?i)(\b(?:\w*(?:token|secret|password)|code)\s*=\s*[\"']?)({_VALUE})",
    rf"(?i)(\b(?:{_WORDS})\s*:\s*[\"']?)({_TOKEN_LIKE})",
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(basic\s+)?[A-Za-z0-9._~+/=-]+",
    r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)",  # a URL's password
)


class Secret(Generic[T]):
    """A value that never shows itself: its repr and str are ``***``, it is not in
    ``vars()``, and only ``reveal()`` gives it back (where it is sent)."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        object.__setattr__(self, "_value", value)

    def reveal(self) -> T:
        value: T = object.__getattribute__(self, "_value")
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __copy__(self) -> Secret[T]:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret[T]:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled: it would leave the process in clear")


class SecretField(Generic[T]):
    """A dataclass field (``name: SecretField[str] = SecretField()``) that reads as its
    plain value but is kept as a ``Secret``, so ``vars()`` never shows it; the class
    writes a repr without it."""

    _NO_DEFAULT: Any = object()

    def __init__(self, default: Any = _NO_DEFAULT) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Any: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:  # the dataclass asking for the default
            if self.default is SecretField._NO_DEFAULT:
                raise AttributeError(self.name)  # a required field
            return self.default
        held = obj.__dict__[self.name]
        return held.reveal() if isinstance(held, Secret) else held

    def __set__(self, obj: object, value: T) -> None:
        obj.__dict__[self.name] = None if value is None else Secret(value)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it appears later. A value
    shorter than a token is not remembered: masking it would blank words in messages
    (the patterns still mask it where it appears as a token's value)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.pop(value, None)
            _secrets[value] = None
            while len(_secrets) > MAX_SECRETS:
                del _secrets[next(iter(_secrets))]


@functools.cache
def _patterns() -> list[re.Pattern[str]]:
    """Compiled on first use: ``xerolink --help`` never redacts anything."""
    return [re.compile(text) for text in _PATTERN_TEXTS]


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _patterns():
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text

"""Per-profile settings in TOML: a fixed set of known keys, each validated on set."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xerolink.errors import UsageError
from xerolink.fileutil import atomic_write
from xerolink.vocabulary import FIGURE_KEYS, SETTLEMENT_KEYS, RecordKind


def _text(value: str) -> str:
    from xerolink.validation import has_unsafe

    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 255:
        raise ValueError("must be at most 255 characters")
    if has_unsafe(value):
        raise ValueError("must not contain control or bidi characters")
    return value


def server_url(value: str) -> str:
    """An http(s) base URL: https, or plain http to a loopback host (a sandbox)."""
    value = _text(value).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL such as http://127.0.0.1:8080")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("plain http is only allowed for a loopback host; use https")
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 0 or number > 86400:
        raise ValueError("must be a whole number of seconds from 0 to 86400")
    return number


def _timeout(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be a whole number of seconds from 1 to 600") from None
    if not 1 <= number <= 600:
        raise ValueError("must be a whole number of seconds from 1 to 600")
    return number


def _choice(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return check


def _postgres_url(value: str) -> str:
    value = _text(value)
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql:// URL")
    return value


@dataclass(frozen=True)
class Setting:
    key: str
    description: str
    parse: Callable[[str], Any]
    default: Any = None
    listed: bool = True  # False: `config list` shows it only once it is set


def _crm_field(value: str) -> str:
    """A custom field's API name: what push writes is only ever xerolink's own field.
    Salesmate names custom fields by type and number (``textCustomField1``,
    ``decimalCustomField2``: docs/salesmate-fidelity.md); a standard field (firstName,
    email, owner) would have push overwrite what people keep there."""
    import re

    value = value.strip()
    if not re.fullmatch(r"[a-z][A-Za-z]{0,30}CustomField[0-9]{1,4}", value):
        shown = value[:40] + ("..." if len(value) > 40 else "")
        raise ValueError(f"{shown!r} is not a custom field: give a custom field's API name, "
                         "such as textCustomField1 or decimalCustomField2 (push never writes "
                         "Salesmate's standard fields)")
    return value


# What `crm push` can write into a CRM's fields: the linked Xero contact (contacts
# only), and each summary figure's base-currency total and count.
SUMMARY_FIGURES = (*FIGURE_KEYS, *SETTLEMENT_KEYS)  # the five, then paid and credit
PUSH_FIGURES: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: ("xero_contact", "xero_link", *SUMMARY_FIGURES,
                         *(f"{f}_count" for f in SUMMARY_FIGURES)),
    RecordKind.COMPANY: (*SUMMARY_FIGURES, *(f"{f}_count" for f in SUMMARY_FIGURES)),
    RecordKind.DEAL: (*SUMMARY_FIGURES, *(f"{f}_count" for f in SUMMARY_FIGURES)),
}
PUSH_PREFIX: dict[str, str] = {RecordKind.CONTACT: "fields", RecordKind.COMPANY: "company_fields",
               RecordKind.DEAL: "deal_fields"}
_WHAT = {"xero_contact": "the linked Xero contact's name",
         "xero_link": "the linked Xero contact's View in Xero link"}


def push_key(source: str, kind: str, figure: str) -> str:
    return f"{source}.{PUSH_PREFIX[kind]}.{figure}"


def _push_settings() -> list[Setting]:
    settings = []
    for kind, figures in PUSH_FIGURES.items():
        for figure in figures:
            what = _WHAT.get(figure) or (
                f"the count of {figure[:-6].replace('_', ' ')}" if figure.endswith("_count")
                else f"the base-currency total of {figure.replace('_', ' ')}")
            settings.append(Setting(push_key("salesmate", kind, figure),
                                    f"Salesmate {kind} field that `crm push` fills with {what}",
                                    _crm_field, listed=False))
    return settings


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("client_id", "OAuth2 client id of your Xero app, used by connect", _text),
        Setting(
            "xero_url",
            "one host serving Xero's paths (a sandbox or compatible server); unset = real Xero",
            server_url,
        ),
        Setting("sales_account", "default account code for quote and invoice lines", _text, "200"),
        Setting("purchases_account", "default account code for bill lines", _text, "300"),
        Setting("sales_tax_type", "default tax type for quote and invoice lines", _text),
        Setting("purchases_tax_type", "default tax type for bill lines", _text),
        Setting("max_wait", "longest wait, in seconds, for Xero's minute limit", _positive_int, 60),
        Setting("connect_timeout", "seconds to wait for a connection to Xero", _timeout, 10),
        Setting("read_timeout", "seconds to wait for Xero's answer once connected (a call "
                "that times out is tried once more, then the command exits 7)", _timeout, 60),
        Setting(
            "token_store",
            "where tokens live: keyring (default) or file (a 0600 file, opt-in)",
            _choice("keyring", "file"),
            "keyring",
        ),
        Setting("database_url", "PostgreSQL URL for team mode; unset = local SQLite",
                _postgres_url),
        *_push_settings(),
    )
}


# Settings an environment variable overrides (it wins over the file).
ENV_OVERRIDES = {"client_id": "XEROLINK_CLIENT_ID", "xero_url": "XEROLINK_XERO_URL",
                 "token_store": "XEROLINK_TOKEN_STORE", "database_url": "XEROLINK_DATABASE_URL"}


class Config:
    """A profile's settings file. Reads are lazy; every write replaces the file atomically."""

    def __init__(self, path: Path, prepare: Callable[[], None] | None = None) -> None:
        self.path = path
        self.prepare = prepare  # creates the profile's (private) folders before a write
        self._values: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._values is None:
            try:
                with self.path.open("rb") as handle:
                    self._values = tomllib.load(handle)
            except FileNotFoundError:
                self._values = {}
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise UsageError(
                    f"{self.path} is not valid TOML ({exc}); fix or delete it"
                ) from exc
            except OSError as exc:  # under a file, or unreadable
                raise UsageError(f"cannot read {self.path} ({exc.strerror or exc})") from None
        return self._values

    def get(self, key: str) -> Any:
        """The value, checked as ``config set`` checks it: a hand-edited file with a
        value of the wrong kind is a usage error naming the key, not a crash later."""
        setting = _known(key)
        values = self._load()
        if key not in values:
            return setting.default
        problem = self.problem(key)
        if problem is not None:
            raise UsageError(f"{self.path}: {problem}; fix it with `xerolink config set "
                             f"{key} VALUE` or `xerolink config unset {key}`")
        return setting.parse(_as_text(values[key]))

    def problem(self, key: str) -> str | None:
        """Why the file's value for ``key`` is invalid, or None."""
        values = self._load()
        if key not in values:
            return None
        try:
            SETTINGS[key].parse(_as_text(values[key]))
        except (ValueError, TypeError) as exc:
            reason = str(exc) if "invalid literal" not in str(exc) else "must be a whole number"
            return f"{key} = {values[key]!r} is invalid: {reason}"
        return None

    def is_set(self, key: str) -> bool:
        _known(key)
        return key in self._load()

    def effective(self, key: str, env: Any) -> tuple[Any, str]:
        """The value in force and where it comes from: the environment variable that
        overrides it, the config file, or the default."""
        variable = ENV_OVERRIDES.get(key)
        if variable and env.get(variable):
            return env[variable].strip(), f"environment ({variable})"
        if self.is_set(key):
            return self._load()[key], "config file"
        return _known(key).default, "default"

    def items(self) -> list[tuple[str, Any, bool]]:
        """Every known key with its value and whether it was set (else the default)."""
        values = self._load()
        return [(key, values.get(key, s.default), key in values) for key, s in SETTINGS.items()
                if s.listed or key in values]

    def set(self, key: str, raw: str) -> Any:
        setting = _known(key)
        try:
            value = setting.parse(raw)
        except ValueError as exc:
            reason = str(exc) if "invalid literal" not in str(exc) else "must be a whole number"
            raise UsageError(f"invalid value for {key}: {reason}") from exc
        values = dict(self._load())
        values[key] = value
        self._write(values)
        return value

    def unset(self, key: str) -> bool:
        _known(key)
        values = dict(self._load())
        existed = values.pop(key, None) is not None
        if existed:
            self._write(values)
        return existed

    def _write(self, values: dict[str, Any]) -> None:
        import tomli_w

        if self.prepare is not None:
            self.prepare()
        atomic_write(self.path, tomli_w.dumps(values).encode("utf-8"))
        self._values = values


def _as_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"must be a single value, not {type(value).__name__}")
    return str(value)


def _known(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        listed = [k for k, s in SETTINGS.items() if s.listed]
        raise UsageError(
            f"unknown setting {key!r}; known settings: {', '.join(listed)}, and "
            "salesmate.fields.FIGURE, salesmate.company_fields.FIGURE, "
            "salesmate.deal_fields.FIGURE (FIGURE: xero_contact, xero_link, open_quotes, "
            "overdue_invoices, outstanding_invoices, overdue_bills, outstanding_bills, "
            "paid_invoices, paid_bills, customer_credit, supplier_credit, or one of "
            "those with _count)"
        ) from None

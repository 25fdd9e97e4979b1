"""``xerolink config``: this profile's settings."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.render import Column

app = typer.Typer(no_args_is_help=True)

KEY = Annotated[str, typer.Argument(help="Setting name; `xerolink config list` shows them all.")]


def _shown(key: str, value: Any) -> Any:
    """Never print a password that a database URL may carry."""
    if key == "database_url" and isinstance(value, str):
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


@command(app, "list", lists=True, examples=["xerolink config list", "xerolink config list --json"])
def list_settings(rt: Runtime) -> None:
    """List every setting with the value in force, where it comes from (environment,
    config file or default), and what it is for."""
    from xerolink.config import SETTINGS

    rows = []
    for key, _, is_set in rt.config.items():
        value, source = rt.config.effective(key, rt.env)
        rows.append({"key": key, "value": _shown(key, value), "source": source,
                     "set": is_set, "problem": rt.config.problem(key),
                     "description": SETTINGS[key].description})
    rt.out.records(
        rows,
        [Column("key", "Setting"), Column("value", "Value"), Column("source", "From"),
         Column("set", "Set", wide_only=True), Column("problem", "Problem", wrap=True),
         Column("description", "What it is for", wrap=True)],
    )
    bad = [r["key"] for r in rows if r["problem"]]
    if bad:
        rt.out.notice(f"warning: invalid in {rt.config.path}: {', '.join(bad)}; fix with "
                      "`xerolink config set KEY VALUE` or `xerolink config unset KEY`")


@command(app, "get", examples=["xerolink config get sales_account"])
def get_setting(rt: Runtime, key: KEY) -> None:
    """Print one setting's value in force (an environment override, the file, or the
    default)."""
    from xerolink.services.outcomes import Setting

    rt.config.get(key)  # a hand-edited value of the wrong kind is refused here
    effective, source = rt.config.effective(key, rt.env)
    value = _shown(key, effective)
    setting = Setting(key, value, source, rt.config.is_set(key))
    rt.out.result(setting, lambda: rt.out.line("" if value is None else str(value)))


@command(
    app,
    "set",
    examples=["xerolink config set sales_account 200",
              "xerolink config set xero_url http://127.0.0.1:8080"],
)
def set_setting(
    rt: Runtime, key: KEY, value: Annotated[str, typer.Argument(help="The new value.")]
) -> None:
    """Change one setting; the value is checked before the file is (atomically) rewritten.

    Once an organisation is connected, only its admins change settings.
    """
    from xerolink.services.outcomes import Setting

    stored = Setting(key, _shown(key, rt.app.config_set(key, value)))
    rt.out.key_values([("key", key), ("value", stored.value)], json_data=stored.to_json())


@command(app, "unset", examples=["xerolink config unset xero_url"])
def unset_setting(rt: Runtime, key: KEY) -> None:
    """Remove a setting so that its default applies again (admins, once connected)."""
    from xerolink.services.outcomes import Setting

    removed = rt.app.config_unset(key)
    rt.out.result(Setting(key, removed=removed), lambda: rt.out.line(
        f"{key} unset" if removed else f"{key} was not set"))

"""Which CRM source is connected, as the store records it: the setting that names it,
its state for ``status`` and ``crm connect``, and disconnecting it (the CRM-side twin
of ``services/connection.py``). Its token is kept in ``credentials.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xerolink.errors import UsageError

if TYPE_CHECKING:
    from xerolink.credentials import TokenStore
    from xerolink.services.outcomes import CrmSourceState
    from xerolink.store import Store

SOURCES = ("salesmate",)
SETTING = "crm.source"  # the store setting that names the connected CRM source
PULLED_FROM = "crm.pulled_from"  # + ".salesmate": the account the store's records came from
REFUSED_FIELDS = "crm.refused_fields"  # + ".salesmate": undocumented fields it refused


def secret_key(source: str, account: str) -> str:
    """The name the source's token is kept under."""
    return f"crm:{source}:{account}"


def source_setting(store: Store) -> dict[str, Any] | None:
    """The connected source's setting, or None (none, or one this version does not know)."""
    text = store.get_setting(SETTING)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("source") in SOURCES else None


def source_state(store: Store) -> CrmSourceState:
    """The CRM source's line in ``status``: which account, who connected it, when it was
    last pulled and how many records the store holds."""
    from xerolink.services.outcomes import CrmSourceState

    setting = source_setting(store)
    if setting is None:
        return CrmSourceState(None, None)
    source = setting["source"]
    return CrmSourceState(source, setting["account"], url=setting.get("url"),
                          connected_by=setting.get("connected_by"),
                          connected_at=setting.get("connected_at"),
                          pulled_at=store.source_pulled_at(source),
                          counts=store.source_counts(source))


def disconnect(store: Store, token_store: TokenStore, user: str) -> CrmSourceState:
    """Forget the CRM token and source; pulled records (and their links) stay."""
    from xerolink.errors import NotConnectedError
    from xerolink.services.access import check_may_configure
    from xerolink.services.outcomes import CrmSourceState

    setting = source_setting(store)
    if setting is None:
        raise NotConnectedError("no CRM source is connected")
    check_may_configure(store, user)
    token_store.delete(secret_key(setting["source"], setting["account"]))
    store.set_setting(SETTING, "")
    return CrmSourceState(None, None, disconnected=setting["source"])


def connect(store: Store, token_store: TokenStore, user: str, now: Callable[[], datetime],
            source: str, *, linkname: str, token: str, url: str | None,
            count_contacts: Callable[[str, str, str | None], int]) -> CrmSourceState:
    """``crm connect``: everything is checked (the names, who may, the records already
    pulled from another account, the token store) before the one call that proves the
    account and token (``count_contacts``); only then is the token kept (never printed)
    and the source named in the store."""
    from xerolink.config import server_url
    from xerolink.redact import register_secret
    from xerolink.services.access import check_may_configure

    register_secret(token)
    if source not in SOURCES:
        raise UsageError(f"unknown CRM source {source[:40]!r}; xerolink knows: "
                         f"{', '.join(SOURCES)}")
    linkname = _linkname(linkname)
    token = token.strip()
    if not token or len(token) > 4096 or not token.isprintable() or " " in token:
        raise UsageError("the Salesmate access token is empty or not a token (one line "
                         "of printable characters)")
    try:
        chosen_url = server_url(url) if url else None
    except ValueError as exc:
        raise UsageError(f"invalid --salesmate-url: {exc}") from None
    check_may_configure(store, user)
    _refuse_another_accounts_records(store, source, linkname)
    token_store.check()
    contacts = count_contacts(linkname, token, chosen_url)
    previous = source_setting(store)
    token_store.save_secret(secret_key(source, linkname), token)
    if previous and (previous["source"], previous["account"]) != (source, linkname):
        token_store.delete(secret_key(previous["source"], previous["account"]))
    store.set_setting(SETTING, json.dumps({
        "source": source, "account": linkname, "url": chosen_url,
        "connected_by": user, "connected_at": now().isoformat()}))
    state = source_state(store)
    state.contacts_at_source = contacts
    return state


def _refuse_another_accounts_records(store: Store, source: str, linkname: str) -> None:
    """Records pulled from one account must not meet another account's ids."""
    pulled_from = store.get_setting(f"{PULLED_FROM}.{source}")
    if not pulled_from or pulled_from == linkname:
        return
    held = sum(c["live"] + c["gone"] for c in store.source_counts(source).values())
    if held:
        raise UsageError(
            f"this profile holds {held} records pulled from the {source} account "
            f"{pulled_from}; another account's ids would land on them (and on their "
            "links): use another profile (XEROLINK_PROFILE) for "
            f"{linkname}, or connect {pulled_from} again")


def _linkname(text: str) -> str:
    """``acme``, or pasted as ``acme.salesmate.io`` or ``https://acme.salesmate.io``."""
    import re

    name = text.strip().lower()
    name = re.sub(r"^https?://", "", name).rstrip("/")
    name = name.removesuffix(".salesmate.io")
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", name):
        raise UsageError(f"invalid --linkname {text[:60]!r}: the NAME of "
                         "https://NAME.salesmate.io (letters, digits and hyphens)")
    return name

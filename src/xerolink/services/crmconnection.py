"""Which CRM source is connected, as the store records it: the setting that names it,
its state for ``status`` and ``crm connect``, and disconnecting it (the CRM-side twin
of ``services/connection.py``). Its token is kept in ``credentials.py``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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

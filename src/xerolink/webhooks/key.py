"""Where the webhook key comes from: ``XEROLINK_WEBHOOK_KEY`` or the token store
(``xerolink webhooks key --stdin``), never a command-line value, which every user of
the machine can read in the process list."""

from __future__ import annotations

from collections.abc import Mapping

from xerolink.credentials import TokenStore

KEY_ENV = "XEROLINK_WEBHOOK_KEY"
SECRET_NAME = "webhook-key"  # noqa: S105 - the name it is stored under



def webhook_key(env: Mapping[str, str], token_store: TokenStore | None) -> str | None:
    """The key, from the environment first, else the token store; None if neither."""
    value = (env.get(KEY_ENV) or "").strip()
    if value:
        return value
    if token_store is None:
        return None
    stored = token_store.load_secret(SECRET_NAME)
    return stored.strip() if stored and stored.strip() else None

"""The local store: every SQL statement xerolink runs lives in this package.

Callers use ``open_store`` and the store's named operations; nothing outside this
package knows which database engine is underneath.
"""

from __future__ import annotations

from xerolink.profile import Profile
from xerolink.store.sqlite import SqliteStore, StoreError

Store = SqliteStore

__all__ = ["Store", "StoreError", "open_store"]


def open_store(profile: Profile) -> Store:
    profile.ensure_dirs()
    return SqliteStore(profile.store_path)

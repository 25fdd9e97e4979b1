"""``xerolink doctor --repair``: rebuild a damaged store from every row still readable
and the newest copy of what only the store holds, and say what came from where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink.results import Result

if TYPE_CHECKING:
    from xerolink.store import Store


@dataclass(frozen=True)
class Repaired(Result):
    """What ``doctor --repair`` did: per table, the rows read from the damaged file and
    the rows the copy gave back; the damaged file's new name; what to do next."""

    store: str
    repaired: bool
    damaged_file: str | None
    copy_used: str | None
    tables: list[dict[str, Any]]
    notes: list[str]


def repair(open_store: Callable[[], Store], store_path: Path, now: datetime) -> Repaired:
    """Rebuild the store if it is damaged; a healthy store is left alone."""
    from xerolink.store import backup
    from xerolink.store.base import DamagedStore
    from xerolink.store.sqlite import repair as rebuild

    try:
        store = open_store()
        try:
            integrity = store.integrity_check()
        finally:
            store.close()
    except DamagedStore as exc:
        integrity = exc.reason
    if integrity == "ok":
        return Repaired(str(store_path), False, None, None, [],
                        ["the store passes its integrity check: nothing to repair"])
    done = rebuild(store_path, backup.stamp_of(now))
    tables = [{"table": t.table, "readable": t.readable, "from_copy": t.from_copy,
               "whole": t.whole, "dropped": t.dropped,
               "kind": _kind(t.table)} for t in done.tables]
    return Repaired(str(done.store), True, str(done.damaged_aside),
                    None if done.copy_used is None else str(done.copy_used), tables,
                    done.notes)


def _kind(table: str) -> str:
    """Where a table's rows can come from again, for the report."""
    from xerolink.store import backup

    if table in backup.CACHE:
        return "cache (re-read from Xero)"
    if table in backup.CRM or table == backup.CRM_WATERMARKS:
        return "CRM (re-read by crm pull)"
    return "only here"

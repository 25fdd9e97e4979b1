"""The CRM-source interface: what xerolink needs from a CRM to pull its records and
write Xero's figures back. Salesmate implements it; HubSpot or Pipedrive could.

A source answers in pages of at most ``page_size`` records. ``changed`` lists records
modified at or after a time (all of them when the time is None), oldest change first
for an incremental read and by id for a full one; ``count`` says how many records a
kind has now; ``current`` reads one record as it is now (what ``update`` must repeat,
and the only evidence that a record is gone); ``update`` writes some fields of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from xerolink.store.models import CrmCompany, CrmContact, CrmDeal
from xerolink.vocabulary import RECORD_KINDS

KINDS = RECORD_KINDS


@dataclass(frozen=True)
class Pulled:
    """One record as the source gave it."""

    kind: str
    record: CrmContact | CrmCompany | CrmDeal
    modified_at: datetime  # the source's last-modified time (UTC)
    echo: dict[str, Any] = field(default_factory=dict)  # what an update must repeat
    fields: dict[str, str] = field(default_factory=dict)  # custom-field values asked for

    @property
    def id(self) -> str:
        return self.record.id


@dataclass(frozen=True)
class CrmPage:
    records: list[Pulled]
    total: int  # records the query matches in all, as the source counted them


class CrmSource(Protocol):
    name: str  # "salesmate"
    account: str  # which account of that CRM (Salesmate: the linkname)
    page_size: int
    calls: Counter[str]  # calls made, by endpoint label

    def check(self) -> int:
        """One call that proves the account and the credentials; returns the number of
        contacts."""

    def changed(self, kind: str, since: datetime | None, offset: int,
                fields: Sequence[str] = ()) -> CrmPage:
        """Records of a kind modified at or after ``since`` (every record when None),
        from ``offset``; ``fields`` are custom fields to read as well."""

    def count(self, kind: str) -> int:
        """How many records of a kind the source holds now."""

    def current(self, kind: str, record_id: str, fields: Sequence[str] = ()
                ) -> Pulled | None:
        """One record as the source holds it now; None when the source says it has no
        such record."""

    def update(self, kind: str, record_id: str, echo: dict[str, Any],
               values: dict[str, str]) -> None:
        """Write ``values`` into one record; ``echo`` is what the source requires an
        update to repeat, as ``current`` read it just before."""

    def close(self) -> None: ...

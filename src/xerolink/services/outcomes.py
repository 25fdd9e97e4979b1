"""The results of the commands that had none of their own: each a dataclass whose
``to_json()`` is the command's documented ``--json`` document (docs/reference/json.md, made
from these classes).

Rows inside a listing (a document, a CRM record) stay mappings of plain values: they
are data, printed as table rows and JSON objects alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from xerolink.errors import ExitCode
from xerolink.results import Result, to_jsonable
from xerolink.vocabulary import RecordKind

if TYPE_CHECKING:
    from xerolink.store.models import AccessEntry, Link, XeroContact

Row = dict[str, Any]


def xero_contact_row(contact: XeroContact, **extra: Any) -> Row:
    return {"xero_contact_id": contact.contact_id, "name": contact.name,
            "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email, **extra}


@dataclass(frozen=True)
class Rows(Result):
    """A listing: its rows are the JSON (a list), the table, and the CSV."""

    rows: list[Row]
    title: str | None = None

    def to_json(self) -> Any:
        return to_jsonable(self.rows)


@dataclass(frozen=True)
class Linked(Result):
    crm: str
    link: Link
    replaced: Link | None
    unchanged: bool

    def to_json(self) -> Any:
        return {"crm": self.crm, "xero_contact_id": self.link.xero_contact_id,
                "xero_name": self.link.xero_name, "unchanged": self.unchanged,
                "replaced": None if self.replaced is None else {
                    "xero_contact_id": self.replaced.xero_contact_id,
                    "xero_name": self.replaced.xero_name}}


@dataclass(frozen=True)
class Unlinked(Result):
    crm: str
    link: Link

    def to_json(self) -> Any:
        return {"crm": self.crm, "unlinked_xero_contact_id": self.link.xero_contact_id}


@dataclass(frozen=True)
class ContactCreated(Result):
    crm: str
    link: Link
    sent: dict[str, Any]
    tenant_name: str

    def to_json(self) -> Any:
        return {"crm": self.crm, "xero_contact_id": self.link.xero_contact_id,
                "xero_name": self.link.xero_name, "sent": to_jsonable(self.sent)}


@dataclass(frozen=True)
class AutoLinked(Result):
    dry_run: bool
    linked: list[Row]
    ambiguous: list[Row]
    unmatched: list[Row]
    already_linked: int
    xero_contacts_fetched: int
    xero_calls: int


@dataclass(frozen=True)
class Refreshed(Result):
    refreshed: str  # "all", or the record refreshed
    contacts: int
    documents: int
    xero_calls: int


@dataclass(frozen=True)
class Documents(Rows):
    """Open documents of a record, and whether they come from a stale cache."""

    per_contact: bool = True  # one contact's: no "whose" column needed
    stale: bool = False
    problem: str | None = None

    @property
    def exit_code(self) -> ExitCode:
        """7 when Xero could not be reached and the list is the cache's."""
        return ExitCode.XERO_UNREACHABLE if self.stale else ExitCode.OK


@dataclass(frozen=True)
class DealSuggestions(Rows):
    unlinked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DealChange(Result):
    deal: str
    verb: str  # "attached" or "detached"
    count: int

    def to_json(self) -> Any:
        return {"deal": self.deal, self.verb: self.count}


@dataclass(frozen=True)
class ViewLink(Result):
    target: str
    what: str
    url: str


@dataclass(frozen=True)
class Imported(Result):
    kind: str
    format: str
    imported: int
    skipped: list[Row]
    file_name: str

    def to_json(self) -> Any:
        return {"kind": self.kind, "format": self.format, "imported": self.imported,
                "skipped": to_jsonable(self.skipped)}


@dataclass(frozen=True)
class CrmRecord(Result):
    """One CRM record; a company's carries its members."""

    ref: str
    kind: str
    row: Row
    members: list[Row] = field(default_factory=list)

    def to_json(self) -> Any:
        if self.kind == RecordKind.COMPANY:
            return to_jsonable({**self.row, "members": self.members})
        return to_jsonable(self.row)


@dataclass(frozen=True)
class Removed(Result):
    removed: str


@dataclass(frozen=True)
class AccessList(Rows):
    tenant_name: str = ""

    @staticmethod
    def of(tenant_name: str, entries: list[AccessEntry]) -> AccessList:
        # may_send: whether they may approve and send; an admin always may.
        return AccessList([{"user": e.user, "role": e.role,
                            "may_send": e.role == "admin" or e.may_send,
                            "granted_by": e.granted_by, "granted_at": e.granted_at}
                           for e in entries],
                          title=f"Access to {tenant_name}", tenant_name=tenant_name)


@dataclass(frozen=True)
class TeamReady(Result):
    database: str
    schema_version: int
    viewers_role: str
    admins_role: str
    admin: str


@dataclass(frozen=True)
class Setting(Result):
    key: str
    value: Any = None
    source: str | None = None
    set: bool | None = None
    removed: bool | None = None

    def to_json(self) -> Any:
        if self.removed is not None:
            return {"key": self.key, "removed": self.removed}
        if self.source is None and self.set is None:  # what `config set` stored
            return {"key": self.key, "value": to_jsonable(self.value)}
        return {"key": self.key, "value": to_jsonable(self.value), "source": self.source,
                "set": self.set}


@dataclass(frozen=True)
class Transcript(Result):
    """A run of several commands (the demo): each step's own JSON, by step name."""

    steps: dict[str, Any]

    def to_json(self) -> Any:
        return to_jsonable(self.steps)


@dataclass
class CrmSourceState(Result):
    """The connected CRM source (``crm connect``, ``crm disconnect``, and ``status``'s
    ``crm_source``); ``source`` None: none is connected. The token is never part of it."""

    source: str | None
    account: str | None  # Salesmate: the linkname
    url: str | None = None  # a Salesmate-compatible server instead of NAME.salesmate.io
    connected_by: str | None = None
    connected_at: str | None = None
    pulled_at: Any = None  # datetime of the last pull
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> live, gone
    contacts_at_source: int | None = None  # what connect's check counted
    disconnected: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "account": self.account}
        if self.source is not None:
            data.update({"url": self.url, "connected_by": self.connected_by,
                         "connected_at": self.connected_at,
                         "pulled_at": to_jsonable(self.pulled_at),
                         "records": self.counts})
        if self.contacts_at_source is not None:
            data["contacts_at_source"] = self.contacts_at_source
        if self.disconnected is not None:
            data["disconnected"] = self.disconnected
        return data


@dataclass(frozen=True)
class WebhookKeySaved(Result):
    """``webhooks key``: where the key now is (never the key itself)."""

    token_store: str

    def to_json(self) -> dict[str, Any]:
        return {"stored": True, "token_store": self.token_store}


@dataclass(frozen=True)
class PaidDocuments(Rows):
    """Invoices and bills paid from ``since`` on (``details --paid``): one row per
    document with its payments; stale when Xero could not be reached."""

    since: date | None = None
    per_contact: bool = True
    stale: bool = False
    problem: str | None = None

    @property
    def exit_code(self) -> ExitCode:
        """7 when Xero could not be reached and the list is the cache's."""
        return ExitCode.XERO_UNREACHABLE if self.stale else ExitCode.OK

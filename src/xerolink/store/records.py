"""Plain records the store reads and writes; no SQL, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CrmContact:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    company_id: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class CrmCompany:
    id: str
    name: str


@dataclass(frozen=True)
class CrmDeal:
    id: str
    title: str
    value: Decimal | None = None
    currency: str | None = None
    primary_contact_id: str | None = None
    participant_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Connection:
    tenant_id: str
    tenant_name: str
    auth_kind: str  # "pkce" or "custom"
    connected_by: str
    connected_at: datetime
    short_code: str | None = None
    base_currency: str | None = None
    timezone: str | None = None
    country_code: str | None = None
    xero_url: str | None = None
    client_id: str | None = None
    scopes: str | None = None
    rate_limits: str | None = None


@dataclass(frozen=True)
class Link:
    tenant_id: str
    crm_contact_id: str
    xero_contact_id: str
    linked_by: str
    linked_at: datetime
    xero_name: str = ""
    xero_email: str = ""


@dataclass(frozen=True)
class AccessEntry:
    tenant_id: str
    user: str
    role: str  # "admin" or "viewer"
    granted_by: str
    granted_at: datetime

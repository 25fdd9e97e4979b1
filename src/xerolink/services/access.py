"""Who may see Xero data in a profile, who may send, and who may change the connection.

The user who first connects an organisation becomes its admin. Admins connect,
remove and manage access; granted users (viewers) see and create Xero data, and
approve and send documents only with the right to send an admin gave them (admins
have it); everyone else is refused. Locally this guards against mistakes, not attackers:
anyone who can write the profile's files or set XEROLINK_USER can get around it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xerolink.errors import (
    NotConnectedError,
    NotFoundError,
    PermissionDeniedError,
    StoreDamagedError,
    UsageError,
)
from xerolink.results import Result
from xerolink.store import Store
from xerolink.store.models import AccessEntry, Connection

if TYPE_CHECKING:
    from xerolink.services.outcomes import AccessList

ADMIN, VIEWER = "admin", "viewer"
NOT_CONNECTED = "not connected to Xero; an admin runs `xerolink connect` first"


def denied(user: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        "you do not have access to Xero details in this profile; ask an admin "
        f"(xerolink access grant {shlex.quote(user)})")


def active_connection(store: Store) -> Connection:
    connection = store.active_connection()
    if connection is None:
        raise NotConnectedError(NOT_CONNECTED)
    return connection


def require_viewer(store: Store, user: str) -> Connection:
    """The active connection, if the user may see its data."""
    connection = active_connection(store)
    if store.role_of(connection.tenant_id, user) not in (ADMIN, VIEWER):
        raise denied(user)
    return connection


def require_viewer_if_connected(store: Store, user: str) -> Connection | None:
    """CRM-only commands work before any connection; once connected, they need access."""
    connection = store.active_connection()
    if connection is not None and store.role_of(connection.tenant_id, user) not in (
            ADMIN, VIEWER):
        raise denied(user)
    return connection


def require_admin(store: Store, user: str) -> Connection:
    connection = active_connection(store)
    if store.role_of(connection.tenant_id, user) != ADMIN:
        raise PermissionDeniedError(
            f"only an admin of {connection.tenant_name} can do this; ask an admin "
            f"(xerolink access grant {shlex.quote(user)} --admin)")
    return connection


def require_send_right(store: Store, user: str) -> Connection:
    """The active connection, if the user may approve documents and send them to
    customers in it: an admin, or a viewer an admin gave the right to send."""
    connection = active_connection(store)
    role = store.role_of(connection.tenant_id, user)
    if role == ADMIN or (role == VIEWER and store.may_send(connection.tenant_id, user)):
        return connection
    raise PermissionDeniedError(
        f"you do not have the right to approve or send documents of {connection.tenant_name}; "
        f"ask an admin (xerolink access grant {shlex.quote(user)} --send)")


def check_may_connect(store: Store, user: str) -> None:
    """Before the first connection anyone may connect; after it, only an admin."""
    connection = store.active_connection()
    if connection is not None:
        if store.role_of(connection.tenant_id, user) != ADMIN:
            raise PermissionDeniedError(
                f"only an admin of {connection.tenant_name} can change the Xero connection; "
                f"ask an admin (xerolink access grant {shlex.quote(user)} --admin)")
        return
    if store.has_any_access_entries() and not store.is_admin_anywhere(user):
        raise PermissionDeniedError(
            "only an admin of this profile can connect Xero; ask an admin "
            f"(xerolink access grant {shlex.quote(user)} --admin)")


def check_may_take_tenant(store: Store, tenant_id: str, tenant_name: str, user: str) -> bool:
    """Whether the user may connect this organisation; returns True if they become its
    first admin. An organisation with admins can only be reconnected by one of them."""
    if store.count_admins(tenant_id) == 0:
        return True
    if store.role_of(tenant_id, user) != ADMIN:
        raise PermissionDeniedError(
            f"{tenant_name} already has admins in this profile and you are not one of "
            f"them; ask one (xerolink access grant {shlex.quote(user)} --admin)")
    return False


def check_may_repair(read_store: Callable[[], Store], user: str,
                     owns_the_file: Callable[[], bool]) -> None:
    """``doctor --repair`` rewrites the whole store, access list included: once access
    is on record, only an admin may run it. When the damage leaves the access list
    unreadable it cannot say who is admin; then the OS user who owns the store file may
    (it is 0600: only they, or root, can open it anyway), and nobody else."""
    try:
        store = read_store()
        try:
            if not store.has_any_access_entries() or store.is_admin_anywhere(user):
                return
        finally:
            store.close()
    except StoreDamagedError:
        if owns_the_file():
            return
        raise PermissionDeniedError(
            "the store's access list is damaged, so only the user who owns the store file "
            "can repair it; ask them to run xerolink doctor --repair") from None
    raise PermissionDeniedError(
        "only an admin can repair the store (it rewrites the access list too); ask an "
        "admin to run xerolink doctor --repair")


@dataclass(frozen=True)
class AccessChange(Result):
    tenant_id: str
    tenant_name: str
    changed: list[str]
    role: str | None  # None: revoked
    send_right: str | None = None  # "granted", "revoked"; None: left as it was

    def to_json(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "users": self.changed, "role": self.role,
                "revoked": self.role is None, "send_right": self.send_right}


def grant(store: Store, acting_user: str, users: list[str], *, admin: bool,
          at: datetime, send: bool = False) -> AccessChange:
    """The role as given; ``send`` adds the right to send, and without it a user's
    right stays as it was (``revoke --send`` takes it away)."""
    connection = require_admin(store, acting_user)
    names = _clean(users)
    role = ADMIN if admin else VIEWER
    for name in names:  # a name that cannot be granted says so first
        store.check_grantable(name)
    if not admin:
        _refuse_admins(store, connection, names, "admins always have the right to send"
                       if send else "granting without --admin does not make them a viewer")
    for name in names:
        store.grant_access(AccessEntry(connection.tenant_id, name, role, acting_user, at,
                                       may_send=send))
    return AccessChange(connection.tenant_id, connection.tenant_name, names, role,
                        "granted" if send else None)


def revoke(store: Store, acting_user: str, users: list[str], *,
           send: bool = False) -> AccessChange:
    """Users' access, or with ``send`` only their right to send (they keep viewing)."""
    connection = require_admin(store, acting_user)
    names = _clean(users)
    if send:
        return _revoke_send_right(store, connection, names)
    removed = store.revoke_access_keeping_an_admin(connection.tenant_id, names)
    if not removed:
        raise NotFoundError(f"{', '.join(names)} had no access to {connection.tenant_name}; "
                            "nothing was revoked")
    return AccessChange(connection.tenant_id, connection.tenant_name, removed, None)


def _refuse_admins(store: Store, connection: Connection, names: list[str], why: str) -> None:
    """A grant never takes an admin down (nor locks the last one out) and a right is not
    taken from an admin apart from the role: either is refused before any change. To
    make an admin a viewer, revoke their access and grant it again."""
    admins = [n for n in names if store.role_of(connection.tenant_id, n) == ADMIN]
    if admins:
        quoted = shlex.join(admins)
        raise UsageError(
            f"{', '.join(admins)} {'is an admin' if len(admins) == 1 else 'are admins'} of "
            f"{connection.tenant_name} and {why}; nothing was changed (to make them "
            f"viewers: xerolink access revoke {quoted}, then xerolink access grant {quoted})")


def _revoke_send_right(store: Store, connection: Connection, names: list[str]) -> AccessChange:
    """Admins send by being admins: taking the mark from one would change nothing."""
    _refuse_admins(store, connection, names, "admins always have the right to send")
    removed = store.revoke_send_right(connection.tenant_id, names)
    if not removed:
        raise NotFoundError(f"{', '.join(names)} had no right to send in "
                            f"{connection.tenant_name}; nothing was revoked")
    return AccessChange(connection.tenant_id, connection.tenant_name, removed, VIEWER,
                        "revoked")


def check_may_configure(store: Store, user: str) -> None:
    """The profile's settings (accounts, tax types, Xero's URL, the token store...)
    apply to everyone who uses it: once an organisation is connected, only its admins
    change them. Before the first connection anyone may, as anyone may connect."""
    connection = store.active_connection()
    if connection is not None:
        require_admin(store, user)


def may_use_crm_account(store: Store, user: str) -> bool:
    """``crm pull`` and ``crm push`` read and write the whole CRM account on everyone's
    behalf with its token, an admin's credential: once access is enforced (an
    organisation connected, or admins on record), only an admin runs them. Before that
    anyone may, as anyone may connect."""
    connection = store.active_connection()
    if connection is not None:
        return store.role_of(connection.tenant_id, user) == ADMIN
    return not store.has_any_access_entries() or store.is_admin_anywhere(user)


def check_may_use_crm_account(store: Store, user: str, command: str) -> None:
    if not may_use_crm_account(store, user):
        raise PermissionDeniedError(
            f"only an admin runs `xerolink {command}` (it uses the CRM account's token, an "
            f"admin's); ask an admin to run it, or to make you one (xerolink access grant "
            f"{shlex.quote(user)} --admin)")


def access_list(store: Store, acting_user: str) -> AccessList:
    """Who may use the connected organisation, for its admins."""
    from xerolink.services.outcomes import AccessList

    connection = require_admin(store, acting_user)
    return AccessList.of(connection.tenant_name, store.list_access(connection.tenant_id))


def _clean(users: list[str]) -> list[str]:
    names = []
    for user in users:
        from xerolink.validation import has_unsafe

        name = user.strip()
        if not name or len(name) > 128 or has_unsafe(name):
            raise UsageError(f"invalid user name {user[:60]!r}")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("name at least one user")
    return names

"""Who may view Xero data, and the admins (SQLite; PostgreSQL keeps them in roles)."""

from __future__ import annotations

from datetime import datetime

from xerolink.store.base import (
    LastAdminError,
    SqlBase,
    iso,
)
from xerolink.store.models import (
    AccessEntry,
)


class AccessTables(SqlBase):
    # -- access -------------------------------------------------------------------
    def grant_access(self, entry: AccessEntry) -> None:
        """Role as given; the send right is only ever added here (revoke_send_right takes
        it away), so granting again without it keeps it."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO access (tenant_id, user_name, role, granted_by, granted_at, "
                "may_send) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, user_name) DO "
                "UPDATE SET role = excluded.role, granted_by = excluded.granted_by, "
                "granted_at = excluded.granted_at, may_send = CASE WHEN excluded.may_send = 1 "
                "THEN 1 ELSE access.may_send END",
                (entry.tenant_id, entry.user, entry.role, entry.granted_by, iso(entry.granted_at),
                 int(entry.may_send)),
            )

    def check_grantable(self, user: str) -> None:
        """Any name may be granted here; PostgreSQL grants only a person's login."""

    def may_send(self, tenant_id: str, user: str) -> bool:
        """The send right as granted (admins have it without the mark)."""
        row = self._db.execute(
            "SELECT may_send FROM access WHERE tenant_id = ? AND user_name = ?",
            (tenant_id, user)).fetchone()
        return row is not None and bool(row[0])

    def revoke_send_right(self, tenant_id: str, users: list[str]) -> list[str]:
        """Take the send right from those who hold it (access stays), in one transaction;
        the ones who held it."""
        with self.transaction() as db:
            return [user for user in users if db.execute(
                "UPDATE access SET may_send = 0 WHERE tenant_id = ? AND user_name = ? AND "
                "may_send = 1", (tenant_id, user)).rowcount]

    def role_of(self, tenant_id: str, user: str) -> str | None:
        row = self._db.execute(
            "SELECT role FROM access WHERE tenant_id = ? AND user_name = ?", (tenant_id, user)
        ).fetchone()
        return None if row is None else str(row[0])

    def count_admins(self, tenant_id: str) -> int:
        return int(self._db.execute(
            "SELECT count(*) FROM access WHERE tenant_id = ? AND role = 'admin'", (tenant_id,)
        ).fetchone()[0])

    def has_any_access_entries(self) -> bool:
        return self._db.execute("SELECT 1 FROM access LIMIT 1").fetchone() is not None

    def is_admin_anywhere(self, user: str) -> bool:
        return self._db.execute(
            "SELECT 1 FROM access WHERE user_name = ? AND role = 'admin' LIMIT 1", (user,)
        ).fetchone() is not None

    def revoke_access_keeping_an_admin(self, tenant_id: str, users: list[str]) -> list[str]:
        """Remove users' access in one transaction, or nothing at all if that would leave
        the organisation without an admin."""
        with self.transaction() as db:
            removed = []
            for user in users:
                cursor = db.execute("DELETE FROM access WHERE tenant_id = ? AND user_name = ?",
                                    (tenant_id, user))
                if cursor.rowcount:
                    removed.append(user)
            admins = db.execute("SELECT count(*) FROM access WHERE tenant_id = ? AND "
                                "role = 'admin'", (tenant_id,)).fetchone()[0]
            if admins == 0:
                raise LastAdminError("that would leave the organisation without an admin; "
                                     "grant another admin first")
            return removed

    def counts_for_tenant(self, tenant_id: str) -> dict[str, int]:
        """What a removed connection leaves behind, to say so."""
        return {
            "links": self._count("SELECT count(*) FROM links WHERE tenant_id = ?", tenant_id),
            "deal_documents": self._count(
                "SELECT count(*) FROM deal_documents WHERE tenant_id = ?", tenant_id),
            "access": self._count("SELECT count(*) FROM access WHERE tenant_id = ?", tenant_id),
        }

    def list_access(self, tenant_id: str) -> list[AccessEntry]:
        return [
            AccessEntry(
                tenant_id=r["tenant_id"],
                user=r["user_name"],
                role=r["role"],
                granted_by=r["granted_by"],
                granted_at=datetime.fromisoformat(r["granted_at"]),
                may_send=bool(r["may_send"]),
            )
            for r in self._db.execute(
                "SELECT * FROM access WHERE tenant_id = ? ORDER BY role, user_name", (tenant_id,)
            )
        ]



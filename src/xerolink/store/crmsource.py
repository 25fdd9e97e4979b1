"""A live CRM source's bookkeeping: each pulled record's modification time, the fields
an update must echo back, the source's field values xerolink knows, records the source
has deleted (marked gone), and how far each kind has been pulled.

A pull is applied in one transaction, so an interrupted pull leaves the store as it
was; a push records each record's new values as soon as the source has accepted them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xerolink.store.base import chunks_in, iso
from xerolink.store.crm import TABLES, CrmTables
from xerolink.store.models import CrmCompany, CrmContact, CrmDeal


@dataclass(frozen=True)
class SourceRecord:
    """What xerolink keeps of one record's life in its source."""

    kind: str
    record_id: str
    modified_at: str
    echo: dict[str, Any] = field(default_factory=dict)  # fields an update must repeat
    fields: dict[str, str] = field(default_factory=dict)  # the source's values xerolink knows


@dataclass
class PullBatch:
    """Everything one pull learnt, applied at once."""

    source: str
    contacts: list[CrmContact] = field(default_factory=list)
    companies: list[CrmCompany] = field(default_factory=list)
    deals: list[CrmDeal] = field(default_factory=list)
    records: list[SourceRecord] = field(default_factory=list)
    gone: dict[str, set[str]] = field(default_factory=dict)  # kind -> ids deleted at source
    watermarks: dict[str, str | None] = field(default_factory=dict)  # kind -> new watermark


class CrmSourceTables(CrmTables):
    def source_watermark(self, source: str, kind: str) -> str | None:
        row = self._db.execute("SELECT watermark FROM crm_pulls WHERE source = ? AND kind = ?",
                               (source, kind)).fetchone()
        return None if row is None else row[0]

    def source_pulled_at(self, source: str) -> datetime | None:
        row = self._db.execute("SELECT max(pulled_at) FROM crm_pulls WHERE source = ?",
                               (source,)).fetchone()
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])

    def source_records(self, source: str, kind: str, ids: Collection[str] | None = None
                       ) -> dict[str, SourceRecord]:
        """Every record of a kind the source has given, gone ones included; or only those
        of ``ids`` (a pull's, in chunks under SQLite's parameter limit)."""
        if ids is None:
            return {r["record_id"]: _record(r) for r in self._db.execute(
                "SELECT * FROM crm_source_records WHERE source = ? AND kind = ?",
                (source, kind))}
        wanted, found = sorted(ids), {}
        for marks, chunk in chunks_in(wanted):
            found.update({r["record_id"]: _record(r) for r in self._db.execute(
                "SELECT * FROM crm_source_records WHERE source = ? AND kind = ? AND "  # noqa: S608
                f"record_id IN ({marks})", (source, kind, *chunk))})
        return found

    def source_record(self, source: str, kind: str, record_id: str) -> SourceRecord | None:
        row = self._db.execute("SELECT * FROM crm_source_records WHERE source = ? AND "
                               "kind = ? AND record_id = ?", (source, kind, record_id)).fetchone()
        return None if row is None else _record(row)

    def live_source_ids(self, source: str, kind: str) -> set[str]:
        table = TABLES[kind]
        return {r[0] for r in self._db.execute(
            f"SELECT id FROM {table} WHERE source = ? AND gone_at IS NULL",  # noqa: S608
            (source,))}

    def source_counts(self, source: str) -> dict[str, dict[str, int]]:
        """Per kind: records live and gone."""
        counts: dict[str, dict[str, int]] = {}
        for kind, table in TABLES.items():
            row = self._db.execute(
                f"SELECT count(*) - count(gone_at), count(gone_at) FROM {table} "  # noqa: S608
                "WHERE source = ?", (source,)).fetchone()
            counts[kind] = {"live": int(row[0] or 0), "gone": int(row[1] or 0)}
        return counts

    def apply_pull(self, batch: PullBatch, at: datetime) -> int:
        """Write a pull's records, mark the deleted ones gone and move the watermarks,
        all in one transaction. Returns the records written."""
        stamp = iso(at)
        with self.transaction() as db:
            written = self._upsert(db, batch.contacts, batch.companies, batch.deals, stamp)
            db.executemany(
                "INSERT INTO crm_source_records (source, kind, record_id, modified_at, echo, "
                "fields) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, kind, record_id) DO "
                "UPDATE SET modified_at = excluded.modified_at, echo = excluded.echo, "
                "fields = excluded.fields",
                [(batch.source, r.kind, r.record_id, r.modified_at,
                  json.dumps(r.echo, sort_keys=True), json.dumps(r.fields, sort_keys=True))
                 for r in batch.records])
            for kind, ids in batch.gone.items():
                table = TABLES[kind]
                db.executemany(
                    f"UPDATE {table} SET gone_at = ? WHERE id = ? AND source = ? "  # noqa: S608
                    "AND gone_at IS NULL", [(stamp, i, batch.source) for i in sorted(ids)])
            for kind, watermark in batch.watermarks.items():
                db.execute(
                    "INSERT INTO crm_pulls (source, kind, watermark, pulled_at) VALUES "
                    "(?, ?, ?, ?) ON CONFLICT (source, kind) DO UPDATE SET "
                    "watermark = excluded.watermark, pulled_at = excluded.pulled_at",
                    (batch.source, kind, watermark, stamp))
        return written

    def record_source_fields(self, source: str, kind: str, record_id: str,
                             values: Mapping[str, str]) -> None:
        """The source accepted these field values for a record: remember them, so the
        next push knows they need not be written again."""
        with self.transaction() as db:
            row = db.execute("SELECT fields FROM crm_source_records WHERE source = ? AND "
                             "kind = ? AND record_id = ?", (source, kind, record_id)).fetchone()
            known = json.loads(row[0]) if row is not None else {}
            known.update(values)
            db.execute("UPDATE crm_source_records SET fields = ? WHERE source = ? AND "
                       "kind = ? AND record_id = ?",
                       (json.dumps(known, sort_keys=True), source, kind, record_id))


def _record(row: Any) -> SourceRecord:
    return SourceRecord(kind=row["kind"], record_id=row["record_id"],
                        modified_at=row["modified_at"], echo=json.loads(row["echo"]),
                        fields=json.loads(row["fields"]))

"""The store's operations behave the same on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from xerolink.store.models import (
    CachedDocument,
    Connection,
    CrmCompany,
    CrmContact,
    CrmDeal,
    Link,
    XeroContact,
)
from xerolink.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        db = SqliteStore(tmp_path / "x.db")
    else:
        pg = request.getfixturevalue("pg")
        name = request.getfixturevalue("team_db")
        from xerolink.store.postgres import PostgresStore

        db = PostgresStore(pg.url("alice", name), migrate=True)
    yield db
    db.close()


def _doc(doc_id: str, contact: str, kind: str = "invoice", status: str = "AUTHORISED"
         ) -> CachedDocument:
    return CachedDocument(doc_id, kind, contact, f"N-{doc_id}", "", status, date(2026, 11, 1),
                          date(2026, 11, 20), "NZD", Decimal("1"), Decimal("100.00"),
                          Decimal("40.00"), NOW, NOW)


def test_crm_records_round_trip(store) -> None:
    store.upsert_crm_records(
        companies=[CrmCompany("co", "Co Ltd")],
        contacts=[CrmContact("1", "Ann", "A", "ann@example.com", "", "co"),
                  CrmContact("2", "Bo", "B")],
        deals=[CrmDeal("d", "Deal", Decimal("12.50"), "NZD", "1", ("2", "1"))], at=NOW)
    assert [c.id for c in store.list_crm_contacts()] == ["1", "2"]
    assert [m.id for m in store.company_members("co")] == ["1"]
    deal = store.get_crm_deal("d")
    assert deal.value == Decimal("12.50") and sorted(deal.participant_ids) == ["1", "2"]
    store.upsert_crm_records(contacts=[CrmContact("1", "Anne")], at=NOW)
    assert store.get_crm_contact("1").first_name == "Anne"
    assert store.delete_crm_record("deal", "d") and store.get_crm_deal("d") is None
    assert store.schema_version() == store.latest_schema_version()


def test_links_one_per_crm_contact_and_batches(store) -> None:
    store.upsert_crm_records(contacts=[CrmContact(str(n), f"P{n}") for n in range(5)], at=NOW)
    assert store.put_link(Link("t", "0", "x0", "alice", NOW), replace=False) is None
    kept = store.put_link(Link("t", "0", "x9", "alice", NOW), replace=False)
    assert kept.xero_contact_id == "x0"
    added = store.add_links_if_unlinked([Link("t", str(n), f"x{n}", "a", NOW) for n in range(5)])
    assert added == 4 and store.count_links("t") == 5
    assert len(store.unlinked_crm_contacts("t")) == 0
    assert [v.crm_name for v in store.list_link_views("t")][:1] == ["P0"]
    assert store.delete_link("t", "3") and store.count_links("t") == 4


def test_connections_documents_deals_sync_and_tokens(store) -> None:
    store.save_connection(Connection("t1", "Org", "pkce", "alice", NOW, base_currency="NZD"))
    assert store.active_connection().tenant_name == "Org"
    store.record_rate_limits("t1", '{"day_remaining": 10}')
    store.replace_contact_documents("t1", ["c1"], ("invoice", "bill"),
                                    [_doc("a", "c1"), _doc("b", "c1", "bill")], refreshed_at=NOW)
    store.apply_document_changes("t1", [_doc("c", "c2", "quote", "DRAFT")], ["b"])
    assert [d.document_id for d in store.documents_for_contacts("t1", ["c1", "c2"])] == [
        "a", "c"]
    assert store.documents_by_ids("t1", ["a"])[0].amount_due == Decimal("40.00")
    assert store.contact_refresh_times("t1")["c1"] == NOW
    store.upsert_crm_records(deals=[CrmDeal("d", "Deal")], at=NOW)
    assert store.attach_deal_documents("t1", "d", [("a", "invoice"), ("a", "invoice")],
                                       "alice", NOW) == 1
    assert store.deal_documents("t1", "d") == [("a", "invoice")]
    store.set_sync_state("t1", "quotes", "2026-11-26T08:55:00+00:00", NOW.isoformat())
    assert store.get_sync_state("t1", "quotes")[0].startswith("2026-11-26T08:55")
    store.upsert_xero_contacts("t1", [XeroContact("x1", "X One", "ACTIVE", email="x@e.com",
                                                  persons=(("A", "B", "ab@e.com"),))])
    assert store.xero_contacts("t1")[0].emails == ["x@e.com", "ab@e.com"]
    store.save_token("t1", '{"a": 1}', NOW)
    assert store.load_token("t1") == '{"a": 1}'
    store.delete_token("t1")
    assert store.load_token("t1") is None
    store.deactivate_connection("t1")
    assert store.active_connection() is None


def test_a_failed_transaction_leaves_nothing(store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", ("k", "v"))
        raise RuntimeError("half-way")
    assert store.get_setting("k") is None


def test_export_and_import_copy_rows_once(store, tmp_path) -> None:
    source = SqliteStore(tmp_path / "source.db")
    source.upsert_crm_records(contacts=[CrmContact(str(n), f"P{n}") for n in range(30)], at=NOW)
    source.add_links_if_unlinked([Link("t", str(n), f"x{n}", "a", NOW) for n in range(30)])
    for table in store.COPY_ORDER:
        columns, rows = source.export_table(table)
        store.import_rows(table, columns, rows)
    again = sum(store.import_rows(t, *source.export_table(t)) for t in store.COPY_ORDER)
    assert again == 0 and store.count_links("t") == 30


def test_a_crm_source_pull_marks_gone_and_keeps_field_values(store) -> None:
    from xerolink.store.crmsource import PullBatch, SourceRecord

    batch = PullBatch("salesmate", contacts=[CrmContact("1", "Ann", source="salesmate"),
                                             CrmContact("2", "Bo", source="salesmate")],
                      records=[SourceRecord("contact", "1", "2026-11-01T00:00:00+00:00",
                                            {"lastName": "A", "owner": "7"}),
                               SourceRecord("contact", "2", "2026-11-02T00:00:00+00:00")],
                      watermarks={"contact": "2026-11-02T00:00:00+00:00"})
    assert store.apply_pull(batch, NOW) == 2
    assert store.live_source_ids("salesmate", "contact") == {"1", "2"}
    assert store.source_watermark("salesmate", "contact") == "2026-11-02T00:00:00+00:00"
    store.record_source_fields("salesmate", "contact", "1", {"textCustomField1": "Ann Ltd"})
    known = store.source_record("salesmate", "contact", "1")
    assert known.echo == {"lastName": "A", "owner": "7"}
    assert known.fields == {"textCustomField1": "Ann Ltd"}
    store.apply_pull(PullBatch("salesmate", gone={"contact": {"2"}}), NOW)
    assert store.get_crm_contact("2").gone and not store.get_crm_contact("1").gone
    assert store.source_counts("salesmate")["contact"] == {"live": 1, "gone": 1}
    assert store.source_pulled_at("salesmate") == NOW


def test_reads_and_deletes_by_id_lists_longer_than_one_statement_binds(store) -> None:
    """1,201 ids: three statements of at most 500 each (store.base.chunks_in), every
    row found once, on both engines."""
    from xerolink.store.base import IN_CHUNK, chunks_in
    from xerolink.store.crmsource import PullBatch, SourceRecord

    contacts = [f"c{n}" for n in range(1201)]
    assert [len(chunk) for _, chunk in chunks_in(contacts)] == [500, 500, 201] \
        and IN_CHUNK == 500 and list(chunks_in([])) == []
    assert next(chunks_in(["a", "b"]))[0] == "?,?"
    store.replace_contact_documents("t1", contacts, ("invoice",),
                                    [_doc(f"d{c}", c) for c in contacts], refreshed_at=NOW)
    assert len(store.documents_for_contacts("t1", contacts)) == 1201
    assert store.count_documents_for_contacts("t1", contacts) == 1201
    assert len(store.documents_by_ids("t1", [f"d{c}" for c in contacts])) == 1201
    assert len(store.contact_refresh_times("t1", contacts)) == 1201
    store.replace_contact_documents("t1", contacts[1:], ("invoice",), [], refreshed_at=None)
    assert [d.document_id for d in store.documents_for_contacts("t1", contacts)] == ["dc0"]
    store.apply_pull(PullBatch("salesmate", contacts=[CrmContact(c, c, source="salesmate")
                                                      for c in contacts],
                               records=[SourceRecord("contact", c, "2026-11-01T00:00:00+00:00")
                                        for c in contacts]),
                     NOW)
    assert len(store.source_records("salesmate", "contact", set(contacts[:1100]))) == 1100

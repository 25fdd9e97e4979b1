"""crm push writes only what changed: each record's figures compared with what the CRM
holds (as last pulled or written); a second push with nothing changed makes no call;
a record whose documents were never read is skipped, not written as zero; an
unlinked one has xerolink's fields cleared; a person's edit since the pull is never
written back over."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fakes import FakeCrm, World, world
from xerolink.services import crmpush, documents

CONTACT_FIELDS = {"outstanding_invoices": "cf_owed", "outstanding_invoices_count": "cf_count",
                  "xero_contact": "cf_name"}
YESTERDAY = date(2026, 11, 1)


def setup(*contacts: str) -> tuple[World, FakeCrm]:
    w, crm = world(), FakeCrm()
    for contact_id in contacts:
        crm.add("contact", contact_id)
    return w, crm


def push(w: World, crm: FakeCrm, mapping: dict[str, dict[str, str]] | None = None, *,
         dry_run: bool = False) -> crmpush.PushReport:
    crm.pulled_into(w.store)  # as a pull would leave the store
    return crmpush.push(w.deps, crm, {"contact": CONTACT_FIELDS} if mapping is None
                        else mapping, dry_run=dry_run, concurrency=2)


def refreshed(w: World, *xero_ids: str) -> None:
    documents.refresh_contacts(w.deps, list(xero_ids))


def test_a_first_push_writes_each_figure_of_a_read_contact_in_two_calls() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="120.50")
    w.xero.add_document("invoice", ann, total="9.50")
    refreshed(w, ann.contact_id)
    report = push(w, crm)
    assert crm.held[("contact", "c1")] == {"cf_owed": "130.00", "cf_count": "2",
                                           "cf_name": "Ann Lee"}
    assert dict(crm.calls) == {"GET contact": 1, "PUT contact": 1}
    assert report.records_written == {"contact": 1} and report.calls == 2


def test_a_second_push_with_nothing_changed_makes_no_call() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="10")
    refreshed(w, ann.contact_id)
    push(w, crm)
    crm.calls.clear()
    again = crmpush.push(w.deps, crm, {"contact": CONTACT_FIELDS}, dry_run=False)
    assert dict(crm.calls) == {} and again.calls == 0
    assert (again.records_written, again.unchanged) == ({"contact": 0}, {"contact": 1})


def test_only_the_field_that_changed_is_written() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    first = w.xero.add_document("invoice", ann, total="10.00")
    refreshed(w, ann.contact_id)
    push(w, crm)
    w.clock.advance(minutes=10)
    w.xero.update(first, amount_due=Decimal("4.00"))  # part paid: the count stays
    refreshed(w, ann.contact_id)
    report = crmpush.push(w.deps, crm, {"contact": CONTACT_FIELDS}, dry_run=False)
    assert crm.updates[-1][3] == {"cf_owed": "4.00"}
    assert [(c.field, c.before, c.after) for c in report.changes] == [
        ("cf_owed", "10.00", "4.00")]


def test_a_value_the_crm_writes_differently_is_the_same_value() -> None:
    """Salesmate answers 5132.450000000 for 5132.45: not a change."""
    w, crm = setup()
    crm.add("contact", "c1", cf_owed="5132.450000000", cf_count="1", cf_name="Ann Lee")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="5132.45")
    refreshed(w, ann.contact_id)
    report = push(w, crm)
    assert crm.updates == [] and report.unchanged == {"contact": 1}
    assert dict(crm.calls) == {}


def test_a_linked_contact_never_read_from_xero_is_skipped_not_zeroed() -> None:
    w, crm = setup("c1")
    w.linked("c1", "Ann Lee")
    report = push(w, crm)
    assert crm.updates == [] and report.not_read == {"contact": 1}
    assert any("refresh --all" in note for note in report.notes)


def test_an_unlinked_contact_has_the_fields_xerolink_wrote_cleared() -> None:
    w, crm = setup()
    crm.add("contact", "c1", cf_owed="10.00", cf_count="1", cf_name="Ann Lee")
    w.crm_contact("c1", "Ann", "Lee")
    push(w, crm)
    assert crm.held[("contact", "c1")] == {"cf_owed": "", "cf_count": "", "cf_name": ""}


def test_a_dry_run_lists_the_changes_and_makes_no_call() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="10")
    refreshed(w, ann.contact_id)
    report = push(w, crm, dry_run=True)
    assert {c.field: c.after for c in report.changes} == {
        "cf_owed": "10.00", "cf_count": "1", "cf_name": "Ann Lee"}
    assert dict(crm.calls) == {} and crm.held[("contact", "c1")] == {}


def test_an_update_repeats_the_required_fields_as_read_now_not_as_pulled() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="10")
    refreshed(w, ann.contact_id)
    crm.pulled_into(w.store)
    crm.echo[("contact", "c1")] = {"owner": "7"}  # reassigned in the CRM since the pull
    report = crmpush.push(w.deps, crm, {"contact": CONTACT_FIELDS}, dry_run=False)
    assert crm.updates[-1][2] == {"owner": "7"}
    assert report.changed_since_pull == {"contact": 1}


def test_a_refused_record_is_reported_and_the_others_are_written() -> None:
    w, crm = setup("c1", "c2")
    for contact_id, name in (("c1", "Ann Lee"), ("c2", "Bob Ng")):
        xero = w.linked(contact_id, name)
        w.xero.add_document("invoice", xero, total="1")
        refreshed(w, xero.contact_id)
    crm.refusing.add(("contact", "c1"))
    report = push(w, crm)
    assert [r["record"] for r in report.refused] == ["contact:c1"]
    assert report.records_written == {"contact": 1}
    assert crm.held[("contact", "c2")]["cf_owed"] == "1.00"


def test_a_record_deleted_in_the_crm_since_the_pull_is_refused_with_the_fix() -> None:
    w, crm = setup("c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="1")
    refreshed(w, ann.contact_id)
    crm.pulled_into(w.store)
    del crm.held[("contact", "c1")]
    report = crmpush.push(w.deps, crm, {"contact": CONTACT_FIELDS}, dry_run=False)
    assert "crm pull" in report.refused[0]["reason"]


def acme(*crm_contacts: str) -> tuple[World, FakeCrm, Any, Any]:
    """Company k1, Acme, with its linked members Ann (c1, an overdue 10.00) and Bob
    (c2, an overdue 2.50); ``crm_contacts``: the contacts the CRM holds too."""
    w, crm = setup(*crm_contacts)
    w.crm_company("k1", "Acme")
    crm.add("company", "k1")
    ann, bob = w.xero.add_contact("Ann Lee"), w.xero.add_contact("Bob Ng")
    w.link(w.crm_contact("c1", "Ann", "Lee", company="k1"), ann)
    w.link(w.crm_contact("c2", "Bob", "Ng", company="k1"), bob)
    w.xero.add_document("invoice", ann, total="10.00", due=YESTERDAY)
    w.xero.add_document("invoice", bob, total="2.50", due=YESTERDAY)
    return w, crm, ann, bob


def test_a_company_gets_its_linked_members_figures_added() -> None:
    w, crm, ann, bob = acme()
    refreshed(w, ann.contact_id, bob.contact_id)
    push(w, crm, {"company": {"overdue_invoices": "cf_overdue",
                              "overdue_invoices_count": "cf_n"}})
    assert crm.held[("company", "k1")] == {"cf_overdue": "12.50", "cf_n": "2"}


def test_a_push_of_contacts_and_their_companies_reads_each_contacts_documents_once(
        monkeypatch) -> None:
    """The companies' figures add up the members' documents the contacts' pass has just
    read: each Xero contact's documents come from the store once a push, and the
    figures are those of reading them apart."""
    w, crm, ann, bob = acme("c1", "c2")
    w.xero.add_document("bill", bob, total="7.00", due=YESTERDAY)
    refreshed(w, ann.contact_id, bob.contact_id)
    asked: list[list[str]] = []
    reads = w.store.documents_for_contacts

    def counted(tenant: str, ids: list[str]) -> list:
        asked.append(sorted(ids))
        return reads(tenant, ids)

    monkeypatch.setattr(w.store, "documents_for_contacts", counted)
    push(w, crm, {"contact": {"overdue_invoices": "cf_overdue"},
                  "company": {"overdue_invoices": "cf_overdue", "overdue_bills": "cf_bills"}})
    assert asked == [sorted([ann.contact_id, bob.contact_id])]
    assert crm.held[("contact", "c1")] == {"cf_overdue": "10.00"}
    assert crm.held[("contact", "c2")] == {"cf_overdue": "2.50"}
    assert crm.held[("company", "k1")] == {"cf_overdue": "12.50", "cf_bills": "7.00"}


def test_a_refresh_counts_the_documents_it_holds_without_reading_them() -> None:
    w, _ = setup()
    ids = []
    for n in range(3):
        contact = w.xero.add_contact(f"Person {n}")
        for _ in range(n + 1):
            w.xero.add_document("invoice", contact, total="1.00")
        ids.append(contact.contact_id)
    stats = documents.refresh_contacts(w.deps, ids)
    assert stats.documents == 6 == len(w.store.documents_for_contacts(w.deps.tenant, ids))
    many = ids + [f"00000000-0000-4000-8000-{n:012d}" for n in range(1200)]  # 3 chunks
    assert w.store.count_documents_for_contacts(w.deps.tenant, many) == 6


def test_a_deal_gets_its_own_documents_figures() -> None:
    w, crm = setup()
    w.crm_deal("d1", "Fit-out")
    crm.add("deal", "d1")
    ann = w.linked("c1", "Ann Lee")
    quote = w.xero.add_document("quote", ann, total="300.00")
    w.xero.add_document("quote", ann, total="1.00")  # not the deal's
    documents.refresh_contacts(w.deps, [ann.contact_id])
    w.store.attach_deal_documents(w.deps.tenant, "d1", [(quote.document_id, "quote")],
                                  "alice", w.clock())
    push(w, crm, {"deal": {"open_quotes": "cf_quoted"}})
    assert crm.held[("deal", "d1")] == {"cf_quoted": "300.00"}


def test_without_a_base_currency_counts_are_written_and_totals_are_not() -> None:
    w, crm = world(base_currency=None), FakeCrm()
    crm.add("contact", "c1")
    ann = w.linked("c1", "Ann Lee")
    w.xero.add_document("invoice", ann, total="10")
    refreshed(w, ann.contact_id)
    report = push(w, crm)
    assert crm.held[("contact", "c1")] == {"cf_count": "1", "cf_name": "Ann Lee"}
    assert any("base currency is unknown" in note for note in report.notes)


def test_no_fields_chosen_is_a_note_and_no_call() -> None:
    w, crm = setup("c1")
    report = push(w, crm, {"contact": {}})
    assert dict(crm.calls) == {} and "no fields are chosen" in report.notes[0]

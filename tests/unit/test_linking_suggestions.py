"""Linking: the local copy of Xero's contacts (read in full once, then only what
changed), suggestions by email and by name, link's checks, auto-link's one rule (one
Xero contact with the same email, else nothing), and create-contact."""

from __future__ import annotations

import pytest

from fakes import World, world
from xerolink.errors import NotFoundError, UsageError, XeroRefusedError
from xerolink.services import linking
from xerolink.services.crm import parse_ref


def suggested(w: World, ref: str = "contact:c1") -> list[tuple[str, int, str]]:
    return [(s.contact.name, s.score, s.reason)
            for s in linking.suggest(w.deps, parse_ref(ref))]


# -- the local copy --------------------------------------------------------------------------
def test_the_first_sync_reads_every_contact_archived_included_in_one_page() -> None:
    w = world()
    w.xero.add_contact("Ann Lee")
    w.xero.add_contact("Old Co", archived=True)
    result = linking.sync_contacts(w.deps)
    assert (result.fetched, result.full, result.pages) == (2, True, 1)
    assert {c.name for c in w.store.xero_contacts(w.deps.tenant)} == {"Ann Lee", "Old Co"}
    assert w.xero.calls == {"GET Contacts": 1}


def test_the_next_sync_asks_only_for_contacts_changed_since() -> None:
    w = world()
    ann = w.xero.add_contact("Ann Lee")
    linking.sync_contacts(w.deps)
    w.clock.advance(minutes=20)
    w.xero.update_contact(ann, email="ann@example.com")
    w.xero.reset_calls()
    result = linking.sync_contacts(w.deps)
    assert (result.fetched, result.full) == (1, False)
    (asked,) = [f for m, f in w.xero.asked if m == "get_contacts"]
    assert "if_modified_since" in asked
    (copy,) = w.store.xero_contacts(w.deps.tenant)
    assert copy.email == "ann@example.com"


def test_a_sync_with_nothing_changed_costs_one_call_and_rereads_only_the_newest() -> None:
    """If-Modified-Since is "at or after" the newest change seen: that one contact comes
    again, the older ones do not."""
    w = world()
    w.clock.advance(hours=-2)
    w.xero.add_contact("Old Lee")
    w.clock.advance(hours=1)
    w.xero.add_contact("Newer Lee")
    w.clock.advance(hours=1)
    linking.sync_contacts(w.deps)
    w.clock.advance(minutes=20)
    w.xero.reset_calls()
    assert linking.sync_contacts(w.deps).fetched == 1
    assert w.xero.calls == {"GET Contacts": 1}
    assert linking.estimate_sync_calls(w.deps) == 1


def test_a_full_read_runs_page_by_page_a_thousand_a_page() -> None:
    w = world()
    for n in range(1001):
        w.xero.add_contact(f"Contact {n:04d}")
    result = linking.sync_contacts(w.deps)
    assert (result.fetched, result.pages) == (1001, 2)
    assert w.xero.calls == {"GET Contacts": 2}


# -- suggestions -------------------------------------------------------------------------------
def test_an_email_match_comes_first_above_a_name_match() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    w.xero.add_contact("Ann Lee")
    w.xero.add_contact("A. Lee Consulting", email="ANN@example.com")
    assert suggested(w) == [("A. Lee Consulting", 100, "email matches the contact's email"),
                            ("Ann Lee", 80, "name matches")]


def test_a_contact_persons_email_matches_naming_the_person() -> None:
    w = world()
    w.crm_contact("c1", "Bob", "Ng", "bob@acme.test")
    w.xero.add_contact("Acme Ltd", persons=(("Bob", "Ng", "bob@acme.test"),))
    assert suggested(w) == [("Acme Ltd", 95, "email matches contact person Bob Ng")]


def test_first_and_last_name_match_when_the_name_is_a_companys() -> None:
    w = world()
    w.crm_contact("c1", "Cy", "Young")
    w.xero.add_contact("Young Holdings", first_name="Cy", last_name="Young")
    assert suggested(w) == [("Young Holdings", 80, "first and last name (Cy Young) matches")]


def test_a_name_matching_the_crm_contacts_company_is_offered_lower() -> None:
    w = world()
    w.crm_company("k1", "Globex")
    w.crm_contact("c1", "Dee", "Ray", company="k1")
    w.xero.add_contact("Globex")
    assert suggested(w) == [("Globex", 60, "name matches the CRM contact's company")]


def test_a_similar_name_is_offered_with_its_likeness() -> None:
    w = world()
    w.crm_contact("c1", "Jonathan", "Smith")
    w.xero.add_contact("Jonathon Smith")
    ((name, score, reason),) = suggested(w)
    assert name == "Jonathon Smith" and 56 <= score < 70 and "similar" in reason


def test_archived_contacts_and_strangers_are_never_suggested() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    w.xero.add_contact("Ann Lee", email="ann@example.com", archived=True)
    w.xero.add_contact("Zed Zulu")
    assert suggested(w) == []


def test_punctuation_and_case_do_not_stop_a_name_match() -> None:
    w = world()
    w.crm_contact("c1", "mary-jane", "o'neil")
    w.xero.add_contact("Mary Jane O Neil")
    assert suggested(w)[0][1] == 80


def test_suggest_for_an_unknown_contact_is_not_found_and_calls_nothing() -> None:
    w = world()
    with pytest.raises(NotFoundError, match="no CRM contact contact:c9"):
        linking.suggest(w.deps, parse_ref("contact:c9"))
    assert w.xero.calls == {}


# -- search and link ---------------------------------------------------------------------------
def test_search_asks_xero_once_and_narrows_by_first_name() -> None:
    w = world()
    w.xero.add_contact("Ann Lee", first_name="Ann", last_name="Lee")
    w.xero.add_contact("Bob Lee", first_name="Bob", last_name="Lee")
    w.xero.add_contact("Ann Archived Lee", archived=True)
    rows = linking.search(w.deps, "lee", "ann", None)
    assert [r["name"] for r in rows.rows] == ["Ann Lee"]
    assert w.xero.calls == {"GET Contacts": 1}


def test_link_reads_the_xero_contact_and_records_its_name_and_email() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    ann = w.xero.add_contact("Ann Lee", email="ann@example.com")
    linked = linking.link(w.deps, parse_ref("contact:c1"), ann.contact_id, replace=False)
    assert (linked.link.xero_name, linked.link.xero_email) == ("Ann Lee", "ann@example.com")
    assert w.store.get_link(w.deps.tenant, "c1") is not None
    assert w.xero.calls == {"GET Contacts/{id}": 1}


def test_linking_again_to_the_same_contact_is_unchanged_and_costs_nothing() -> None:
    w = world()
    ann = w.linked("c1", "Ann Lee")
    w.xero.reset_calls()
    again = linking.link(w.deps, parse_ref("contact:c1"), ann.contact_id, replace=False)
    assert again.unchanged and w.xero.calls == {}


def test_linking_elsewhere_needs_replace() -> None:
    w = world()
    w.linked("c1", "Ann Lee")
    other = w.xero.add_contact("Ann Lee Ltd")
    with pytest.raises(UsageError, match="--replace"):
        linking.link(w.deps, parse_ref("contact:c1"), other.contact_id, replace=False)
    done = linking.link(w.deps, parse_ref("contact:c1"), other.contact_id, replace=True)
    assert done.replaced is not None and done.link.xero_contact_id == other.contact_id


def test_an_archived_xero_contact_is_not_linked() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    old = w.xero.add_contact("Ann Lee", archived=True)
    with pytest.raises(UsageError, match="archived"):
        linking.link(w.deps, parse_ref("contact:c1"), old.contact_id, replace=False)
    assert w.store.get_link(w.deps.tenant, "c1") is None


def test_a_contact_id_xero_does_not_have_is_not_found() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    with pytest.raises(NotFoundError, match="no Xero contact"):
        linking.link(w.deps, parse_ref("contact:c1"),
                     "0c5c4c3e-1d1e-4b6f-9a52-0000000000ff", replace=False)


def test_link_first_takes_the_best_suggestion() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    w.xero.add_contact("Ann Lee")
    best = w.xero.add_contact("Lee Family Trust", email="ann@example.com")
    done = linking.link_first(w.deps, parse_ref("contact:c1"), replace=False)
    assert done.link.xero_contact_id == best.contact_id


# -- auto-link -------------------------------------------------------------------------------------
def test_auto_link_links_only_a_single_email_match() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    w.crm_contact("c2", "Bob", "Ng", "bob@example.com")
    w.crm_contact("c3", "Cy", "Young", "cy@example.com")
    w.crm_contact("c4", "Dee", "Ray")
    ann = w.xero.add_contact("Ann Lee", email="ann@example.com")
    w.xero.add_contact("Bob Ng", email="bob@example.com")
    w.xero.add_contact("Ng Holdings", persons=(("Bob", "Ng", "bob@example.com"),))
    w.xero.add_contact("Cy Young", email="cy@example.com", archived=True)
    result = linking.auto_link(w.deps, dry_run=False)
    assert [(r["crm"], r["xero_contact_id"]) for r in result.linked] == [
        ("contact:c1", ann.contact_id)]
    assert [r["crm"] for r in result.ambiguous] == ["contact:c2"]
    assert {r["crm"]: r["reason"] for r in result.unmatched} == {
        "contact:c3": "no Xero contact has this email", "contact:c4": "no email"}
    assert [link.crm_contact_id for link in w.store.list_links(w.deps.tenant)] == ["c1"]
    assert result.xero_calls == 1


def test_auto_link_dry_run_links_nothing() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    w.xero.add_contact("Ann Lee", email="ann@example.com")
    result = linking.auto_link(w.deps, dry_run=True)
    assert len(result.linked) == 1
    assert w.store.list_links(w.deps.tenant) == []


def test_auto_link_leaves_a_linked_contact_alone() -> None:
    w = world()
    w.linked("c1", "Ann Lee")
    w.store.upsert_crm_records(contacts=[w.store.get_crm_contact("c1").__class__(
        "c1", "Ann", "Lee", "ann@example.com")], at=w.clock())
    w.xero.add_contact("Other Ann", email="ann@example.com")
    result = linking.auto_link(w.deps, dry_run=False)
    assert (result.linked, result.already_linked) == ([], 1)


# -- create-contact -----------------------------------------------------------------------------
def test_create_contact_makes_it_in_xero_and_links_it() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee", "ann@example.com")
    contact, new = linking.prepare_contact(w.store, parse_ref("contact:c1"), name=None,
                                           first_name=None, last_name=None, email=None,
                                           phone=None)
    made = linking.create_contact(w.deps, parse_ref("contact:c1"), contact, new, replace=False)
    (xero,) = w.xero.contacts_by_id.values()
    assert (xero.name, xero.email) == ("Ann Lee", "ann@example.com")
    assert made.link.xero_contact_id == xero.contact_id
    assert w.xero.calls == {"PUT Contacts": 1}


def test_create_contact_with_a_name_xero_has_is_xeros_refusal_and_links_nothing() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    w.xero.add_contact("Ann Lee")
    contact, new = linking.prepare_contact(w.store, parse_ref("contact:c1"), name=None,
                                           first_name=None, last_name=None, email=None,
                                           phone=None)
    with pytest.raises(XeroRefusedError, match="already assigned"):
        linking.create_contact(w.deps, parse_ref("contact:c1"), contact, new, replace=False)
    assert w.store.get_link(w.deps.tenant, "c1") is None


def test_prepare_contact_refuses_a_formula_and_a_bad_email_before_any_call() -> None:
    w = world()
    w.crm_contact("c1", "Ann", "Lee")
    with pytest.raises(UsageError, match="formula"):
        linking.prepare_contact(w.store, parse_ref("contact:c1"), name="=HYPERLINK(1)",
                                first_name=None, last_name=None, email=None, phone=None)
    with pytest.raises(UsageError, match="not an email"):
        linking.prepare_contact(w.store, parse_ref("contact:c1"), name=None,
                                first_name=None, last_name=None, email="ann@", phone=None)
    assert w.xero.calls == {}

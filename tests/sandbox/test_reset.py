"""A reset sandbox is, on the same port, what a new server with the same options would be:
the tests share one server per worker on that promise (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from support import api, control, sandbox_token
from xerolink.sandbox import SandboxOptions, SandboxServer
from xerolink.sandbox.listener import _Frozen

IMMUTABLE = (str, int, float, bool, type(None), Decimal, date, datetime, timezone)


def _mutable_ids(obj: Any, found: dict[int, Any]) -> dict[int, Any]:
    """Every object reachable from ``obj`` that could be changed in place, by id."""
    if isinstance(obj, IMMUTABLE) or id(obj) in found:
        return found
    found[id(obj)] = obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            _mutable_ids(key, found)
            _mutable_ids(value, found)
    elif isinstance(obj, list | tuple | set):
        for value in obj:
            _mutable_ids(value, found)
    elif hasattr(obj, "__dict__"):
        _mutable_ids(vars(obj), found)
    return found


def _contact(base: str, token: dict, tenant: str, name: str) -> int:
    status, _, _ = api(base, token, tenant, "PUT", "/Contacts", {"Contacts": [{"Name": name}]})
    return status


def _names(base: str, token: dict, tenant: str) -> set[str]:
    status, _, body = api(base, token, tenant, "GET", "/Contacts?page=1&pageSize=1000")
    assert status == 200, body
    return {c["Name"] for c in body["Contacts"]}


def test_a_reset_forgets_books_tokens_faults_limits_clock_and_stats() -> None:
    with SandboxServer(SandboxOptions(seed=7, contacts=20)) as server:
        base, tenant = server.base_url, next(iter(server.sandbox.tenants))
        token = sandbox_token(base)
        seeded = _names(base, token, tenant)
        assert _contact(base, token, tenant, "Made Before The Reset") == 200
        control(base, "POST", "faults", {"latency_ms": 5})
        control(base, "POST", "limits", {"minute": 3})
        control(base, "POST", "clock", {"advance_seconds": 3600})
        server.sandbox.options.max_url = 100

        server.reset()

        assert server.base_url == base
        assert control(base, "GET", "stats")["total"] == 0
        assert api(base, token, tenant, "GET", "/Organisation")[0] == 401  # token forgotten
        assert control(base, "GET", "faults")["latency_ms"] == 0
        assert control(base, "POST", "limits", {})["minute"] == 60
        assert control(base, "POST", "clock", {})["offset_seconds"] == 0
        assert server.sandbox.options.max_url == 2048
        fresh = sandbox_token(base)
        assert _names(base, fresh, tenant) == seeded  # the same seed, nothing added



def test_each_reset_seeds_the_books_a_new_server_would_and_shares_none_of_them() -> None:
    """Resets copy the day's books, seeded once: a copy equal to a new server's seeding
    (the same documents, contacts and amounts), and each reset's its own, so a change
    made after one reset never shows after the next."""
    options = SandboxOptions(seed=7, contacts=20)
    with SandboxServer(options) as server, SandboxServer(options) as fresh:
        server.reset()
        first = next(iter(server.sandbox.tenants.values()))
        theirs = next(iter(fresh.sandbox.tenants.values()))
        assert first.invoices.keys() == theirs.invoices.keys()
        assert {i: (d["Total"], d["Status"], d["DueDate"]) for i, d in first.invoices.items()} \
            == {i: (d["Total"], d["Status"], d["DueDate"]) for i, d in theirs.invoices.items()}
        assert first.contacts.keys() == theirs.contacts.keys()
        some = next(iter(first.invoices))
        first.invoices[some]["Status"] = "VOIDED"  # a test's change, straight to the books
        server.reset()
        second = next(iter(server.sandbox.tenants.values()))
        assert second is not first
        assert second.invoices[some]["Status"] == theirs.invoices[some]["Status"] != "VOIDED"
        server.reset()
        third = next(iter(server.sandbox.tenants.values()))
        assert not _mutable_ids(second, {}).keys() & _mutable_ids(third, {}).keys()


def test_a_copy_of_the_books_keeps_each_amount_and_time_as_written() -> None:
    """The copies share amounts, dates and times (immutable), never what they sit in;
    amounts equal in value but written differently, and one instant in two zones, stay
    as they were."""
    auckland = timezone(timedelta(hours=13))
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    books = {"amounts": [Decimal("1.0"), Decimal("1.00"), Decimal("-0"), Decimal("0")],
             "times": [noon, noon.astimezone(auckland)], "day": date(2026, 3, 1),
             "nested": {"lines": [{"Amount": Decimal("10.50")}]}}
    frozen = _Frozen(books)
    one, two = frozen.thaw(), frozen.thaw()
    assert repr(one) == repr(two) == repr(books)
    assert [t.utcoffset() for t in one["times"]] == [timedelta(0), timedelta(hours=13)]
    assert not _mutable_ids(one, {}).keys() & _mutable_ids(two, {}).keys()
    assert not _mutable_ids(one, {}).keys() & _mutable_ids(books, {}).keys()
    one["nested"]["lines"][0]["Amount"] = Decimal("0")
    assert two["nested"]["lines"][0]["Amount"] == Decimal("10.50")


def test_books_only_read_since_the_last_reset_are_kept_and_any_write_is_copied_away() -> None:
    """A reset after nothing but reads (GETs, sign-ins and token exchanges, a helper's
    look at ``tenants``) keeps the books, which are still as seeded; a write through
    the Accounting or the control API, or anybody holding ``sandbox``, and the next
    reset copies them afresh. Reads never change the books: a seeded document's history,
    read, is made for the answer and not kept."""
    import pickle

    options = SandboxOptions(seed=7, contacts=20)
    with SandboxServer(options) as server:
        server.reset()  # the day's books, seeded and copied
        base, books = server.base_url, server.tenants
        tenant = books[0].tenant_id
        pristine = pickle.dumps(books)
        token = sandbox_token(base, tenants=[tenant])
        invoice = next(iter(books[0].invoices))
        assert api(base, token, tenant, "GET", f"/Invoices/{invoice}/History")[0] == 200
        assert _names(base, token, tenant)
        control(base, "GET", f"data?tenant={tenant}")
        server.reset()
        assert server.tenants[0] is books[0], "only read: kept"
        assert pickle.dumps(server.tenants) == pristine, "and as seeded"

        token = sandbox_token(base, tenants=[tenant])
        assert _contact(base, token, tenant, "A Write") == 200
        server.reset()
        assert server.tenants[0] is not books[0]
        assert "A Write" not in {c["Name"] for c in server.tenants[0].contacts.values()}

        kept = server.tenants[0]
        server.sandbox.tenants[tenant].contacts.clear()  # straight to the books
        server.reset()
        assert server.tenants[0] is not kept and server.tenants[0].contacts

        kept = server.tenants[0]
        control(base, "POST", "limits", {"minute": 100})  # any control write: copied
        server.reset()
        assert server.tenants[0] is not kept

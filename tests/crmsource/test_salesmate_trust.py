"""What a CRM server says is not taken on trust (issue 24, items 1 and 3).

A push never sends a person's edit back over: each record is read just before its
update and the required fields are repeated as Salesmate holds them then (the sandbox's
slice requires them, as Salesmate does). A pull against a Salesmate-compatible server
that misbehaves (no count, a wrong count, the offset ignored, a record deleted between
pages, a clock in 2099, a count of a billion, a server that drips, timestamps that are
not times) fails with exit 9 and changes nothing, or reads exactly what is there; a
record is marked gone only when the server, asked for it by id, has no such record.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from support import connect_profile, running_sandbox, serve_in_thread
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer

TOKEN = "a-token-from-salesmate"


# -- the sandbox's slice: edits between pull and push --------------------------------
def control(server: SandboxServer, method: str, path: str, data: dict[str, Any] | None = None
            ) -> Any:
    return sandbox_control(server.base_url, method, f"salesmate{path}",
                           data if method == "POST" else None)


@pytest.fixture
def salesmate(home, monkeypatch, cli) -> Iterator[SandboxServer]:
    with running_sandbox(crm="salesmate") as server:
        connect_profile(server, home)
        monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", control(server, "GET", "")["access_token"])
        code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                           "--salesmate-url", server.base_url)
        assert code == 0, err
        yield server


def held(server: SandboxServer, kind: str, record_id: int) -> dict[str, Any]:
    return control(server, "GET", f"/records/{kind}/{record_id}")


def test_a_push_keeps_every_edit_a_person_made_after_the_pull(salesmate, cli):
    for key, field in (("salesmate.fields.xero_contact", "textCustomField1"),
                       ("salesmate.deal_fields.overdue_invoices", "decimalCustomField1")):
        assert cli("config", "set", key, field)[0] == 0
    deals = [1, 2, 3]
    for deal in deals:  # a value in xerolink's field: a push without documents clears it
        salesmate.sandbox.salesmate.records["deal"][deal]["custom"]["decimalCustomField1"] = "9"
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    contacts = sorted(int(r["crm"].split(":")[1]) for r in cli.json("links"))[:3]
    # a person edits every required field, after the pull and before the push
    edits: dict[tuple[str, int], dict[str, Any]] = {}
    for n, contact in enumerate(contacts):
        edits["contact", contact] = {"lastName": f"Corrected{n}",
                                     "owner": 103 if held(salesmate, "contact", contact)[
                                         "owner"] != 103 else 101}
    for n, deal in enumerate(deals):
        before = held(salesmate, "deal", deal)
        edits["deal", deal] = {
            "title": f"Renamed {n}", "status": "Won", "stage": "Closed Won",
            "pipeline": "Renewals", "owner": 103 if before["owner"] != 103 else 101,
            "primaryContact": contacts[0] if before["primaryContact"] != contacts[0]
            else contacts[1]}
    for (kind, record_id), fields in edits.items():
        control(salesmate, "POST", "/edit", {"kind": kind, "id": record_id, "fields": fields})
    control(salesmate, "POST", "/stats/reset")
    report = cli.json("crm", "push")
    written = {c["record"] for c in report["changes"]}
    assert {f"{k}:{i}" for k, i in edits} <= written
    for (kind, record_id), fields in edits.items():
        now = held(salesmate, kind, record_id)
        assert {f: now[f] for f in fields} == fields, (kind, record_id)
    assert held(salesmate, "contact", contacts[0])["custom"]["textCustomField1"]
    assert all(held(salesmate, "deal", d)["custom"]["decimalCustomField1"] is None
               for d in deals)
    assert report["changed_since_pull"] == {"contact": 3, "deal": 3}
    # the cost: one read just before each update, nothing else
    made = control(salesmate, "GET", "")["calls"]
    for kind in ("contact", "deal"):
        count = report["records_written"][kind]
        assert made[f"GET /apis/{kind}/v4/{{id}}"] == count
        assert made[f"PUT /apis/{kind}/v4/{{id}}"] == count
    assert sum(made.values()) == 2 * sum(report["records_written"].values())
    # nothing left to write, and no call made to find that out
    control(salesmate, "POST", "/stats/reset")
    assert cli.json("crm", "push")["changes"] == []
    assert control(salesmate, "GET", "")["calls"] == {}


def test_a_record_deleted_after_the_pull_is_refused_not_recreated(salesmate, cli):
    cli("config", "set", "salesmate.fields.xero_contact", "textCustomField1")
    cli.json("crm", "pull")
    cli.json("link", "--auto")
    cli.json("refresh", "--all")
    victim = sorted(int(r["crm"].split(":")[1]) for r in cli.json("links"))[0]
    del salesmate.sandbox.salesmate.records["contact"][victim]
    code, out, err = cli("crm", "push", "--json")
    assert code == 8 and len(err.strip().splitlines()) == 1
    refused = json.loads(out)["refused"]
    assert [r["record"] for r in refused] == [f"contact:{victim}"]
    assert "no longer has" in refused[0]["reason"]
    assert victim not in salesmate.sandbox.salesmate.records["contact"]
    assert json.loads(out)["records_written"]["contact"] == len(cli.json("links")) - 1


# -- a Salesmate-compatible server that misbehaves -----------------------------------
BASE_TIME = datetime(2026, 6, 1, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Liar:
    """A Salesmate-compatible server's records and how it lies. ``before_page(kind,
    offset, calls)`` may change the records or the answer before a page is cut."""

    def __init__(self, contacts: int) -> None:
        self.records: dict[str, dict[int, dict[str, Any]]] = {"contact": {}, "company": {},
                                                                "deal": {}}
        for i in range(1, contacts + 1):
            self.add(i, BASE_TIME + timedelta(minutes=i))
        self.calls: Counter[str] = Counter()
        self.total: Callable[[int], Any] = lambda real: real  # what totalRows says
        self.ignore_offset = False
        self.before_page: Callable[[str, int, int], None] = lambda kind, offset, calls: None
        self.drip = False
        self.hidden: set[int] = set()  # records search leaves out (and GET still answers)
        self.raw: bytes | None = None  # a search answer's body as sent, when set
        self.lock = threading.Lock()

    def add(self, i: int, modified: datetime) -> None:
        self.records["contact"][i] = {
            "id": i, "firstName": "Pat", "lastName": f"Person {i}",
            "email": f"p{i}@example.org", "owner": {"id": 1},
            "createdAt": iso(BASE_TIME), "lastModifiedAt": iso(modified)}

    def search(self, kind: str, query: dict[str, list[str]], body: dict[str, Any]
               ) -> dict[str, Any]:
        rows, start = int(query["rows"][0]), int(query["from"][0])
        self.before_page(kind, start, self.calls[f"search {kind}"])
        rule = body["filterQuery"]["group"]["rules"][0]
        field = rule["field"]["fieldName"].split(".", 1)[1]
        after = datetime.strptime(rule["data"], "%b %d, %Y %I:%M %p").replace(tzinfo=UTC)
        found = sorted((r for r in self.records[kind].values() if r["id"] not in self.hidden
                        and (_time(r[field]) is None or _time(r[field]) > after)),
                       key=lambda r: r["id"] if field == "createdAt"
                       else (str(r["lastModifiedAt"]), r["id"]))
        if self.ignore_offset:
            start = 0
        data: dict[str, Any] = {"data": found[start:start + rows]}
        total = self.total(len(found))
        if total is not None:
            data["totalRows"] = total
        return {"Status": "success", "Data": data}


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@pytest.fixture
def liar(cli, monkeypatch) -> Iterator[tuple[Liar, str]]:
    state = Liar(600)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, answer: dict[str, Any]) -> None:
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for start in range(0, len(body), 1 if state.drip else len(body)):
                    self.wfile.write(body[start:start + (1 if state.drip else len(body))])
                    self.wfile.flush()
                    if state.drip:
                        time.sleep(0.5)  # each byte well within the read timeout
            except OSError:  # the client hung up: what a cut-off call does
                return

        def do_POST(self) -> None:
            if self.headers.get("accessToken") != TOKEN:
                self.rfile.read(int(self.headers["Content-Length"]))
                self._send(401, {"Status": "failure", "Error": {
                    "Code": "4010", "Name": "Unauthorized", "Message": "Invalid token"}})
                return
            parts = urlsplit(self.path)
            kind = parts.path.split("/")[2]
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.calls[f"search {kind}"] += 1
                answer = state.search(kind, parse_qs(parts.query), request)
            if state.raw is not None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(state.raw)))
                self.end_headers()
                self.wfile.write(state.raw)
                return
            self._send(200, answer)

        def do_GET(self) -> None:
            _, _, kind, _, record_id = self.path.split("/")
            with state.lock:
                state.calls[f"get {kind}"] += 1
                record = state.records[kind].get(int(record_id))
            if record is None:
                self._send(200, {"Status": "failure", "Error": {
                    "Code": "4005", "Name": "ObjectNotFound", "Message": "Object not found"}})
            else:
                self._send(200, {"Status": "success", "Data": record})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", TOKEN)
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "acme",
                       "--salesmate-url", base)
    assert code == 0, err
    try:
        yield state, base
    finally:
        server.shutdown()
        server.server_close()


def fails_cleanly(cli, *args: str) -> str:
    """The pull exits 9 with one line, and the store holds what it held."""
    before = cli.json("crm", "list", "contacts")
    code, _, err = cli("crm", "pull", *args)
    assert code == 9, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert cli.json("crm", "list", "contacts") == before
    return err


def gone(cli) -> list[str]:
    return [c["ref"] for c in cli.json("crm", "list", "contacts") if c["gone"]]


def test_a_consistent_server_is_read_whole(liar, cli):
    state, _ = liar
    report = cli.json("crm", "pull")
    assert report["contacts"]["written"] == 600 and report["contacts"]["calls"] == 3
    state.total = lambda real: float(real)  # 600.0: a whole number all the same
    again = cli.json("crm", "pull", "--full")
    assert again["contacts"]["read"] == 600 and again["contacts"]["gone"] == []


@pytest.mark.parametrize("total", [None, 10, "many", -1, 600.5, 1_000_000_000])
def test_a_count_that_is_missing_wrong_or_absurd_changes_nothing(liar, cli, total):
    state, _ = liar
    state.total = lambda real: total
    err = fails_cleanly(cli)
    assert "nothing was changed" in err
    assert state.calls["search contact"] <= 2  # the check at connect, and one page
    assert cli.json("crm", "list", "contacts") == []


def test_a_short_read_never_marks_live_records_gone(liar, cli):
    state, _ = liar
    cli.json("crm", "pull")
    state.total = lambda real: None
    fails_cleanly(cli, "--full")
    state.total = lambda real: real
    state.before_page = lambda kind, offset, calls: None
    real = state.search

    def short(kind: str, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        answer = real(kind, query, body)
        if kind == "contact" and query["from"] == ["250"]:
            answer["Data"]["data"] = answer["Data"]["data"][:100]  # stops early
        return answer

    state.search = short  # type: ignore[method-assign]
    fails_cleanly(cli, "--full")
    assert gone(cli) == []


def test_a_server_that_ignores_the_offset_is_caught(liar, cli):
    state, _ = liar
    cli.json("crm", "pull")
    state.ignore_offset = True
    err = fails_cleanly(cli, "--full")
    assert "twice" in err
    assert gone(cli) == []


def test_a_record_deleted_between_pages_never_marks_the_wrong_one_gone(liar, cli):
    state, _ = liar
    cli.json("crm", "pull")

    def delete_and_add(kind: str, offset: int, calls: int) -> None:
        if kind == "contact" and offset == 250 and 601 not in state.records["contact"]:
            del state.records["contact"][10]  # shifts every later record back by one
            state.add(601, BASE_TIME)  # and the count stays 600

    state.before_page = delete_and_add
    err = fails_cleanly(cli, "--full")
    assert "contact:251" in err and "still has" in err
    assert gone(cli) == []
    state.before_page = lambda kind, offset, calls: None
    report = cli.json("crm", "pull", "--full")  # a consistent read: exactly the deleted one
    assert report["contacts"]["gone"] == ["contact:10"]
    assert gone(cli) == ["contact:10"]


def test_only_salesmates_own_word_marks_a_record_gone(liar, cli):
    """Left out of a full read: gone when a read by id says ObjectNotFound or flags
    it deleted; a record still there fails the pull instead."""
    state, _ = liar
    cli.json("crm", "pull")
    state.hidden = {20}
    state.records["contact"][20]["isDeleted"] = True
    del state.records["contact"][21]
    state.hidden.add(30)  # left out, but still there
    assert "contact:30" in fails_cleanly(cli, "--full")
    state.hidden.discard(30)
    calls = state.calls["get contact"]
    report = cli.json("crm", "pull", "--full")
    assert report["contacts"]["gone"] == ["contact:20", "contact:21"]
    assert state.calls["get contact"] - calls == 2  # one read by id per record missing


def test_a_deletion_that_shrinks_the_count_between_pages_is_caught(liar, cli):
    state, _ = liar
    cli.json("crm", "pull")

    def delete(kind: str, offset: int, calls: int) -> None:
        if kind == "contact" and offset == 250:
            state.records["contact"].pop(10, None)

    state.before_page = delete
    assert "do not add up" in fails_cleanly(cli, "--full")
    assert gone(cli) == []


def test_a_record_stamped_2099_does_not_hide_later_edits(liar, cli):
    state, _ = liar
    state.records["contact"][7]["lastModifiedAt"] = "2099-01-01T00:00:00.000Z"
    cli.json("crm", "pull")
    state.records["contact"][5]["lastName"] = "Edited"
    state.records["contact"][5]["lastModifiedAt"] = iso(datetime.now(UTC))
    report = cli.json("crm", "pull")
    assert report["contacts"]["full"] is False
    assert report["contacts"]["written"] == 1
    assert cli.json("crm", "show", "contact:5")["name"].endswith("Edited")


@pytest.mark.parametrize("stamp", [float("nan"), 1e20, -99999999999999,
                                   "0001-01-01T00:00:00+05:00", "tomorrow", 10**400],
                         ids=["nan", "1e20", "negative", "year-1", "text", "huge-int"])
def test_a_timestamp_that_is_no_time_is_the_servers_fault(liar, cli, stamp):
    state, _ = liar
    state.records["contact"][3]["lastModifiedAt"] = stamp
    err = fails_cleanly(cli)
    assert "lastModifiedAt" in err and "unexpected" not in err


@pytest.mark.real_clock
def test_a_server_that_drips_is_cut_off_by_the_call_deadline(liar, cli):
    state, _ = liar
    assert cli("config", "set", "connect_timeout", "1")[0] == 0
    assert cli("config", "set", "read_timeout", "1")[0] == 0  # every byte arrives within it
    state.drip = True
    started = time.monotonic()
    err = fails_cleanly(cli)
    assert time.monotonic() - started < 10
    assert "did not arrive within 2 s" in err
    assert state.calls["search contact"] == 2  # connect's check was quick; one cut off


def test_a_pull_stops_at_its_deadline_and_changes_nothing(liar, home):
    """A server with fresh records on every page for ever is stopped by the pages its
    count allows and by the pull's deadline (here on a clock that moves 100 s a call)."""
    import xerolink
    from xerolink.errors import CrmUnreachableError
    from xerolink.services import crmpull

    state, _ = liar
    fresh = iter(range(10_000, 10**9))

    def endless(kind: str, offset: int, calls: int) -> None:
        if kind == "contact":  # 250 more at the end, before every page
            for _ in range(250):
                state.add(next(fresh), BASE_TIME)

    state.before_page = endless
    state.total = lambda real: 900_000
    ticks = iter(range(0, 10**6, 100))
    with xerolink.open() as xl:
        source = xl._crm.crm_source()
        with pytest.raises(CrmUnreachableError, match="did not finish within 1000 s"):
            crmpull.pull(xl._wiring.store, source, fields={}, now=datetime.now(UTC),
                         deadline=1000, clock=lambda: float(next(ticks)))
        source.close()
        assert xl._wiring.store.live_source_ids("salesmate", "contact") == set()
    assert state.calls["search contact"] <= 12


def test_a_refusal_names_the_server_that_refused(liar, cli, monkeypatch):
    _, base = liar
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", "another-token")
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                       "--salesmate-url", base)
    assert code == 8, err
    assert "refused the access token for " + base.removeprefix("http://") in err
    assert "demo.salesmate.io" not in err and "another-token" not in err


# -- issue 24, item 3 under review: malformed answers, counts that grow, refusals -------
def test_an_answer_nested_too_deeply_is_the_servers_fault(liar, cli):
    state, _ = liar
    state.raw = b"[" * 100_000
    err = fails_cleanly(cli)
    assert "other than JSON" in err and "unexpected" not in err


def add_deal(state: Liar, deal_id: int, value: Any) -> None:
    state.records["deal"][deal_id] = {
        "id": deal_id, "title": f"Deal {deal_id}", "dealValue": value, "currency": "NZD",
        "primaryContact": {"id": 1}, "owner": {"id": 1}, "pipeline": "Sales",
        "stage": "New", "status": "Open", "createdAt": iso(BASE_TIME),
        "lastModifiedAt": iso(BASE_TIME)}


@pytest.mark.parametrize("value", ["1e30", "1e999999999", "1000000000000", "0.00001", "-5",
                                   "lots", float("nan"), 1e30, 10**13],
                         ids=["1e30", "1e999999999", "10^12", "5-places", "negative",
                              "text", "nan", "float-1e30", "int-10^13"])
def test_a_deal_value_out_of_bounds_is_the_servers_fault(liar, cli, value):
    state, _ = liar
    add_deal(state, 1, "100.00")
    add_deal(state, 7, value)
    err = fails_cleanly(cli)
    assert "deal:7" in err and "dealValue" in err and "unexpected" not in err
    assert cli.json("crm", "list", "deals") == []


def test_a_deal_value_within_bounds_is_kept_exactly(liar, cli):
    state, _ = liar
    add_deal(state, 1, "999999999999.9999")
    add_deal(state, 2, 1500)
    add_deal(state, 3, 12.5)
    add_deal(state, 4, None)
    assert cli("crm", "pull")[0] == 0
    assert {d["ref"]: d["value"] for d in cli.json("crm", "list", "deals")} == {
        "deal:1": "999999999999.9999", "deal:2": "1500", "deal:3": "12.5", "deal:4": None}


def test_a_huge_amount_already_in_a_store_is_shown_not_a_crash(home, cli):
    """A store an earlier version filled from a misbehaving server: every command
    still shows it (in exponent form past 40 digits), none exits 1."""
    from decimal import Decimal

    import xerolink
    from xerolink.store.crmsource import PullBatch
    from xerolink.store.models import CrmDeal

    with xerolink.open() as xl:
        batch = PullBatch("salesmate")
        batch.deals = [CrmDeal(id="1", title="Big", value=Decimal("1e30"), source="salesmate"),
                       CrmDeal(id="2", title="Huge", value=Decimal("1e999999999"),
                               source="salesmate")]
        xl._wiring.store.apply_pull(batch, datetime.now(UTC))
    code, out, err = cli("crm", "list", "deals")
    assert code == 0, err
    assert "1,000,000,000,000,000,000,000,000,000,000.00" in out and "1E+999999999" in out
    code, out, err = cli("crm", "show", "deal:2", "--json")
    assert code == 0, err
    assert json.loads(out)["value"] == "1E+999999999" and len(out) < 10_000
    from xerolink.money import is_whole_cents, plain
    assert is_whole_cents(Decimal("1e30")) and not is_whole_cents(Decimal("1.005"))
    assert is_whole_cents(Decimal("0.000")) and not is_whole_cents(Decimal("0.0010"))
    assert plain(Decimal("1500.50")) == "1500.50"


def test_a_count_that_grows_with_every_page_is_stopped_at_once(liar, home):
    """totalRows always 500 past the offset, fresh ids on every page: the first count
    bounds the read, and the count changing is an inconsistent read (exit 9)."""
    import xerolink
    from xerolink.errors import CrmUnreachableError
    from xerolink.services import crmpull

    state, _ = liar
    fresh = iter(range(10_000, 10**9))
    offsets: list[int] = []

    def endless(kind: str, offset: int, calls: int) -> None:
        if kind == "contact":
            offsets.append(offset)
            for _ in range(250):
                state.add(next(fresh), BASE_TIME)

    state.before_page = endless
    state.total = lambda real: offsets[-1] + 500
    ticks = iter(range(0, 10**6, 100))
    with xerolink.open() as xl:
        source = xl._crm.crm_source()
        calls = state.calls["search contact"]
        with pytest.raises(CrmUnreachableError, match="counted 500 and then 750"):
            crmpull.pull(xl._wiring.store, source, fields={}, now=datetime.now(UTC),
                         deadline=1000, clock=lambda: float(next(ticks)))
        source.close()
        assert xl._wiring.store.live_source_ids("salesmate", "contact") == set()
    assert state.calls["search contact"] - calls == 2


def test_records_added_during_a_read_fail_it_and_the_next_pull_reads_them(liar, cli):
    """The stricter reading: a count that grows between pages means the account
    changed during the read; exit 9, nothing written, and pulling again reads all."""
    state, _ = liar

    def add_one(kind: str, offset: int, calls: int) -> None:
        if kind == "contact" and offset == 250 and 601 not in state.records["contact"]:
            state.add(601, BASE_TIME)

    state.before_page = add_one
    err = fails_cleanly(cli)
    assert "counted 600 and then 601" in err and "pull again" in err
    assert cli.json("crm", "list", "contacts") == []
    assert cli.json("crm", "pull")["contacts"]["written"] == 601


def test_a_refused_connection_names_the_host_and_port(cli, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", TOKEN)
    code, _, err = cli("crm", "connect", "salesmate", "--linkname", "acme",
                       "--salesmate-url", f"http://127.0.0.1:{port}")
    assert code == 9, err
    assert f"nothing is listening at 127.0.0.1:{port} (the connection was refused)" in err
    assert "NewConnectionError" not in err and TOKEN not in err

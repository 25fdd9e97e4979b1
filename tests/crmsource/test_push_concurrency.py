"""``crm push`` writes with a few workers at once (issue 25, section 7), and says what it
did in one line (section 1).

Against the sandbox's Salesmate slice, with a latency of its own: 1,000 records at
150 ms a call go at 20 records a second or more; no record ever has two requests in
flight at once, and each is read just before its update; a 429 pauses every worker for
its Retry-After, not only the one it answered; a push stopped by an outage half-way
resumes with exactly the records left, none written twice (after SIGKILL too); a call
cut at its deadline cuts no other worker's call; by default a push prints one summary
line (``--verbose`` lists the fields, ``--json`` keeps its shape).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from support import connect_profile, running_sandbox, serve_in_thread
from support import control as sandbox_control
from xerolink.sandbox import SandboxServer

FIELD = "textCustomField1"  # salesmate.fields.xero_contact
TOKEN = "a-token-from-salesmate"


def control(server: SandboxServer, method: str, path: str, data: dict[str, Any] | None = None
            ) -> Any:
    return sandbox_control(server.base_url, method, f"salesmate{path}",
                           data if method == "POST" else None)


@pytest.fixture
def crm_home(home, monkeypatch, cli):
    """A profile connected to a sandbox whose Salesmate slice is started by the test."""

    def start(contacts: int) -> Iterator[SandboxServer]:
        with running_sandbox(crm="salesmate", crm_contacts=contacts) as server:
            connect_profile(server, home)
            monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN",
                               control(server, "GET", "")["access_token"])
            code, _, err = cli("crm", "connect", "salesmate", "--linkname", "demo",
                               "--salesmate-url", server.base_url)
            assert code == 0, err
            assert cli("config", "set", "salesmate.fields.xero_contact", FIELD)[0] == 0
            yield server

    return start


@pytest.fixture
def stale(crm_home, cli, request) -> Iterator[SandboxServer]:
    """``request.param`` contacts, every one holding a value in xerolink's field that
    none of them is linked to: each is one record to write (the field cleared), a read
    and an update."""
    for server in crm_home(request.param):
        for record in server.sandbox.salesmate.records["contact"].values():
            record["custom"][FIELD] = "Someone Else Ltd"
        assert cli.json("crm", "pull")["contacts"]["read"] == request.param
        control(server, "POST", "/traffic/reset")
        control(server, "POST", "/stats/reset")
        yield server


def traffic(server: SandboxServer) -> dict[str, Any]:
    """``GET /_sandbox/salesmate/traffic``, its times as floats."""
    return server.sandbox.salesmate.describe_traffic()


def writes(server: SandboxServer) -> list[dict[str, Any]]:
    return [r for r in traffic(server)["requests"]
            if r["call"].startswith("PUT") and r["status"] == 200]


def cleared(server: SandboxServer) -> int:
    return sum(1 for r in server.sandbox.salesmate.records["contact"].values()
               if not r["custom"].get(FIELD))


@pytest.mark.parametrize("stale", [1000], indirect=True)
@pytest.mark.slow
def test_a_first_push_of_1000_records_at_150_ms_goes_at_20_records_a_second(stale, cli):
    """With the default 4 workers: each record still read just before its update (two
    calls a record), the reads of the next 4 records overlapping the 4 updates."""
    control(stale, "POST", "/latency", {"ms": 150})
    started = time.monotonic()
    report = cli.json("crm", "push")
    seconds = time.monotonic() - started
    rate = report["records_written"]["contact"] / seconds
    seen = traffic(stale)
    gap = read_to_update(seen["requests"])
    print(f"\ncrm push (default --concurrency 4): 1000 records, 2 calls each at 150 ms: "
          f"{seconds:.1f} s, {rate:.1f} records/s; read answered to update sent: "
          f"median {gap[len(gap) // 2] * 1000:.0f} ms, max {gap[-1] * 1000:.0f} ms")
    assert report["records_written"]["contact"] == 1000 and cleared(stale) == 1000
    assert rate >= 20, f"{rate:.1f} records/s"
    assert peak(seen["requests"], "PUT") == 4  # as many updates as asked, never more
    assert peak(seen["requests"], "GET") <= 4 and seen["peak_in_flight"] <= 8
    assert seen["overlapping_records"] == []
    assert len(gap) == 1000 and gap[len(gap) // 2] < 0.075, "a read is at most one call old"
    calls = control(stale, "GET", "")["calls"]
    assert calls == {"GET /apis/contact/v4/{id}": 1000, "PUT /apis/contact/v4/{id}": 1000}


def peak(requests: list[dict[str, Any]], method: str) -> int:
    """The most requests of one method the slice had in flight at once."""
    edges = sorted([(r["at"], 1) for r in requests if r["call"].startswith(method)] +
                   [(r["answered"], -1) for r in requests if r["call"].startswith(method)])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def read_to_update(requests: list[dict[str, Any]]) -> list[float]:
    """For each record updated: seconds from its read's answer to its update's arrival,
    sorted."""
    answered: dict[str, float] = {}
    gaps: list[float] = []
    for r in sorted(requests, key=lambda r: r["at"]):
        if r["call"].startswith("GET"):
            answered[r["record"]] = r["answered"]
        elif r["call"].startswith("PUT"):
            gaps.append(r["at"] - answered[r["record"]])
    return sorted(gaps)


@pytest.mark.parametrize("stale", [120], indirect=True)
@pytest.mark.slow
def test_the_default_is_four_workers_and_one_is_one(stale, cli):
    control(stale, "POST", "/latency", {"ms": 40})
    for record in stale.sandbox.salesmate.records["contact"].values():
        if record["id"] > 60:
            record["custom"][FIELD] = ""  # written by the second push, not the first
    cli.json("crm", "pull")  # what they hold now
    for record in stale.sandbox.salesmate.records["contact"].values():
        if record["id"] > 60:
            record["custom"][FIELD] = "Someone Else Ltd"
    cli.json("crm", "pull")
    control(stale, "POST", "/traffic/reset")
    assert cli.json("crm", "push")["records_written"]["contact"] == 120
    assert peak(traffic(stale)["requests"], "PUT") == 4
    assert traffic(stale)["peak_in_flight"] <= 8
    for record in stale.sandbox.salesmate.records["contact"].values():
        record["custom"][FIELD] = "Someone Else Ltd"
    cli.json("crm", "pull")
    control(stale, "POST", "/traffic/reset")
    assert cli.json("crm", "push", "--concurrency", "1")["records_written"]["contact"] == 120
    assert peak(traffic(stale)["requests"], "PUT") == 1
    assert traffic(stale)["peak_in_flight"] <= 2
    code, _, err = cli("crm", "push", "--concurrency", "0")
    assert code == 2 and "--concurrency is 1 to 16" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("stale", [200], indirect=True)
def test_no_record_is_ever_written_by_two_workers_at_once(stale, cli):
    control(stale, "POST", "/latency", {"ms": 30})
    assert cli.json("crm", "push", "--concurrency", "8")["records_written"]["contact"] == 200
    seen = traffic(stale)
    assert seen["overlapping_records"] == []
    assert peak(seen["requests"], "PUT") == 8
    by_record: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in seen["requests"]:
        by_record[r["record"]].append(r)
    assert len(by_record) == 200
    for record, requests in by_record.items():
        read, update = sorted(requests, key=lambda r: r["at"])
        assert (read["call"].split()[0], update["call"].split()[0]) == ("GET", "PUT"), record
        assert update["at"] >= read["answered"], "read, then update: one unit of work"


@pytest.mark.parametrize("stale", [3], indirect=True)
def test_the_slice_does_see_two_requests_for_one_record_at_once(stale):
    """The check above can fail: two reads of one record at once are seen."""
    import urllib.request

    control(stale, "POST", "/latency", {"ms": 200})
    token = control(stale, "GET", "")["access_token"]

    def read() -> None:
        ask = urllib.request.Request(f"{stale.base_url}/apis/contact/v4/2", headers={
            "accessToken": token, "x-linkname": "demo.salesmate.io"})
        with urllib.request.urlopen(ask, timeout=10) as answer:
            assert answer.status == 200

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(10)
    assert traffic(stale)["overlapping_records"] == ["contact:2"]


@pytest.mark.parametrize("stale", [80], indirect=True)
def test_a_429_pauses_every_worker_for_its_retry_after(stale, cli):
    control(stale, "POST", "/latency", {"ms": 30})
    control(stale, "POST", "/faults", {"status": 429, "count": 3, "retry_after": "1",
                                       "after": 40})
    started = time.monotonic()
    report = cli.json("crm", "push", "--concurrency", "4")
    assert time.monotonic() - started >= 1.0
    assert report["records_written"]["contact"] == 80 and cleared(stale) == 80
    requests = traffic(stale)["requests"]
    limited = [r for r in requests if r["status"] == 429]
    assert len(limited) == 3
    for answer in limited:
        # Requests already on their way when the 429 went back may still arrive just
        # after it; none is sent during the pause it asked for.
        during = [r for r in requests
                  if answer["answered"] + 0.1 < r["at"] < answer["answered"] + 0.95]
        assert during == [], f"{len(during)} requests sent during a 1 s Retry-After"
    assert len(writes(stale)) == 80  # each record written once, the 429s retried


@pytest.mark.parametrize("stale", [60], indirect=True)
def test_a_push_stopped_half_way_resumes_with_exactly_the_records_left(stale, cli):
    control(stale, "POST", "/latency", {"ms": 20})
    control(stale, "POST", "/outage", {"after_updates": 25})
    code, _, err = cli("crm", "push", "--concurrency", "4")
    assert code == 9 and "Salesmate kept failing" in err
    first = {r["record"] for r in writes(stale)}
    assert len(first) == 25 and cleared(stale) == 25
    control(stale, "POST", "/outage", {"after_updates": None})
    control(stale, "POST", "/traffic/reset")
    report = cli.json("crm", "push", "--concurrency", "4")
    assert report["records_written"]["contact"] == 35
    second = [r["record"] for r in writes(stale)]
    assert len(second) == 35 and not first & set(second), "nothing written twice"
    assert first | set(second) == {f"contact:{i}" for i in range(1, 61)}
    reads = [r for r in traffic(stale)["requests"]
             if r["call"].startswith("GET")]
    assert len(reads) == 35, "every update accepted before the outage was recorded"
    control(stale, "POST", "/stats/reset")
    assert cli.json("crm", "push")["records_written"]["contact"] == 0
    assert control(stale, "GET", "")["calls"] == {}


@pytest.mark.parametrize("stale", [60], indirect=True)
def test_updates_in_flight_when_one_worker_fails_are_recorded(stale, cli):
    """One worker's call refused outright (the token, say) while the others' updates
    are on their way: those are accepted by Salesmate, so they are recorded before the
    push stops, and the next push neither writes nor reads them again."""
    control(stale, "POST", "/latency", {"ms": 40})
    control(stale, "POST", "/faults", {"status": 401, "count": 1, "after": 50})
    code, _, err = cli("crm", "push", "--concurrency", "4")
    assert code == 8 and "refused the access token" in err
    first = {r["record"] for r in writes(stale)}
    assert 20 <= len(first) < 60 and cleared(stale) == len(first)
    control(stale, "POST", "/traffic/reset")
    report = cli.json("crm", "push", "--concurrency", "4")
    assert report["records_written"]["contact"] == 60 - len(first)
    again = [r for r in traffic(stale)["requests"] if r["record"] in first]
    assert again == [], f"{len(again)} calls for records already written"
    assert cleared(stale) == 60


@pytest.mark.parametrize("stale", [200], indirect=True)
def test_a_push_killed_with_sigkill_writes_nothing_twice_when_run_again(stale, cli):
    """SIGKILL lands between Salesmate accepting updates and the store recording
    them: the next push reads those records again, finds the values there and does
    not write them again."""
    import os
    import signal
    import subprocess
    import sys

    control(stale, "POST", "/latency", {"ms": 50})
    push = subprocess.Popen([sys.executable, "-m", "xerolink", "crm", "push",
                             "--concurrency", "4"], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (len(writes(stale)) >= 60 and updating(stale)) and \
                time.monotonic() < deadline:
            time.sleep(0.002)
        push.send_signal(signal.SIGKILL)  # an update on its way
    finally:
        push.wait(10)
    assert push.returncode == -signal.SIGKILL
    time.sleep(0.3)  # the slice finishes answering what was in flight
    first = [r["record"] for r in writes(stale)]
    assert 60 <= len(first) < 200 and len(set(first)) == len(first)
    control(stale, "POST", "/traffic/reset")
    report = cli.json("crm", "push", "--concurrency", "4")
    second = [r["record"] for r in writes(stale)]
    assert report["records_written"]["contact"] == len(second) == 200 - len(first)
    assert not set(first) & set(second), "a record written twice"
    read_again = {r["record"] for r in traffic(stale)["requests"]} & set(first)
    assert read_again, "the kill fell between an update accepted and its record"
    assert cleared(stale) == 200


def updating(server: SandboxServer) -> bool:
    """Whether an update is in flight: a record with a request in flight whose read
    was already answered."""
    slice_ = server.sandbox.salesmate
    with slice_.lock:
        busy = {r for r, n in slice_.in_flight.items() if n}
        return any(call.startswith("GET") and record in busy
                   for _, _, call, record, _ in slice_.traffic)


class _SlowServer(BaseHTTPRequestHandler):
    """Contact 1 drips a byte every half second, for ever (its call is cut at the
    deadline); an update of contact 2 takes two seconds, then succeeds."""

    updates: ClassVar[Counter[str]] = Counter()

    def log_message(self, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(20):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.5)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _SlowServer.updates[self.path] += 1
        time.sleep(2)
        body = json.dumps({"Status": "success", "Data": {"id": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.real_clock
def test_a_call_cut_at_its_deadline_cuts_no_other_workers_call():
    """Cutting every socket would cut an update on its way too, which is then sent
    again: one record written twice."""
    from xerolink.crmsource.salesmate import SalesmateSource
    from xerolink.errors import CrmUnreachableError

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowServer)
    serve_in_thread(server)
    source = SalesmateSource("demo", TOKEN, base_url=f"http://127.0.0.1:{server.server_port}",
                             timeouts=(1.0, 3.0), connections=2)
    failed: list[str] = []

    def read_the_slow_one() -> None:
        try:
            source.current("contact", "1")
        except CrmUnreachableError as exc:
            failed.append(str(exc))

    reader = threading.Thread(target=read_the_slow_one)
    try:
        reader.start()
        time.sleep(3)  # the update is on its way when the read is cut, at 4 s
        source.update("contact", "2", {"lastName": "Reid", "owner": 101},
                      {"textCustomField1": "x"})
        reader.join(10)
    finally:
        source.close()
        server.shutdown()
        server.server_close()
    assert failed and "did not arrive within 4 s" in failed[0]
    assert _SlowServer.updates == {"/apis/contact/v4/2": 1}


# -- what it says ------------------------------------------------------------------------
@pytest.mark.parametrize("stale", [40], indirect=True)
def test_a_push_says_one_line_unless_verbose(stale, cli):
    stale.sandbox.salesmate.records["contact"][1]["custom"][FIELD] = "Someone Else Ltd"
    code, out, err = cli("crm", "push", "--dry-run")
    assert code == 0, err
    assert out.splitlines() == ["Would write 40 records in salesmate (40 fields); "
                                "0 already up to date"]
    control(stale, "POST", "/edit", {"kind": "contact", "id": 3,
                                     "fields": {"lastName": "Corrected"}})
    code, out, err = cli("crm", "push")
    assert code == 0, err
    assert out.splitlines() == ["Wrote 40 records in salesmate (40 fields); 0 already up "
                                "to date; 1 record edited in salesmate since the pull "
                                "(their edits kept)"]
    assert stale.sandbox.salesmate.records["contact"][3]["lastName"] == "Corrected"
    for record in stale.sandbox.salesmate.records["contact"].values():
        record["custom"][FIELD] = "Someone Else Ltd"
    cli.json("crm", "pull")
    code, out, err = cli("crm", "push", "--verbose")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1].startswith("Wrote 40 records in salesmate (40 fields)")
    for n in (1, 17, 40):
        assert any(line.replace("│", " ").split()[:2] == [f"contact:{n}", FIELD]
                   for line in lines), out
    assert len(lines) > 40


@pytest.mark.parametrize("stale", [12], indirect=True)
def test_push_json_keeps_its_shape(stale, cli):
    report = cli.json("crm", "push", "--concurrency", "3")
    assert set(report) == {"source", "account", "dry_run", "records_written", "unchanged",
                           "not_read_from_xero", "calls", "changed_since_pull", "changes",
                           "refused", "notes"}
    assert report["calls"] == 24 and report["records_written"] == {"contact": 12}
    assert [c["record"] for c in report["changes"]] == [f"contact:{i}" for i in range(1, 13)]
    assert report["changes"][0] == {"record": "contact:1", "field": FIELD,
                                    "figure": "xero_contact", "from": "Someone Else Ltd",
                                    "to": ""}


@pytest.mark.parametrize("stale", [230], indirect=True)
def test_pull_says_how_many_records_it_could_not_yet_confirm_gone(stale, cli):
    for record_id in range(1, 221):  # deleted in Salesmate: more than a pull asks after
        del stale.sandbox.salesmate.records["contact"][record_id]
    code, out, err = cli("crm", "pull", "--full")
    assert code == 0, err
    assert ("Missing from salesmate's answer but not yet confirmed gone: 20 contacts (kept; "
            "asked for by id at the next pull)") in out
    code, out, err = cli("crm", "pull", "--full")
    assert code == 0, err
    assert "not yet confirmed gone" not in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_with_nothing_to_do_shows_done_not_0_percent():
    from xerolink.render import Renderer

    terminal = _Terminal()
    renderer = Renderer(mode="human", stdout=io.StringIO(), stderr=terminal)
    with renderer.progress("Pulling from the CRM") as update:
        update(0, 0, "Reading deals")
        time.sleep(0.05)
    shown = terminal.getvalue()
    assert "Reading deals" in shown and "100%" in shown and " 0%" not in shown


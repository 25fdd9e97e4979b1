"""`xerolink demo` as a new user runs it, on a machine with no OS keyring."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from xerolink.sandbox.seed import build_tenants

FIGURES = ("open_quotes", "overdue_invoices", "outstanding_invoices", "overdue_bills",
           "outstanding_bills")


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    base = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
    base["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return subprocess.run([sys.executable, "-m", "xerolink", *args], capture_output=True,
                          text=True, timeout=timeout, env={**base, **(env or {})})


def test_the_demo_prints_every_section_quickly_and_cleans_up() -> None:
    started = time.perf_counter()
    result = _run("demo")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 15, f"the demo took {elapsed:.1f}s"
    for heading in ("$ xerolink status", "$ xerolink summary contact:c1",
                    "$ xerolink summary company:harbour", "$ xerolink summary deal:d1",
                    "$ xerolink details contact:c1"):
        assert heading in result.stdout
    assert "Connection Status:" in result.stdout and "Running" in result.stdout
    assert "Open quotes" in result.stdout and "Overdue invoices" in result.stdout
    notes = [line for line in result.stderr.splitlines() if line]
    assert notes == ["No OS keyring on this machine: the demo keeps its tokens in a private "
                     "file in its temporary home (XEROLINK_TOKEN_STORE=file)."]


def test_demo_json_parses_and_matches_summary_against_the_kept_sandbox(tmp_path) -> None:
    result = _run("demo", "--keep", "--json", "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    try:
        assert report["kept"] is True and report["token_store"] == "file"
        assert len(report["auto_link"]["linked"]) >= 24
        assert report["deal_attach"]["attached"] >= 1
        env = {"XEROLINK_HOME": report["home"], "XEROLINK_PROFILE": report["profile"],
               "XEROLINK_TOKEN_STORE": "file"}
        for key, ref in (("contact_summary", "contact:c1"),
                         ("company_summary", "company:harbour"),
                         ("deal_summary", "deal:d1")):
            again = _run("summary", ref, "--json", "--refresh", env=env)
            assert again.returncode == 0, again.stderr
            fresh = json.loads(again.stdout)
            assert {k: fresh[k] for k in FIGURES} == {k: report[key][k] for k in FIGURES}
        assert report["contact_details"], "contact:c1 has documents"
    finally:
        os.kill(report["sandbox_pid"], signal.SIGTERM)


def test_sample_data_relates_to_the_seed_as_the_demo_says() -> None:
    now = datetime.now(UTC)
    kauri = build_tenants(1, 200, now.date(), now)[0]
    emails, persons, names = {}, {}, set()
    for contact in kauri.contacts.values():
        if contact["ContactStatus"] != "ACTIVE":
            continue
        if contact["EmailAddress"]:
            emails[contact["EmailAddress"]] = emails.get(contact["EmailAddress"], 0) + 1
        for person in contact["ContactPersons"]:
            persons[person["EmailAddress"]] = persons.get(person["EmailAddress"], 0) + 1
        names.add(contact["Name"].lower())
    text = files("xerolink").joinpath("sample_data/contacts.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    by_email = [r for r in rows if emails.get(r["email"]) == 1]
    by_person = [r for r in rows if persons.get(r["email"]) == 1]
    by_name = [r for r in rows if r["email"] not in emails and r["email"] not in persons
               and f"{r['first_name']} {r['last_name']}".lower() in names]
    unknown = [r for r in rows if r not in by_email + by_person + by_name]
    assert (len(by_email), len(by_person), len(by_name), len(unknown)) == (24, 4, 5, 3)


def test_the_kept_demos_next_commands_run_as_written(tmp_path) -> None:
    """Pasted into a shell whose PATH does not hold xerolink, the printed lines work."""
    result = _run("demo", "--keep", "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("Carry on where the demo stopped", 1)[1].strip().splitlines()
    pid = int(lines[-1].rsplit(" ", 1)[1].rstrip(")"))
    try:
        script = "\n".join([*(line for line in lines if line.startswith("export")),
                            next(line for line in lines if "summary company:" in line)])
        env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
        env["PATH"] = "/usr/bin:/bin"
        ran = subprocess.run(["bash", "-c", "set -e\n" + script], capture_output=True,
                             text=True, timeout=60, env=env)
        assert ran.returncode == 0, ran.stderr
        assert "Open quotes" in ran.stdout
    finally:
        os.kill(pid, signal.SIGTERM)


def _marked(mark: str) -> list[int]:
    """Processes (not yet ended) whose environment holds this mark."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"DEMO_TEST_MARK={mark}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_kept_demo_whose_step_fails_stops_its_sandbox(tmp_path) -> None:
    """--keep leaves the sandbox running for a demo that printed how to reach it; one
    that fails part way (here its profile cannot be written) stops it, not leaving a
    server nobody was told of."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles").write_text("a file where the profiles' folder goes")
    mark = uuid.uuid4().hex
    try:
        result = _run("demo", "--keep", "--home", str(home), env={"DEMO_TEST_MARK": mark})
        assert result.returncode == 1, result.stderr
        assert "the demo's step `xerolink connect" in result.stderr
        assert "Traceback" not in result.stderr
        deadline = time.monotonic() + 10
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _marked(mark), "the kept sandbox is still running"
    finally:
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)


def test_the_sandbox_answers_without_a_delayed_ack_stall() -> None:
    """The demo's second and most of its calls go over kept-alive connections. A server
    that writes an answer's headers and body separately with Nagle's algorithm on waits
    for the client's delayed ACK (40 ms on Linux) on every call: the demo took 3.4 s
    instead of 1.1 s."""
    import http.client

    from support import running_sandbox

    with running_sandbox(contacts=5) as server:
        conn = http.client.HTTPConnection("127.0.0.1", int(server.base_url.rsplit(":", 1)[1]),
                                          timeout=10)
        took = []
        try:
            for _ in range(15):
                started = time.perf_counter()
                conn.request("GET", "/_sandbox/stats")
                assert conn.getresponse().read()
                took.append(time.perf_counter() - started)
        finally:
            conn.close()
    took.sort()
    assert took[len(took) // 2] < 0.02, f"median answer {took[len(took) // 2] * 1000:.0f} ms"


def _books(now: datetime) -> tuple[object, ...]:
    kauri = build_tenants(1, 200, now.date(), now)[0]
    return (sorted((i, d["InvoiceNumber"]) for i, d in kauri.invoices.items()),
            sorted((i, d["QuoteNumber"]) for i, d in kauri.quotes.items()),
            sorted(kauri.invoices_by_contact.items()), sorted(kauri.quotes_by_contact.items()))


def test_the_sample_organisations_ids_and_numbers_hold_at_any_time() -> None:
    """The README's examples name the seed's documents by id and number, so the seed
    gives the same ones whenever it is built: minutes, hours or a year apart."""
    now = datetime.now(UTC)
    books = _books(now)
    for later in (timedelta(minutes=4), timedelta(hours=7, seconds=13), timedelta(days=400)):
        assert _books(now + later) == books, later


def test_a_home_that_is_a_file_is_refused_before_the_sandbox_starts(cli, tmp_path) -> None:
    """--home names the folder, and the refusal says so (not XEROLINK_HOME, which the
    user did not set); nothing is started, nothing written."""
    afile = tmp_path / "afile"
    afile.write_text("mine")
    code, out, err = cli("demo", "--home", str(afile))
    assert code == 2 and out == "", err
    assert err == f"error: --home {afile} is not a folder; name a folder (it is created if " \
                  "missing)\n"
    assert afile.read_text() == "mine"

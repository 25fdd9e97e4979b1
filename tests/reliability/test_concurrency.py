"""Twenty xerolink processes at once, after the access token expired."""

from __future__ import annotations

import json

from support import connect_profile, control, crm_csv_from_sandbox
from xerolink.store.sqlite import SqliteStore


def test_twenty_processes_refreshing_linking_and_summarising_at_once(proc, sandbox, tmp_path
                                                                     ) -> None:
    tenant = connect_profile(sandbox, proc.home)
    rows = crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=30)
    assert proc.run("crm", "import", str(tmp_path / "crm.csv")).returncode == 0
    books = sandbox.sandbox.tenants[tenant]
    store = SqliteStore(proc.home / "profiles" / "default" / "xerolink.db")
    # Half are linked now (for summaries), half will be linked by the processes.
    xero_ids = list(books.contacts)
    for n in range(1, 8):
        assert proc.run("link", str(n), xero_ids[n]).returncode == 0
    store.close()
    proc.expire_token()
    control(sandbox.base_url, "POST", "stats/reset")
    jobs = ([proc.start("status", "--json") for _ in range(6)]
            + [proc.start("link", str(n), xero_ids[n]) for n in range(10, 17)]
            + [proc.start("summary", str(n), "--refresh", "--json") for n in range(1, 8)])
    assert len(jobs) == 20
    for job in jobs:
        _, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
    stats = control(sandbox.base_url, "GET", "stats")
    assert stats["invalid_grant"] == 0
    assert stats["token_grants"] == {"refresh_token": 1}
    store = SqliteStore(proc.home / "profiles" / "default" / "xerolink.db")
    assert store.integrity_check() == "ok"
    links = store.list_links(tenant)
    assert sorted(int(link.crm_contact_id) for link in links) == [*range(1, 8), *range(10, 17)]
    assert len({link.crm_contact_id for link in links}) == len(links), "no link doubled"
    store.close()
    stored = json.loads((proc.home / "profiles" / "default" / "tokens.json").read_text())
    live = [t for t, record in sandbox.sandbox.identity.refresh_tokens.items()
            if record.used_at is None and not sandbox.sandbox.identity.grants[
                record.grant_id].revoked]
    assert stored[tenant]["refresh_token"] in live
    assert rows


def test_one_contacts_two_calls_run_at_once_even_after_refresh_all(cli, connected, sandbox,
                                                                   tmp_path) -> None:
    """After `refresh --all` the quote copy exists; a single contact's invoices and the
    copy's incremental quotes read still go out together: about one round trip (the
    organisation's paid and credit lists, read by refresh --all a moment ago, are not
    read again within the minute)."""
    import time as clock

    from support import control, crm_csv_from_sandbox

    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=12)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    assert cli("refresh", "--all")[0] == 0
    ref = cli.json("links")[0]["crm"]
    control(sandbox.base_url, "POST", "faults", {"latency_ms": 1000})
    control(sandbox.base_url, "POST", "stats/reset")
    started = clock.monotonic()
    assert cli("refresh", ref)[0] == 0
    elapsed = clock.monotonic() - started
    assert control(sandbox.base_url, "GET", "stats")["total"] == 2
    assert elapsed < 1.7, f"two 1-second calls took {elapsed:.2f} s: not concurrent"


def test_refresh_all_reads_its_id_batches_at_once(cli, home, tmp_path, monkeypatch) -> None:
    """Four batches of 45 contacts at 600 ms a call: about one round trip for the
    invoices (up to five in flight, Xero's limit), not four. (Past four batches,
    xerolink first asks for the organisation's open invoices, fewer calls here.)"""
    import time as clock

    from support import connect_profile, control, crm_csv_from_sandbox
    from xerolink.sandbox import SandboxOptions, SandboxServer

    server = SandboxServer(SandboxOptions(seed=31, contacts=400))
    server.start()
    try:
        monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
        connect_profile(server, home)
        crm_csv_from_sandbox(server, tmp_path / "crm.csv", limit=175)
        assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
        assert cli("link", "--auto")[0] == 0
        linked = len(cli.json("links"))
        assert 3 * 45 < linked <= 4 * 45, linked
        control(server.base_url, "POST", "faults", {"latency_ms": 600})
        control(server.base_url, "POST", "stats/reset")
        started = clock.monotonic()
        assert cli("refresh", "--all")[0] == 0
        elapsed = clock.monotonic() - started
        calls = control(server.base_url, "GET", "stats")["by_endpoint"]
        batches = calls["GET /api.xro/2.0/Invoices"]
        assert batches >= 4
        quotes = calls.get("GET /api.xro/2.0/Quotes", 0)
        # sequential: 0.6 s a call, batches and quotes; at once: two round trips saved.
        # The organisation's four payments and credit lists go out together after: one.
        assert elapsed < (batches + quotes - 2 + 1) * 0.6, \
            f"{batches} batches and {quotes} quote pages took {elapsed:.1f} s"
    finally:
        server.stop()

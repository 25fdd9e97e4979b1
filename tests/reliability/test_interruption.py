"""`link --auto` killed with SIGKILL halfway, then run again, ends where an
uninterrupted run ends."""

from __future__ import annotations

import signal
import time

from support import connect_profile, control, crm_csv_from_sandbox
from xerolink.sandbox import SandboxOptions, SandboxServer


def test_a_killed_auto_link_resumes_to_the_same_links(proc, tmp_path) -> None:
    server = SandboxServer(SandboxOptions(seed=8, contacts=4000, latency_ms=250))
    base = server.start()
    try:
        for profile in ("killed", "whole"):
            connect_profile(server, proc.home, profile=profile)
        crm_csv_from_sandbox(server, tmp_path / "crm.csv")
        for profile in ("killed", "whole"):
            assert proc.run("crm", "import", str(tmp_path / "crm.csv"),
                            profile=profile).returncode == 0
        control(base, "POST", "stats/reset")
        job = proc.start("link", "--auto", profile="killed")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            calls = control(base, "GET", "stats")["by_endpoint"].get("GET /api.xro/2.0/Contacts", 0)
            if calls >= 2:
                break
            time.sleep(0.05)
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=10)
        assert job.returncode == -signal.SIGKILL
        halfway = proc.json("links", profile="killed")
        resumed = proc.json("link", "--auto", profile="killed")
        assert resumed["xero_contacts_fetched"] < 4000, "the full read resumed, not restarted"
        whole = proc.json("link", "--auto", profile="whole")
        assert whole["linked"]

        def pairs(profile: str) -> set[tuple[str, str]]:
            return {(r["crm"], r["xero_contact_id"]) for r in proc.json("links", profile=profile)}

        assert pairs("killed") == pairs("whole")
        assert len(halfway) < len(pairs("whole"))
    finally:
        server.stop()

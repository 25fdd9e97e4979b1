"""The CRM service's benchmarks (``python -m benchmarks --suite update``) at a tiny
scale, so that they cannot rot: every scenario measured, each figure from the
sandbox's and the Salesmate slice's own counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_update_suite_measures_every_scenario(tmp_path) -> None:
    out = tmp_path / "update.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--suite", "update", "--scale", "small",
         "--latency-ms", "0", "--baseline-cap", "2", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    svc = data["service"]
    quiet = svc["quiet"]
    assert quiet["calls"] <= 2 and quiet["crm_calls"] <= 3, quiet
    assert quiet["output"]["fields_written"] == 0
    assert not any(k.startswith("PUT") for k in quiet["crm_by_endpoint"])
    churned = svc["churned"]
    assert svc["churned_contacts"] >= 1
    puts = churned["crm_by_endpoint"].get("PUT /apis/contact/v4/{id}", 0)
    assert 1 <= puts <= svc["churned_contacts"], churned["crm_by_endpoint"]
    hooked = svc["webhooks"]["xero_calls"]
    assert hooked and all(c is not None and c >= 1 for c in hooked), svc["webhooks"]
    assert any(p.get("events", 0) >= 1 for p in svc["webhooks"]["passes"])
    day = svc["per_day"]
    assert day["passes"] == 96
    assert day["polling"] == 96 * max(quiet["calls"], churned["calls"])
    assert day["webhooks"] == day["polling"] + svc["churned_contacts"] * max(hooked)
    push = svc["first_push"]
    assert push["records"] == svc["linked"] > 0 and push["records_per_s"] > 0
    assert push["calls"] == 0  # a push reads the cache, never Xero
    for row in data["cold_company"]:
        assert row["floor"]["calls"] <= row["xerolink"]["calls"], row["contacts"]
        assert row["within_10pct_of_floor"], (row["contacts"], row["xerolink"]["calls"],
                                              row["floor"])
        assert row["xerolink"]["calls"] < row["baseline"]["calls"]
    assert [r["contacts"] for r in data["cold_company"]] == [300, 3_000]
    assert "| `crm update`, nothing changed" in result.stdout
    assert "Xero calls a day at `--every 15m`" in result.stdout

"""The freshness benchmark at a tiny scale (two changes a mode, no latency), so that it
cannot rot: the full run (20 changes at 150 ms) is ``python -m benchmarks freshness``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_freshness_measures_webhooks_and_polling_and_writes_results(tmp_path) -> None:
    out = tmp_path / "freshness.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "freshness", "--changes", "2", "--latency-ms",
         "0", "--clock-speed", "60", "--contacts", "40", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| `--watch --every 1h --webhooks` | 2 |" in result.stdout
    assert "| `--watch --every 1m` | 2 |" in result.stdout
    data = json.loads(out.read_text())
    hooks, polled = data["rows"]
    assert (hooks["mode"], hooks["clock_speed"], polled["mode"], polled["clock_speed"]) == (
        "webhooks", 1, "polling", 60)
    for row in (hooks, polled):
        real = row["seconds_real"]
        assert row["changes"] == 2 and 0 < real["p50"] <= real["p95"] <= real["max"]
        assert row["status_429"] == 0 and row["service_exit"] == 0
        assert row["passes"] >= 1 and row["xero_calls"] >= 1
        scaled = row["seconds_service_clock"]["p95"]
        assert abs(scaled - real["p95"] * row["clock_speed"]) <= 0.001 * row["clock_speed"]
    assert hooks["intent_to_receive"] == "passed" and hooks["deliveries"] >= 2
    assert hooks["met"] is True  # p95 <= 5 s
    # a 1h interval with no webhooks could not have been this fresh: the deliveries did it
    assert hooks["seconds_real"]["max"] < 60
    assert polled["met"] is True and polled["intent_to_receive"] is None
    assert polled["widened"] == []  # the 1m interval was the one measured


def test_the_p95_of_twenty_is_the_nineteenth() -> None:
    from benchmarks.freshness import percentile

    values = [float(n) for n in range(20, 0, -1)]
    assert percentile(values, 0.95) == 19 and percentile(values, 0.5) == 10
    assert percentile([3.0], 0.95) == 3


@pytest.mark.parametrize(("name", "speed"), [("freshness.json", 10),
                                           ("freshness-unscaled.json", 1)])
def test_the_saved_runs_are_full_ones_and_their_verdicts_follow_from_their_numbers(
        name, speed) -> None:
    """benchmarks/results/freshness*.json are what the README quotes: 20 changes a mode
    at 150 ms (polling with the clocks x10, and unscaled), and each "met" is what its
    own figures say."""
    data = json.loads((ROOT / "benchmarks/results" / name).read_text())
    assert data["latency_ms"] == 150
    hooks, polled = data["rows"]
    assert hooks["changes"] == polled["changes"] == 20
    assert (hooks["clock_speed"], polled["clock_speed"]) == (1, speed)
    assert hooks["met"] == (hooks["seconds_real"]["p95"] <= 5)
    speed = polled["clock_speed"]
    bound = polled["interval_s_service_clock"] + polled["longest_pass_s_real"] * speed
    assert polled["met"] == (polled["seconds_real"]["p95"] * speed <= bound)
    assert hooks["status_429"] == polled["status_429"] == 0

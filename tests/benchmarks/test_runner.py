"""The benchmark runner at a tiny scale, so that it cannot rot (the full run is not
part of the suite: it takes minutes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_runner_measures_both_sides_and_writes_results(tmp_path) -> None:
    out = tmp_path / "latest.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "small", "--latency-ms", "0",
         "--baseline-cap", "2", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| scenario | xerolink calls | baseline calls |" in result.stdout
    data = json.loads(out.read_text())
    assert set(data["rows"]) == {"contact", "company_cold", "company_warm",
                                 "refresh_all_cold", "refresh_all_warm", "auto_link"}
    for key, row in data["rows"].items():
        mine, theirs = row["xerolink"], row["baseline"]
        assert mine["calls"] >= 1 and mine["status_429"] == 0, key
        assert mine["calls"] < theirs["calls"], key
        assert mine["peak_mb"] > 0 and theirs["peak_mb"] > 0
    assert data["rows"]["contact"]["xerolink"]["calls"] <= 2
    assert data["create_invoice"]["calls"] == 1
    assert 0 < data["startup_s"]["help"] < 5


def test_a_workers_peak_memory_is_its_own_not_its_parents() -> None:
    """A worker started by a large runner must report its own peak, not the runner's."""
    ballast = bytearray(200 * 1024 * 1024)  # touched, so resident in this process
    ballast[::4096] = b"x" * len(ballast[::4096])
    result = subprocess.run(
        [sys.executable, "-c", "from benchmarks.worker import peak_mb; print(peak_mb())"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    del ballast
    assert 1 < float(result.stdout) < 150


def test_without_save_the_results_stay_outside_the_tracked_tree() -> None:
    tracked = ROOT / "benchmarks" / "results" / "latest.json"
    before = tracked.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "small", "--latency-ms", "0",
         "--baseline-cap", "1"], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    written = Path(result.stdout.strip().splitlines()[-1].removeprefix("Results: "))
    assert written.exists() and ROOT not in written.parents
    assert tracked.read_bytes() == before

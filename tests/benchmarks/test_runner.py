"""The benchmark runner at a tiny scale, so that it cannot rot (the full run is not
part of the suite: it takes minutes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


TRACKED = ROOT / "benchmarks" / "results" / "latest.json"


@pytest.fixture(scope="module")
def small_run() -> tuple[subprocess.CompletedProcess[str], Path, bytes]:
    """One run of the whole runner at the small scale, without --save, read by the tests
    below (each of its runs takes a minute: the module pays it once)."""
    before = TRACKED.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "small", "--latency-ms", "0",
         "--baseline-cap", "2"], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    written = Path(result.stdout.strip().splitlines()[-1].removeprefix("Results: "))
    return result, written, before


def test_the_runner_measures_both_sides_and_writes_results(small_run) -> None:
    result, written, _ = small_run
    assert "| scenario | xerolink calls | baseline calls |" in result.stdout
    data = json.loads(written.read_text())
    assert set(data["rows"]) == {"contact", "company_cold", "company_warm",
                                 "refresh_all_cold", "refresh_all_warm", "auto_link"}
    for key, row in data["rows"].items():
        mine, theirs = row["xerolink"], row["baseline"]
        assert mine["calls"] >= 1 and mine["status_429"] == 0, key
        assert mine["calls"] < theirs["calls"], key
        assert mine["peak_mb"] > 0 and theirs["peak_mb"] > 0
    # a contact's refresh: its documents' two reads, the paid and credit lists' four
    assert data["rows"]["contact"]["xerolink"]["calls"] <= 2 + 4
    assert data["create_invoice"]["calls"] == 2  # the PUT, and its "Created by" note
    assert 0 < data["startup_s"]["help"] < 5
    # the scale curve: every size, every scenario, each with its floor, both sides
    curve = data["curve"]
    assert [s["contacts"] for s in curve["sizes"]] == [100, 300]
    for size in curve["sizes"]:
        rows = size["rows"]
        assert set(rows) == {"auto_link", "refresh_all_cold", "refresh_all_warm",
                             "company_cold", "company_warm", "crm_list", "cached_summary"}
        for key, row in rows.items():
            assert row["floor"]["calls"] <= row["xerolink"]["calls"], key
            assert row["xerolink"]["store_mb"] > 0, key
            if "baseline" in row:
                assert row["xerolink"]["calls"] < row["baseline"]["calls"], key
        assert rows["crm_list"]["xerolink"]["calls"] == 0
        assert rows["cached_summary"]["xerolink"]["calls"] == 0
        assert rows["refresh_all_warm"]["xerolink"]["calls"] <= \
            4 + size["changed"] // 1000 + 1 + 4  # and the paid and credit lists' four
    warm = curve["warm_path"]
    assert warm["api"]["calls_each"] and all(c <= 2 for c in warm["api"]["calls_each"])
    assert warm["api"]["median_s"] < warm["cli"]["wall"]
    assert "Scale curve (small)" in result.stdout and "Warm path" in result.stdout
    chart = Path(curve["chart"])
    assert chart.exists() and chart.read_bytes()[:4] == b"\x89PNG"


def test_streaming_import_keeps_memory_flat_from_10k_to_100k_records(tmp_path) -> None:
    """``crm import`` streams its file: ten times the records, nearly the same peak
    memory (what grows is the set of ids seen, to refuse duplicates: ~140 bytes a row)."""
    peaks = {}
    for n in (10_000, 100_000):
        csv = tmp_path / f"c{n}.csv"
        with csv.open("w") as f:
            f.write("id,first_name,last_name,email,phone,company_id\n")
            for i in range(n):
                f.write(f"c{i},First{i},Last{i},p{i}@example.com,+64 9 555 {i % 10000:04d},\n")
        out = tmp_path / f"out{n}.json"
        subprocess.run([sys.executable, "-m", "benchmarks.worker", str(out), "xerolink",
                        str(tmp_path / f"home{n}"), "p", "crm", "import", str(csv)],
                       cwd=ROOT, timeout=180, check=True, capture_output=True)
        result = json.loads(out.read_text())
        assert result["exit"] == 0 and result["output"]["imported"] == n
        peaks[n] = result["peak_mb"]
    assert peaks[100_000] - peaks[10_000] < 25, peaks


def test_a_workers_peak_memory_is_its_own_not_its_parents() -> None:
    """A worker started by a large runner must report its own peak, not the runner's."""
    ballast = bytearray(200 * 1024 * 1024)  # touched, so resident in this process
    ballast[::4096] = b"x" * len(ballast[::4096])
    result = subprocess.run(
        [sys.executable, "-c", "from benchmarks.worker import peak_mb; print(peak_mb())"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    del ballast
    assert 1 < float(result.stdout) < 150


def test_without_save_the_results_stay_outside_the_tracked_tree(small_run) -> None:
    _, written, before = small_run
    assert written.exists() and ROOT not in written.parents
    assert TRACKED.read_bytes() == before

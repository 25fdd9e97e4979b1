"""Write tests/durations.json from a JUnit report of a fast-tier run: the tests that took
longer than the limit, which tests/tiers.py then leaves out of the fast tier.

    pytest -m "not e2e" --junitxml=/tmp/fast.xml
    python scripts/tier_durations.py /tmp/fast.xml

Tests already listed stay listed (the file only grows, until it is made afresh with
--fresh): one fast run on a quiet machine must not pull a slow test back in.

With --schedule, write tests/schedule.json instead, from a report of a whole parallel
run as CI makes it: every test that took half a second or more, made afresh each time.
A parallel run deals the longest out first by it (tests/tiers.py, ``spread_longest``).

    PYTEST_ADDOPTS="-n 4 -m 'not serial'" pytest --junitxml=/tmp/all.xml
    PYTEST_ADDOPTS="" pytest -n0 -m serial --junitxml=/tmp/serial.xml
    python scripts/tier_durations.py --schedule /tmp/all.xml /tmp/serial.xml
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "durations.json"
SCHEDULE = ROOT / "tests" / "schedule.json"
SCHEDULE_LIMIT = 0.5  # seconds: shorter tests keep their collected order, after these


def durations(report: Path) -> dict[str, float]:
    found = {}
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 - pytest's own report
        parts = case.get("classname", "").split(".")  # tests.x.test_y, then any classes
        cut = next((n for n in range(len(parts), 0, -1)
                    if (ROOT / "/".join(parts[:n])).with_suffix(".py").is_file()), len(parts))
        nodeid = "::".join(["/".join(parts[:cut]) + ".py", *parts[cut:], case.get("name", "")])
        found[nodeid] = round(float(case.get("time", 0)), 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, nargs="+",
                        help="JUnit reports (with --schedule, the main run's and the serial run's)")
    parser.add_argument("--limit", type=float, default=0.7, help="seconds (default 0.7)")
    parser.add_argument("--fresh", action="store_true", help="forget the tests listed")
    parser.add_argument("--schedule", action="store_true",
                        help="write tests/schedule.json from a whole parallel run")
    args = parser.parse_args()
    if args.schedule:
        timed = {k: v for report in args.report for k, v in durations(report).items()
                 if v >= SCHEDULE_LIMIT}
        SCHEDULE.write_text(json.dumps(dict(sorted(timed.items())), indent=1) + "\n")
        print(f"{len(timed)} tests of {SCHEDULE_LIMIT} s or more in "
              f"{SCHEDULE.relative_to(ROOT)}")
        return
    kept = {} if args.fresh or not TARGET.exists() else json.loads(TARGET.read_text())
    for report in args.report:
        kept.update({k: v for k, v in durations(report).items() if v > args.limit})
    TARGET.write_text(json.dumps(dict(sorted(kept.items())), indent=1) + "\n")
    print(f"{len(kept)} tests over {args.limit} s in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

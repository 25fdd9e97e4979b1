"""Write tests/durations.json from a JUnit report of a fast-tier run: the tests that took
longer than the limit, which tests/tiers.py then leaves out of the fast tier.

    pytest -m "not e2e" --junitxml=/tmp/fast.xml
    python scripts/tier_durations.py /tmp/fast.xml

Tests already listed stay listed (the file only grows, until it is made afresh with
--fresh): one fast run on a quiet machine must not pull a slow test back in.
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "durations.json"


def durations(report: Path) -> dict[str, float]:
    found = {}
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 - pytest's own report
        module = case.get("classname", "").replace(".", "/")
        found[f"{module}.py::{case.get('name')}"] = round(float(case.get("time", 0)), 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--limit", type=float, default=0.7, help="seconds (default 0.7)")
    parser.add_argument("--fresh", action="store_true", help="forget the tests listed")
    args = parser.parse_args()
    kept = {} if args.fresh or not TARGET.exists() else json.loads(TARGET.read_text())
    kept.update({k: v for k, v in durations(args.report).items() if v > args.limit})
    TARGET.write_text(json.dumps(dict(sorted(kept.items())), indent=1) + "\n")
    print(f"{len(kept)} tests over {args.limit} s in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

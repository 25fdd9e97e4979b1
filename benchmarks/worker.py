"""One measured operation in a process of its own: wall time around the operation
(not interpreter start) and the process's peak memory.

    python -m benchmarks.worker OUT.json xerolink HOME PROFILE ARGS...
    python -m benchmarks.worker OUT.json baseline BASE TOKEN TENANT CAP KIND IDS_FILE
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def brief(data: object) -> object:
    """What the command answered, short: scalars kept, lists counted."""
    if isinstance(data, dict):
        return {k: len(v) if isinstance(v, list) else v for k, v in data.items()
                if not isinstance(v, dict)}
    if isinstance(data, list):
        return {"items": len(data)}
    return data


def main() -> None:
    out, side, *rest = sys.argv[1:]
    result: dict = {}
    if side == "xerolink":
        import io
        import os

        from xerolink.cli import main as xerolink
        from xerolink.cli._runtime import Runtime
        from xerolink.render import Renderer

        home, profile, *args = rest
        env = {**os.environ, "XEROLINK_HOME": home, "XEROLINK_PROFILE": profile,
               "XEROLINK_TOKEN_STORE": "file", "XEROLINK_USER": "bench"}
        buffer = io.StringIO()
        runtime = Runtime(env=env, renderer_factory=lambda mode: Renderer(
            mode=mode, stdout=buffer, stderr=io.StringIO()))
        started = time.perf_counter()
        result["exit"] = xerolink([*args, "--json"], runtime=runtime)
        result["wall"] = time.perf_counter() - started
        result["output"] = brief(json.loads(buffer.getvalue())) if buffer.getvalue() else None
    else:
        from benchmarks.baseline import Baseline, Capped

        base, token, tenant, cap, kind, ids_file = rest
        items = json.loads(Path(ids_file).read_text())
        started = time.perf_counter()
        runner = Baseline(base, token, tenant, time.monotonic() + float(cap))
        try:
            result["value"] = (runner.auto_link(items) if kind == "auto_link"
                               else runner.contacts(items))
            result["capped"] = False
        except Capped:
            result["capped"] = True
        result["wall"] = time.perf_counter() - started
        result["exit"] = 0
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

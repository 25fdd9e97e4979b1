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


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    On Linux it is VmHWM, the high-water mark of this process's own memory map.
    ``getrusage``'s ru_maxrss is no good here: a child started with vfork/exec keeps
    the larger of its own peak and its parent's at exec, so every worker would report
    the benchmark runner's size (with the 10,000-contact sandbox in it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, else KiB
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def brief(data: object) -> object:
    """What the command answered, short: scalars kept, lists counted."""
    if isinstance(data, dict):
        return {k: len(v) if isinstance(v, list) else v for k, v in data.items()
                if not isinstance(v, dict)}
    if isinstance(data, list):
        return {"items": len(data)}
    return data


def api_warm(home: str, profile: str, ref: str, runs: str) -> dict[str, object]:
    """A long-running caller: the API opened once, one refresh to warm up (imports,
    token, connection pool), then ``runs`` refreshes of one contact, each timed; and
    one bare round trip to the same server, for comparison."""
    import http.client
    import os
    import statistics
    from urllib.parse import urlsplit

    import xerolink

    env = {**os.environ, "XEROLINK_HOME": home, "XEROLINK_PROFILE": profile,
           "XEROLINK_TOKEN_STORE": "file", "XEROLINK_USER": "bench"}
    with xerolink.open(env=env) as xl:
        xl.refresh(ref)
        times, calls = [], []
        for _ in range(int(runs)):
            before = xl.calls().total
            started = time.perf_counter()
            xl.refresh(ref)
            times.append(time.perf_counter() - started)
            calls.append(xl.calls().total - before)
        connection = xl._wiring.store.active_connection()
        assert connection is not None
        token = xl._wiring.token_manager(connection).access_token()
        base = urlsplit(connection.xero_url or "")
        trips = []
        for _ in range(int(runs)):
            conn = http.client.HTTPConnection(base.hostname or "", base.port, timeout=30)
            started = time.perf_counter()
            conn.request("GET", "/api.xro/2.0/Organisation", headers={
                "Authorization": f"Bearer {token}", "xero-tenant-id": connection.tenant_id})
            conn.getresponse().read()
            trips.append(time.perf_counter() - started)
            conn.close()
    return {"exit": 0, "median_s": statistics.median(times), "times_s": times,
            "calls_each": calls, "rtt_s": statistics.median(trips),
            "wall": statistics.median(times)}


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
    elif side == "api_warm":
        result.update(api_warm(*rest))
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
        result["done"], result["items"] = runner.done, len(items)
        result["wall"] = time.perf_counter() - started
        result["exit"] = 0
    result["peak_mb"] = peak_mb()
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

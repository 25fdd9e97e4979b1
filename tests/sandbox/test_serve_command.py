"""`xerolink sandbox serve` as a user runs it: a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from support import api, sandbox_token


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xerolink", "sandbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_serve_10000_contacts_is_ready_in_10s_and_pages_1000_in_half_a_second() -> None:
    started = time.perf_counter()
    proc = _serve("--contacts", "10000", "--auto-approve")
    try:
        base = proc.stdout.readline().strip()
        ready = time.perf_counter() - started
        assert base.startswith("http://127.0.0.1:")
        assert ready < 10, f"ready after {ready:.1f}s"
        token = sandbox_token(base)
        import json

        from support import request

        _, _, listed = request(base, "GET", "/connections",
                               headers={"Authorization": f"Bearer {token['access_token']}"})
        tenant = json.loads(listed)[0]["tenantId"]
        page_started = time.perf_counter()
        status, _, body = api(base, token, tenant, "GET", "/Contacts?page=3&pageSize=1000")
        elapsed = time.perf_counter() - page_started
        assert status == 200 and len(body["Contacts"]) == 1000
        assert elapsed < 0.5, f"a 1,000-contact page took {elapsed:.2f}s"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never leave a sandbox running past the test
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0


def test_serve_refuses_a_non_loopback_address() -> None:
    proc = _serve("--host", "0.0.0.0")  # noqa: S104 - proving it is refused
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        "error: the sandbox only listens on loopback addresses, not '0.0.0.0'"]
    assert out == ""


def test_serve_json_prints_one_line_with_the_base_url() -> None:
    import json

    proc = _serve("--json", "--contacts", "5")
    try:
        info = json.loads(proc.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert len(info["tenants"]) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)

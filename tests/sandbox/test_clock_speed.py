"""``sandbox serve --clock-speed N``: the sandbox's clock runs N times real time (its
day window, token lifetimes, dates), and ``XEROLINK_CLOCK_SPEED`` (what the sandbox
prints) runs xerolink's clock in step with it: a test and benchmark facility."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from support import api, running_sandbox, sandbox_token
from support import control as sandbox_control
from xerolink.clock import ScaledClock, SystemClock, clock_from_env, real_seconds
from xerolink.errors import UsageError


def test_a_fast_sandbox_clock_runs_its_speed_and_xerolinks_follows_it() -> None:
    with running_sandbox(clock_speed=3600) as server:
        clock = sandbox_control(server.base_url, "GET", "clock")
        assert clock["speed"] == 3600 and clock["offset_seconds"] == 0
        assert clock["xerolink_clock_speed"].startswith("3600@")
        before = server.sandbox.clock.now()
        time.sleep(0.2)
        ran = server.sandbox.clock.now() - before
        assert 600 <= ran <= 0.2 * 3600 * 5, ran  # 0.2 s real: 12 simulated minutes
        mine = clock_from_env({"XEROLINK_CLOCK_SPEED": clock["xerolink_clock_speed"]})
        assert isinstance(mine, ScaledClock)
        theirs = datetime.fromtimestamp(server.sandbox.clock.now(), UTC)
        assert abs((mine.now() - theirs).total_seconds()) < 60  # within 17 ms real
        assert real_seconds(mine, 900) == 0.25 and real_seconds(SystemClock(), 900) == 900


def test_a_fast_clock_expires_access_tokens_in_simulated_time() -> None:
    """1,800 simulated seconds at 3,600 times: half a real second."""
    with running_sandbox(clock_speed=3600) as server:
        token = sandbox_token(server.base_url)
        tenant = next(iter(server.sandbox.tenants))
        assert api(server.base_url, token, tenant, "GET", "/Organisation")[0] == 200
        time.sleep(0.7)
        status, _, body = api(server.base_url, token, tenant, "GET", "/Organisation")
        assert status == 401 and "TokenExpired" in json.dumps(body)


def test_the_sandbox_clock_is_real_time_by_default() -> None:
    with running_sandbox() as server:
        clock = sandbox_control(server.base_url, "GET", "clock")
        assert clock["speed"] == 1
        assert abs(server.sandbox.clock.now() - time.time()) < 1


def test_serve_prints_the_clock_xerolink_needs(tmp_path) -> None:
    errors = (tmp_path / "stderr").open("w")  # a file, not a pipe nobody reads: never full
    proc = subprocess.Popen(
        [sys.executable, "-m", "xerolink", "sandbox", "serve", "--port", "0", "--json",
         "--clock-speed", "1440"], stdout=subprocess.PIPE, stderr=errors, text=True,
        env={**os.environ, "NO_COLOR": "1"})
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        clock = sandbox_control(first["base_url"], "GET", "clock")  # serving by now
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)  # a loaded machine: the stop is not what is tested
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError("serve did not stop on SIGINT: "
                                 + (tmp_path / "stderr").read_text()[-2000:]) from None
        finally:
            errors.close()
    speed, _, origin = first["xerolink_clock_speed"].partition("@")
    assert speed == "1440" and datetime.fromisoformat(origin).tzinfo is not None
    assert clock["speed"] == 1440 and clock["xerolink_clock_speed"] == first[
        "xerolink_clock_speed"]
    assert proc.returncode == 0


@pytest.mark.parametrize("speed", ["0", "-5", "100001", "fast"])
def test_serve_refuses_a_clock_speed_out_of_range(cli, speed) -> None:
    code, _, err = cli("sandbox", "serve", "--port", "0", "--clock-speed", speed)
    assert code == 2 and "--clock-speed" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["1440", "fast@2026-12-01T10:00:00+00:00",
                                   "0@2026-12-01T10:00:00+00:00", "1440@yesterday",
                                   "inf@2026-12-01T10:00:00+00:00"])
def test_a_malformed_xerolink_clock_speed_is_a_usage_error(value) -> None:
    with pytest.raises(UsageError, match="SPEED@ORIGIN"):
        clock_from_env({"XEROLINK_CLOCK_SPEED": value})


def test_a_malformed_clock_speed_exits_2_in_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_CLOCK_SPEED", "much-faster")
    code, _, err = cli("status")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "XEROLINK_CLOCK_SPEED" in err


def test_a_pinned_and_a_running_clock_together_are_refused() -> None:
    with pytest.raises(UsageError, match="set one of them"):
        clock_from_env({"XEROLINK_NOW": "2026-12-01T10:00:00+00:00",
                        "XEROLINK_CLOCK_SPEED": "60@2026-12-01T10:00:00+00:00"})


def test_any_speed_is_described_exactly() -> None:
    from xerolink.sandbox.state import SandboxClock

    for speed in (1, 60, 12345.678901, 99999.5):
        theirs = SandboxClock(speed)
        mine = clock_from_env({"XEROLINK_CLOCK_SPEED": theirs.described})
        assert isinstance(mine, ScaledClock)
        assert mine.speed == theirs.speed
        assert abs(mine.origin - theirs.origin) <= 1e-6  # isoformat's microseconds

"""The backoff between tries of a failed Xero call: growing from a quarter of a second,
doubling, capped at 4 s, each jittered into the upper half of its ceiling so that
processes failing together do not come back together."""

from __future__ import annotations

import random

from xerolink.xero.http import RetryPolicy


def test_pauses_double_from_a_quarter_second_to_a_4_s_cap_in_their_upper_half() -> None:
    slept: list[float] = []
    policy = RetryPolicy(sleep=slept.append, rng=random.Random(3))
    for attempt in range(policy.attempts - 1):
        policy.pause(attempt)
    ceilings = [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert len(slept) == len(ceilings)
    for pause, ceiling in zip(slept, ceilings, strict=True):
        assert ceiling / 2 <= pause <= ceiling, (pause, ceiling)
    assert sum(slept) <= sum(ceilings) <= 12, "a call failing every try gives up in seconds"


def test_the_jitter_differs_between_processes() -> None:
    runs = []
    for seed in (1, 2):
        slept: list[float] = []
        RetryPolicy(sleep=slept.append, rng=random.Random(seed)).pause(4)
        runs.append(slept[0])
    assert runs[0] != runs[1]

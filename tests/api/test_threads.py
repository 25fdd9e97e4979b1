"""One ``Xerolink`` shared by threads: calls are taken one at a time (a lock per
instance), so threads never meet inside the store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import xerolink

THREADS = 6


def _together(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """Run work(i) in count threads released at once; every result or exception."""
    start = threading.Barrier(count, timeout=30)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # kept, and asserted on below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def test_threads_sharing_one_instance_refresh_and_summarise_at_once(linked) -> None:
    with xerolink.open() as xl:
        xl.refresh(linked)  # the organisation's paid and credit lists: read, for a minute
        alone = xl.refresh(linked).xero_calls
        results = _together(lambda i: xl.refresh(linked) if i % 2 else
                            xl.summary(linked, refresh=i % 4 == 0))
        cached = xl.summary(linked)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    refreshed = [r for r in results if type(r).__name__ == "Refreshed"]
    assert len(refreshed) == THREADS // 2 and alone >= 1
    # Each refresh counted only its own calls: no other thread's ran in between.
    assert [r.xero_calls for r in refreshed] == [alone] * len(refreshed)
    assert cached.cached and cached.figures == results[0].figures


def test_a_progress_callback_may_call_the_same_instance(linked) -> None:
    """The lock is re-entrant: a call made from a progress callback, on the calling
    thread, runs at once instead of waiting for itself."""
    seen: list[int] = []
    with xerolink.open() as xl:
        done = _together(lambda _: xl.refresh_all(
            force=True, progress=lambda *_: seen.append(len(xl.links().rows))), count=1)
    assert type(done[0]).__name__ == "Refreshed", done
    assert seen and all(count >= 1 for count in seen)

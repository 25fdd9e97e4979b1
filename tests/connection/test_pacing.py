"""The minute-limit pacer: a run that has used its window waits for the next instead
of sending calls Xero refuses; a 429's Retry-After holds every thread of the run."""

from __future__ import annotations

from xerolink.xero.pacing import MARGIN, MinutePacer


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_used_window_is_waited_out_until_it_ends() -> None:
    clock = Clock()
    pacer = MinutePacer(clock)
    assert pacer.wait_before() == (0.0, 0.0)
    first = pacer.send()
    pacer.answered(first, 59)  # the window's first call: it ends 60 s after it was sent
    for left in range(58, -1, -1):
        clock.t += 0.2
        assert pacer.wait_before()[0] == 0.0
        pacer.answered(pacer.send(), left)
    pause, until = pacer.wait_before()
    assert until == 100.0 + 60 + MARGIN and pause == until - clock.t
    clock.t = until  # waited: the next call goes, and its answer starts the new count
    assert pacer.wait_before(until)[0] == 0.0
    pacer.answered(pacer.send(), 59)
    assert pacer.wait_before()[0] == 0.0


def test_calls_in_flight_count_against_what_is_left() -> None:
    pacer = MinutePacer(Clock())
    pacer.answered(pacer.send(), 3)
    tickets = [pacer.send() for _ in range(3)]  # three sent, not answered yet
    assert pacer.wait_before() == (0.0, 0.0)  # no window end known: Xero will say
    for ticket in tickets:
        pacer.answered(ticket, None)


def test_a_refusal_holds_every_thread_but_not_the_one_that_waited() -> None:
    clock = Clock()
    pacer = MinutePacer(clock)
    until = pacer.refused(7.0)
    assert pacer.wait_before() == (7.0, until)  # any other thread
    assert pacer.wait_before(until) == (0.0, until)  # the refused one, having slept


def test_an_answer_is_counted_once() -> None:
    pacer = MinutePacer(Clock())
    ticket = pacer.send()
    pacer.answered(ticket, 10)
    pacer.answered(ticket, None)  # the call path's `finally`
    assert pacer._in_flight == 0

"""One runner at a time: a CRM pass (pull, push, update) holds the store's lease while
it runs, so two machines of a team, or two terminals of one profile, never write the
same records twice. The others stop at once and say who is running (exit 0: the work is
being done), or wait for it with ``wait``.

The lease expires unless renewed: a heartbeat thread renews it every ``renew_every``
seconds; a runner killed mid-pass stops renewing, and the next pass takes the lease
over once it has expired (team mode; a file lock is dropped by the kernel at once).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from xerolink.errors import ExitCode, XerolinkError
from xerolink.results import Result
from xerolink.store import Store
from xerolink.store.lease import Lease, LeaseAnswer, LeaseHolder

CRM_LEASE = "crm"  # the lease every pass that writes to the CRM takes
TTL_SECONDS = 600.0  # a killed runner's lease is free again after this
RENEW_SECONDS = 60.0  # a running pass pushes its expiry on this often
WAIT_SECONDS = 900.0  # ``--wait`` gives up after this (a pass is minutes, not hours)
POLL_SECONDS = 1.0


class LeaseLostError(XerolinkError):
    """The lease expired under a running pass (its renewals did not reach the store in
    time) and another runner took it."""

    exit_code = ExitCode.STORE_UNREACHABLE


class LeaseBusy(Exception):
    """Another runner holds the lease: nothing was done, and that is not a failure."""

    def __init__(self, holder: LeaseHolder | None, waited: float) -> None:
        super().__init__(busy_message(holder, waited))
        self.result = NotRun(holder, waited)


@dataclass(frozen=True)
class NotRun(Result):
    """A pass that did not run because another holds the lease (``--json``)."""

    holder: LeaseHolder | None
    waited: float

    @property
    def message(self) -> str:
        return busy_message(self.holder, self.waited)

    def to_json(self) -> dict[str, Any]:
        holder = self.holder
        return {"ran": False, "reason": "another pass holds the lease",
                "waited_seconds": int(self.waited),
                "held_by": None if holder is None else {
                    "user": holder.user, "host": holder.host, "pid": holder.pid,
                    "since": holder.since.isoformat(timespec="seconds"),
                    "expires_at": None if holder.expires_at is None
                    else holder.expires_at.isoformat(timespec="seconds")}}


def busy_message(holder: LeaseHolder | None, waited: float) -> str:
    after = f" after waiting {waited:.0f}s" if waited >= 1 else ""
    if holder is None:
        who = "another runner (its details are being written)"
    else:
        who = (f"{holder.user} on {holder.host} (process {holder.pid}) since "
               f"{holder.since.isoformat(timespec='seconds')}")
    hint = "" if waited else "; --wait waits for it"
    return f"another pass is running{after}: {who}; nothing was done{hint}"


@dataclass(frozen=True)
class Me:
    """Who is asking: the user (team mode records the database login whatever this
    says), this machine and this process."""

    user: str
    host: str
    pid: int

    @classmethod
    def here(cls, user: str) -> Me:
        import os

        return cls(user, socket.gethostname(), os.getpid())


class Held:
    """A lease this process holds, renewed by a heartbeat until released."""

    def __init__(self, lease: Lease, holder: LeaseHolder, ttl: float, every: float) -> None:
        self.lease, self.holder = lease, holder
        self.ttl, self.every = ttl, every
        self.lost = False
        self.missed = self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat",
                                        daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                renewed = self.lease.renew(self.ttl)
            except Exception:  # whatever the database said: the next beat tries again
                self.missed += 1
                continue
            if not renewed:
                self.lost = True
                return
            self.renewals += 1

    def check(self) -> None:
        """Between phases: stop if the lease was lost (another runner has it now)."""
        if self.lost:
            raise LeaseLostError("this pass lost its lease (it was not renewed in time, "
                                 "and another runner has taken it); run it again")

    def _start(self) -> None:
        self._thread.start()

    def _end(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@contextlib.contextmanager
def held(store: Store, me: Me, *, name: str = CRM_LEASE, wait: bool = False,
         wait_seconds: float = WAIT_SECONDS, ttl: float = TTL_SECONDS,
         renew_every: float = RENEW_SECONDS,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[Held]:
    """Hold the store's lease ``name`` for the block, or raise ``LeaseBusy`` (at once,
    or after at most ``wait_seconds`` with ``wait``)."""
    lease = store.lease(name)
    try:
        answer, waited = _take(lease, me, ttl, wait_seconds if wait else 0.0, sleep)
        if not answer.taken or answer.holder is None:
            raise LeaseBusy(answer.holder, waited)
        holding = Held(lease, answer.holder, ttl, renew_every)
        holding._start()
        try:
            yield holding
        finally:
            holding._end()
            with contextlib.suppress(XerolinkError):  # unreachable now: it expires anyway
                lease.release()
    finally:
        with contextlib.suppress(XerolinkError):
            lease.close()


def _take(lease: Lease, me: Me, ttl: float, wait_seconds: float,
          sleep: Callable[[float], None]) -> tuple[LeaseAnswer, float]:
    """Try once, then (waiting) every second until taken or the wait is over."""
    started = time.monotonic()
    deadline = started + wait_seconds
    while True:
        answer = lease.take(me.user, me.host, me.pid, ttl)
        now = time.monotonic()
        if answer.taken or now >= deadline:
            return answer, (now - started) if wait_seconds else 0.0
        sleep(min(POLL_SECONDS, deadline - now))

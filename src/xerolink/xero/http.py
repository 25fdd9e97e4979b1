"""HTTP plumbing shared by the OAuth client and the accounting gateway: one urllib3
pool with no hidden retries (every retry is ours, bounded and counted), and the
backoff policy."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_IN_FLIGHT = 5
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0
Timeouts = tuple[float, float]  # (connect, read) seconds


def pool_manager(maxsize: int = MAX_IN_FLIGHT,
                 timeout: Timeouts = (CONNECT_TIMEOUT, READ_TIMEOUT)) -> Any:
    import certifi
    import urllib3

    return urllib3.PoolManager(
        num_pools=4,
        maxsize=maxsize,
        block=True,  # never more than maxsize connections to one host
        retries=False,
        timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
    )


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with jitter: at most ``attempts`` tries in all."""

    attempts: int = 7
    # A call that timed out is tried once more, not ``attempts`` times: with the
    # default timeouts a silent server is given up on in about two minutes.
    timeout_attempts: int = 2
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def pause(self, attempt: int) -> None:
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        self.sleep(ceiling * (0.5 + self.rng.random() / 2))


def is_timeout(exc: BaseException) -> bool:
    import socket

    import urllib3

    return isinstance(exc, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError)


def transport_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean: no (complete) answer arrived."""
    import urllib3

    return (urllib3.exceptions.HTTPError, OSError)

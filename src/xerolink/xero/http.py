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


def pool_manager(maxsize: int = MAX_IN_FLIGHT) -> Any:
    import certifi
    import urllib3

    return urllib3.PoolManager(
        num_pools=4,
        maxsize=maxsize,
        block=True,  # never more than maxsize connections to one host
        retries=False,
        timeout=urllib3.Timeout(connect=10.0, read=60.0),
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
    )


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with jitter: at most ``attempts`` tries in all."""

    attempts: int = 7
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def pause(self, attempt: int) -> None:
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        self.sleep(ceiling * (0.5 + self.rng.random() / 2))


def transport_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean: no (complete) answer arrived."""
    import urllib3

    return (urllib3.exceptions.HTTPError, OSError)

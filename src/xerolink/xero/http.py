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
    """The server took too long. Not a refused connection: urllib3's
    NewConnectionError (refused, no such host) subclasses ConnectTimeoutError, but
    nothing timed out, so "raise read_timeout" would be the wrong advice."""
    import socket

    import urllib3

    if connection_failure(exc) is not None:
        return False
    return isinstance(exc, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError)


def connection_failure(exc: BaseException) -> str | None:
    """What went wrong when no connection could be made, and where ("nothing is
    listening at 127.0.0.1:8080 (connection refused)"); None for other failures."""
    import urllib3

    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (nothing is listening there)"
    if not isinstance(exc, urllib3.exceptions.NewConnectionError):
        return None
    conn = getattr(exc, "conn", None)
    host, port = getattr(conn, "host", None), getattr(conn, "port", None)
    where = f"{host}:{port}" if host and port else (str(host) if host else "the server")
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return f"the host {host or 'named'} could not be found (DNS)"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing is listening at {where} (the connection was refused)"
    reason = getattr(cause, "strerror", None) or type(cause or exc).__name__
    return f"no connection could be made to {where} ({reason})"


def transport_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean: no (complete) answer arrived."""
    import urllib3

    return (urllib3.exceptions.HTTPError, OSError)

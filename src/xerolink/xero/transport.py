"""How every Xero call is made: ``Transport.call``.

Built on xero-python (it builds the requests) with xerolink's own transport rules:
at most 5 requests in flight, each with a connect and a read timeout; GETs, and
writes that carry an Idempotency-Key, retried on 5xx and dropped connections with
bounded backoff; 429s honoured as Xero sends them (a minute limit's Retry-After
waited out if it is no longer than ``max_wait``, a few windows at most; the
concurrent limit, which has no Retry-After, retried after short growing pauses; the
day limit failing fast); a 401 refreshes the
token once unless Xero says the scope is missing; URLs kept under Xero's length
limit; rate-limit headers and bytes downloaded recorded; Xero's refusals turned into
one readable line whatever their body (JSON, XML, an HTML page, nothing), with the
status read from the HTTP response. Every behaviour relied on here has its source in
docs/xero-fidelity.md.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from xerolink.clock import Clock, SystemClock
from xerolink.errors import (
    NotConnectedError,
    NotFoundError,
    XeroRefusedError,
    XeroUnreachableError,
)
from xerolink.redact import Secret
from xerolink.xero.answers import (
    CallLog,
    EndpointUnavailable,
    ScopeMissing,
    TokenProvider,
    UriTooLong,
    header,
    http_status,
    problem_detail,
    refusal_reason,
)
from xerolink.xero.endpoints import Endpoints
from xerolink.xero.http import (
    CONNECT_TIMEOUT,
    MAX_IN_FLIGHT,
    READ_TIMEOUT,
    RetryPolicy,
    connection_failure,
    is_timeout,
    pool_manager,
    transport_errors,
)
from xerolink.xero.jsonutil import MalformedAnswer, loads, text
from xerolink.xero.pacing import MARGIN, MinutePacer, Ticket, Waits, retry_after_seconds

# Xero answers a URL longer than about 2,048 characters with a plain-text 404; stay
# well under it (docs/xero-fidelity.md).
MAX_URL = 2000
_URL_RESERVE = 220  # the path and every other parameter of an id-list request
ID_CHARS = 39  # a GUID and a URL-encoded comma (%2C)
# The concurrent limit's 429 has no Retry-After: short growing pauses instead.
BUSY_FIRST_PAUSE, BUSY_MAX_PAUSE, BUSY_MAX_TRIES = 0.1, 1.0, 40
# Waits for a minute window per call: more than one when other processes share it.
MAX_WINDOW_WAITS = 5
UNIT_DP = 4  # unit amounts to four decimal places, as xerolink accepts them
# How long Xero is trusted to remember an Idempotency-Key: undocumented (third-party
# notes say minutes), so the stricter reading (docs/xero-fidelity.md).
IDEMPOTENCY_WINDOW = timedelta(minutes=5)


class _BearerAuth:
    """Plugged into xero-python's configuration: the SDK asks it for the header of each
    request; the token is the one this thread obtained from the TokenProvider."""

    def __init__(self) -> None:
        self.local = threading.local()

    def get_auth_settings(self) -> Callable[[Any], dict[str, str]]:
        def settings(api_client: Any) -> dict[str, str]:
            return {"type": "oauth2", "in": "header", "key": "Authorization",
                    "value": f"Bearer {self.local.token.reveal()}"}

        return settings



class Transport:
    """One Xero organisation's calls: the transport rules, not the resources."""

    def __init__(
        self,
        endpoints: Endpoints,
        tokens: TokenProvider,
        *,
        tenant_id: str | None = None,
        max_wait: float = 60.0,
        notice: Callable[[str], None] = lambda _text: None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: Any = None,
        scopes: str | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        clock: Clock | None = None,
        pacer: MinutePacer | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.endpoints = endpoints
        self.scopes = scopes  # what the connection was granted, for advice on a 401
        self.timeout = timeout
        self.tokens = tokens
        self.tenant_id = tenant_id
        self.max_wait = max_wait
        self.notice = notice
        self.retry = retry or RetryPolicy(sleep=sleep)
        self.sleep = sleep
        self.log = CallLog()
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._pacer = pacer or MinutePacer()  # shared by this run's threads
        self._auth = _BearerAuth()
        self._http = http
        self._client: Any = None

    # -- SDK wiring --------------------------------------------------------------
    @property
    def raw(self) -> dict[str, Any]:
        """Arguments for every SDK call: the answer unparsed (xerolink parses it, as
        Decimal), and a connect and a read timeout. xero-python otherwise passes
        ``timeout=None`` to urllib3, overriding the pool's timeouts: a silent server
        would hold a call forever."""
        return {"_preload_content": False, "_request_timeout": self.timeout}

    def _api_client(self) -> Any:
        if self._client is None:
            from xero_python.api_client import ApiClient, Configuration

            configuration = Configuration()
            configuration.oauth2_token = self._auth  # xerolink owns the token
            client = ApiClient(configuration, pool_threads=1)
            client.rest_client.pool_manager = self._http or pool_manager(timeout=self.timeout)
            client.user_agent = "xerolink"
            self._client = client
        return self._client

    def accounting_api(self) -> Any:
        from xero_python.accounting import AccountingApi

        return AccountingApi(self._api_client(), base_url=self.endpoints.accounting)

    def identity_api(self) -> Any:
        from xero_python.identity import IdentityApi

        return IdentityApi(self._api_client(), base_url=self.endpoints.identity)

    # -- the one call path ----------------------------------------------------------
    def call(self, label: str, invoke: Callable[[], Any], *, idempotent: bool,
             many_ids: bool = False, raw_answer: bool = False) -> Any:
        """Run one SDK call (made with ``**self.raw``) and return parsed JSON.

        ``idempotent``: safe to send again (a GET, or a write with an Idempotency-Key).
        ``many_ids``: the URL carries a list of several ids, so a 400, 404 or 414 means
        "too long" (Xero's answer past about 2,048 characters), not "no such record".
        ``raw_answer``: return the answer's bytes unparsed (a PDF), not JSON.
        """
        from xero_python.exceptions import ApiException

        attempt, reauthorised, timeouts = 0, False, 0
        waits = Waits()
        while True:
            token = self.tokens.access_token()
            self._auth.local.token = Secret(token)  # never shown by a repr
            self._pace(label, waits)
            ticket = self._pacer.send()
            try:
                body, headers = self._send(label, invoke)
                self._note_limits(headers, body, ticket)
                return bytes(body or b"") if raw_answer else loads(body)
            except ApiException as exc:
                self._note_limits(exc.headers or {}, exc.body, ticket)
                status = http_status(exc)
                if status == 401 and self._reauthorise(label, exc.body, token, reauthorised):
                    reauthorised = True
                    continue
                if status == 429:
                    self._wait_for_limit(exc.headers or {}, label, waits)
                    continue
                if status >= 500 and idempotent and attempt + 1 < self.retry.attempts:
                    attempt = self._backoff(attempt)
                    continue
                raise self._refusal(status, exc.body or b"", label, many_ids) from None
            except UnicodeDecodeError:
                # xero-python's identity API reads a 400's body as UTF-8 text (to spot
                # invalid_grant) before xerolink sees the answer.
                raise XeroRefusedError(f"Xero refused {label}: HTTP 400 with an answer that "
                                       "is not UTF-8 text") from None
            except MalformedAnswer as exc:
                if idempotent and attempt + 1 < self.retry.attempts:
                    attempt = self._backoff(attempt)
                    continue
                raise XeroUnreachableError(
                    f"Xero's answer to {label} could not be read ({exc}); try again") from None
            except transport_errors() as exc:
                failure = connection_failure(exc)
                timed_out = failure is None and is_timeout(exc)
                # A timeout, or no connection at all, is tried once more, not 7 times.
                timeouts += timed_out or failure is not None
                if idempotent and attempt + 1 < self.retry.attempts and \
                        timeouts < self.retry.timeout_attempts:
                    attempt = self._backoff(attempt)
                    continue
                raise self._unreachable(label, exc, failure, timed_out,
                                        attempt + 1) from None
            finally:
                self._pacer.answered(ticket, None)  # no-op once answered with its count

    def _send(self, label: str, invoke: Callable[[], Any]) -> tuple[Any, Any]:
        """One request within the in-flight slots, counted: its body and headers."""
        with self._slots:
            with self.log.lock:
                self.log.calls[label] += 1
            response = invoke()
            body, headers = response.data, response.headers
            response.release_conn()
        return body, headers

    def _reauthorise(self, label: str, body: Any, token: str, already: bool) -> bool:
        """After a 401: a missing scope is final; an expired or refused token is
        replaced once (TokenExpired, AuthenticationUnsuccessful)."""
        if "AuthorizationUnsuccessful" in problem_detail(body):
            raise self._scope_missing(label) from None
        if already:
            return False
        self.tokens.access_token(rejected=token)
        return True

    def _unreachable(self, label: str, exc: BaseException, failure: str | None,
                     timed_out: bool, tries: int) -> XeroUnreachableError:
        counted = f"{tries} {'try' if tries == 1 else 'tries'}"
        if failure is not None:
            return XeroUnreachableError(
                f"Xero could not be reached for {label}: {failure}, {counted}; check the "
                "Xero URL (`xerolink status` shows it) and that the server there is running")
        if timed_out:
            return XeroUnreachableError(
                f"Xero did not answer {label} within {self.timeout[1]:g} s ({counted}); "
                "check the network, or raise read_timeout with `xerolink config set "
                "read_timeout SECONDS`")
        return XeroUnreachableError(
            f"Xero could not be reached for {label} ({type(exc).__name__}) after {counted}; "
            "check the network and try again")

    def _backoff(self, attempt: int) -> int:
        with self.log.lock:
            self.log.retries += 1
        self.retry.pause(attempt)
        return attempt + 1

    def _pace(self, label: str, waits: Waits) -> None:
        """Wait, if the run's minute window is used up or a 429 holds every thread."""
        pause, until = self._pacer.wait_before(waits.cleared)
        if pause <= 0:
            return
        # The pacer waits MARGIN past the window's expected end; that margin is ours,
        # not Xero's, so it does not count against --max-wait.
        self._check_window_wait(label, pause - MARGIN, waits)
        if pause >= 1:
            self.notice(f"Xero's minute rate limit is used for now; waiting "
                        f"{math.ceil(pause)} s before {label}")
        self._sleep_for_limit(pause)
        waits.cleared = until

    def _wait_for_limit(self, headers: Any, label: str, waits: Waits) -> None:
        """Sleep as a 429 asks: its Retry-After (minute, app-minute), short growing
        pauses (concurrent: no Retry-After), or fail at once (day)."""
        problem = text(header(headers, "X-Rate-Limit-Problem")).lower()
        retry_after = retry_after_seconds(headers)
        if problem == "day":
            seconds = retry_after if retry_after is not None else 86400.0
            resets = self.clock.now() + timedelta(seconds=seconds)
            hours, minutes = divmod(int(seconds) // 60, 60)
            raise XeroRefusedError(
                f"Xero's daily call limit for this organisation is used up; it resets in "
                f"about {hours} h {minutes} min (at {resets:%Y-%m-%d %H:%M} UTC)")
        if retry_after is None:
            # The concurrent limit (Xero sends no Retry-After with it): another
            # process holds the slots; they free within a round trip or so.
            waits.busy += 1
            pause = min(BUSY_MAX_PAUSE, BUSY_FIRST_PAUSE * (1.5 ** (waits.busy - 1)))
            pause *= 0.5 + self.retry.rng.random() / 2
            if waits.busy > BUSY_MAX_TRIES or waits.busy_seconds + pause > self.max_wait:
                raise XeroRefusedError(
                    f"Xero kept answering that too many calls to this organisation are in "
                    f"flight ({waits.busy} tries for {label}); try again shortly")
            waits.busy_seconds += pause
        else:
            pause = max(1.0, retry_after)
            self._check_window_wait(label, pause, waits, problem or "minute")
            self.notice(f"Xero's {problem or 'minute'} rate limit reached during {label}; "
                        f"waiting {math.ceil(pause)} s")
            waits.cleared = self._pacer.refused(pause)  # every thread of this run waits
        self._sleep_for_limit(pause)

    def _check_window_wait(self, label: str, needed: float, waits: Waits,
                           problem: str = "minute") -> None:
        """``--max-wait`` bounds each wait for a rate-limit window, not their sum: a
        window other processes share may need waiting for more than once, up to
        ``MAX_WINDOW_WAITS`` times a call."""
        if needed > self.max_wait:
            raise XeroRefusedError(
                f"Xero's {problem} rate limit is reached and the wait for it, "
                f"{math.ceil(needed)} s, would pass --max-wait ({self.max_wait:g} s); "
                "try again shortly, or allow a longer wait with --max-wait")
        waits.windows += 1
        if waits.windows > MAX_WINDOW_WAITS:
            raise XeroRefusedError(
                f"Xero's {problem} rate limit stayed used up through {MAX_WINDOW_WAITS} "
                f"waits for {label} (other processes are using this organisation's "
                "allowance); try again shortly")

    def _sleep_for_limit(self, pause: float) -> None:
        self.sleep(pause)
        with self.log.lock:
            self.log.waited_seconds += pause

    def _scope_missing(self, label: str) -> ScopeMissing:
        from xerolink.xero.scopes import broad_equivalent, needed_for, with_scope

        needed = needed_for(label)
        if needed is None:
            return ScopeMissing(f"Xero refused {label}: this connection is not authorised "
                                "for it (AuthorizationUnsuccessful); an admin can run "
                                "`xerolink connect` again", None)
        broad = broad_equivalent(needed)
        also = f" (or {broad} on apps created before March 2026)" if broad else ""
        return ScopeMissing(
            f"this connection lacks the {needed} scope that {label} needs{also}; an admin "
            f"can grant it with: xerolink connect --scopes \"{with_scope(self.scopes, needed)}\"",
            needed)

    def _note_limits(self, headers: Any, body: Any, ticket: Ticket) -> None:
        minute = header(headers, "X-MinLimit-Remaining")
        self._pacer.answered(ticket, int(minute) if minute is not None
                             and str(minute).isdigit() else None)
        if body:
            with self.log.lock:
                self.log.bytes_in += len(body)
        date = header(headers, "Date")
        if date:
            with self.log.lock:
                self.log.server_date = str(date)
                self.log.server_date_seen_at = self.clock.now()
        seen: dict[str, Any] = {}
        for name, key in (("X-MinLimit-Remaining", "minute_remaining"),
                          ("X-DayLimit-Remaining", "day_remaining"),
                          ("X-AppMinLimit-Remaining", "app_minute_remaining")):
            value = header(headers, name)
            if value is not None and str(value).isdigit():
                seen[key] = int(value)
        if seen:
            seen["seen_at"] = self.clock.now().isoformat(timespec="seconds")
            with self.log.lock:
                # Calls in flight together answer in any order; within one run the
                # smallest day remainder is the current one.
                before = self.log.limits.get("day_remaining")
                if before is not None and "day_remaining" in seen:
                    seen["day_remaining"] = min(before, seen["day_remaining"])
                self.log.limits = seen

    @staticmethod
    def _refusal(status: int, body: bytes, label: str, many_ids: bool) -> Exception:
        if many_ids and status in (400, 404, 414):
            return UriTooLong(f"Xero refused {label}: the request URL is too long")
        if status == 404 and "{id}" not in label:
            return EndpointUnavailable(f"this Xero server does not serve {label}")
        if status == 401:
            return NotConnectedError("Xero rejected the connection's token; run "
                                     "`xerolink connect`")
        if status == 403:
            return NotConnectedError("Xero says this organisation is no longer connected to "
                                     "the app; run `xerolink connect`")
        if status == 404:
            return NotFoundError(f"{label}: Xero has no such record")
        if status == 414:
            return UriTooLong(f"Xero refused {label}: the request URL is too long")
        if status >= 500:
            return XeroUnreachableError(f"Xero kept failing ({status}) for {label}; try again")
        return XeroRefusedError(f"Xero refused {label}: {refusal_reason(body, status)}")

    @property
    def id_batch_size(self) -> int:
        return id_batch_size(self.endpoints.base_url)

    def _tenant(self) -> str:
        if not self.tenant_id:
            raise NotConnectedError("no Xero organisation is chosen; run `xerolink connect`")
        return self.tenant_id

    @staticmethod
    def new_idempotency_key() -> str:
        return str(uuid.uuid4())



def id_batch_size(xero_url: str | None) -> int:
    """How many GUIDs one id-list request may carry and keep its URL within
    ``MAX_URL``: 45 against api.xero.com."""
    budget = MAX_URL - len(Endpoints.at(xero_url).accounting) - _URL_RESERVE
    return max(1, budget // ID_CHARS)



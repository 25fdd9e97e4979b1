"""``crm update`` and its service (``--watch``), and the service's state in ``status``:
the part of ``Xerolink`` that runs passes over both sides."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xerolink.services.crmconnection import PULLED_FROM, REFUSED_FIELDS

if TYPE_CHECKING:
    from xerolink.api.crm import CrmSide
    from xerolink.api.wiring import Wiring
    from xerolink.services.crmupdate import UpdateReport
    from xerolink.services.watch import ServiceState, Signals
    from xerolink.store import Store
    from xerolink.webhooks import ReceiverHandle

LogLine = Callable[[dict[str, Any]], None]


class CrmService:
    """One pass (``crm_update``), the service (``crm_watch``), and its state."""

    def __init__(self, wiring: Wiring, crm: CrmSide) -> None:
        self._w = wiring
        self._crm = crm

    def crm_update(self, *, link: bool = True, dry_run: bool = False,
                   force: bool = False, wait: bool = False,
                   webhook_events: bool = False) -> UpdateReport:
        """One pass: pull the CRM's changes, link new contacts by email (``link``),
        refresh what changed in Xero, push the fields whose value changed (admins).
        ``dry_run`` writes nothing anywhere (and takes no lease); ``force`` starts past
        the day's budget; ``wait``: wait for another runner's pass to end;
        ``webhook_events``: first re-read what the stored webhook events name."""
        from xerolink.services import crmupdate

        deps = self._check_may_update()
        source = self._crm.crm_source()
        try:
            lease = crmupdate.no_lease if dry_run else (lambda: self._pass_lease(wait))
            parts = crmupdate.Parts(source, self._crm._push_mapping(source.name),
                                    self._crm._pushed_fields(source.name), lease=lease,
                                    webhook_events=webhook_events)
            report = crmupdate.run(deps, parts, dry_run=dry_run, link=link, force=force)
            if not dry_run:
                self._remember_source(source)
            return report
        finally:
            source.close()
            self._w.settle_gateways()

    def crm_watch(self, *, every: str | float = "15m", budget: str | None = "50%",
                  link: bool = True, signals: Signals | None = None,
                  log: LogLine | None = None, wait: Callable[[float], bool] | None = None,
                  max_passes: int | None = None, webhooks: str | None = None) -> None:
        """Run passes until ``signals.stop`` is set (returns) or an error no wait can
        fix (raised). ``every``: ``"15m"``, ``"30s"``, ``"1h"`` or seconds; ``budget``:
        the share of the day's Xero calls left that the service may use (``"50%"``;
        None: no planning). ``signals.wake`` set starts the next pass at once. ``log``
        gets one record a pass; ``wait`` (tests) replaces the wait on ``wake``.
        ``webhooks``: ``"HOST:PORT"`` (loopback) to run Xero's webhook receiver there
        for as long as the service runs: a delivery stored wakes the loop, and each
        pass first re-reads what the stored events name."""
        from xerolink.services import watch

        seconds, share = watch.interval(every), watch.share(budget)
        listen = listen_address(webhooks) if webhooks is not None else None
        key = self._webhook_key() if listen is not None else None
        signals = signals or watch.Signals()
        schedule = watch.Schedule(seconds, share, self._w.clock.now,
                                  wait or self._waiter(signals, settle=key is not None))
        self._check_may_update()  # before the first pass, what no pass can fix
        receiver = (self._start_receiver(listen, key, signals)
                    if listen is not None and key is not None else None)

        def record(entry: dict[str, Any]) -> None:
            self._record_service(entry, receiver)
            if log is not None:
                log(entry)

        try:
            watch.watch(lambda: self._watched_pass(link, receiver is not None), schedule,
                        signals, log=record, max_passes=max_passes or watch.MAX_PASSES)
        finally:
            if receiver is not None:
                receiver.stop()
                self._record_receiver(receiver)

    def service_state(self) -> ServiceState:
        """The service's last pass, its next, and how far behind Xero the CRM is."""
        from xerolink.services.watch import service_state

        return service_state(self._w.store, self._w.clock.now())

    # -- plumbing -------------------------------------------------------------------
    def _check_may_update(self) -> Any:
        """An admin, a connection and a CRM source: the pass's deps."""
        from xerolink.services.access import require_admin

        require_admin(self._w.store, self._w.user)
        if self._crm._source_setting() is None:
            self._crm.crm_source()  # raises NotConnectedError with what to do
        return self._w.deps()

    def _pass_lease(self, wait: bool = False) -> AbstractContextManager[object]:
        """The lease a pass runs under: the store's CRM lease, one runner per
        organisation (per profile on SQLite), the one crm pull and crm push take."""
        taken: AbstractContextManager[object] = self._crm.crm_lease(wait=wait)
        return taken

    def _waiter(self, signals: Signals, *, settle: bool) -> Callable[[float], bool]:
        """The wait between passes: until the interval ends or ``wake`` is set; with a
        receiver, a short settle after a wake-up so that nearby deliveries share one
        re-read. The interval is on the service's clock, which a test or benchmark may
        run fast (XEROLINK_CLOCK_SPEED): the wait lasts what it is in real time; the
        settle is real time, as deliveries arrive in it."""
        from xerolink.clock import real_seconds
        from xerolink.services.webhooks import SETTLE_SECONDS

        def wait(seconds: float) -> bool:
            woken = signals.wake.wait(real_seconds(self._w.clock, seconds))
            if woken and settle:
                signals.stop.wait(SETTLE_SECONDS)
            return woken

        return wait

    def _webhook_key(self) -> str:
        from xerolink.errors import UsageError
        from xerolink.redact import register_secret
        from xerolink.webhooks import webhook_key

        key = webhook_key(self._w.env, self._w.token_store)
        if key is None:
            raise UsageError("--webhooks needs Xero's webhook key: set XEROLINK_WEBHOOK_KEY "
                             "or save it with `xerolink webhooks key --stdin`")
        register_secret(key)
        return key

    def _start_receiver(self, listen: tuple[str, int], key: str, signals: Signals
                        ) -> Receiving:
        """The receiver on its own store connection (a SQLite connection is not shared
        between the loop's transactions and the receiver's threads)."""
        from xerolink.errors import UsageError
        from xerolink.webhooks import start_receiver

        store = self._w.open_store(migrate=False)
        try:
            handle = start_receiver(*listen, key, store, signals.wake, now=self._w.clock.now)
        except ValueError as exc:
            store.close()
            raise UsageError(f"--webhooks: {exc}") from None
        except OSError as exc:
            store.close()
            raise UsageError(f"--webhooks: cannot listen on {_address(listen)}: "
                             f"{exc.strerror or exc}") from None
        receiving = Receiving(handle, store, _address((handle.host, handle.port)))
        self._record_receiver(receiving, running=True)
        return receiving

    def _record_receiver(self, receiving: Receiving, *, running: bool = False) -> None:
        from xerolink.services.watch import SERVICE

        state = self._service_setting()
        state["webhooks"] = receiving.as_json(running=running, at=self._w.clock.now())
        self._w.store.set_setting(SERVICE, json.dumps(state))

    def _service_setting(self) -> dict[str, Any]:
        from xerolink.services.watch import SERVICE

        try:
            state = json.loads(self._w.store.get_setting(SERVICE) or "{}")
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    def _watched_pass(self, link: bool, webhook_events: bool = False) -> Any:
        from xerolink.services import budget, crmupdate, watch

        try:
            report = self.crm_update(link=link, webhook_events=webhook_events)
        except Exception as exc:
            held = held_elsewhere(exc)
            if held is None:
                raise
            report = None
        now = self._w.clock.now()
        connection = self._w.store.active_connection()
        left = budget.day_remainder(connection, now) if connection else None
        remaining = left.calls if left else None
        if report is None:  # another runner's pass: nothing to do until the next
            return watch.PassResult({"outcome": "skipped", "held_by": held}, 0, 0, remaining)
        deps = self._w.deps()
        return watch.PassResult(_log_fields(report), report.xero_calls,
                                crmupdate.estimate(deps, link=link, settled=report.settled),
                                remaining)

    def _record_service(self, entry: dict[str, Any], receiving: Receiving | None = None
                        ) -> None:
        from xerolink.services.watch import SERVICE

        state = self._service_setting()
        state["last"] = entry
        if entry.get("outcome") == "ok":
            state["last_ok_at"] = entry.get("at")
        if receiving is not None:
            state["webhooks"] = receiving.as_json(running=True, at=self._w.clock.now())
        else:
            state.pop("webhooks", None)  # a service without a receiver has no health
        self._w.store.set_setting(SERVICE, json.dumps(state))

    def _remember_source(self, source: Any) -> None:
        self._w.store.set_setting(f"{PULLED_FROM}.{source.name}", source.account)
        refused = getattr(source, "refused_fields", None)
        if refused:
            self._w.store.set_setting(f"{REFUSED_FIELDS}.{source.name}",
                                   json.dumps(sorted(refused)))


@dataclass
class Receiving:
    """The service's webhook receiver: its handle, its own store, where it listens."""

    handle: ReceiverHandle
    store: Store
    listen: str

    def as_json(self, *, running: bool, at: datetime) -> dict[str, Any]:
        return {"listen": self.listen, "running": running,
                "as_of": at.isoformat(timespec="seconds"), **self.handle.health.as_json()}

    def stop(self) -> None:
        try:
            self.handle.stop()
        finally:
            self.store.close()


def listen_address(text: str) -> tuple[str, int]:
    """``--webhooks HOST:PORT`` (``[::1]:8099`` for IPv6) -> (host, port)."""
    from xerolink.errors import UsageError

    host, _, port = str(text).strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"invalid --webhooks {str(text)[:40]!r}: HOST:PORT, e.g. "
                         "127.0.0.1:8099")
    return host, int(port)


def _address(listen: tuple[str, int]) -> str:
    host, port = listen
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def held_elsewhere(exc: BaseException) -> Any:
    """The lease's ``LeaseBusy`` (another runner holds the organisation's lease): its
    ``NotRun`` result's JSON; None for any other exception."""
    from xerolink.services.lease import LeaseBusy

    return exc.result.to_json() if isinstance(exc, LeaseBusy) else None


def _log_fields(report: UpdateReport) -> dict[str, Any]:
    return {"milliseconds": round(report.seconds * 1000), "xero_calls": report.xero_calls,
            "crm_calls": report.crm_calls, "fields_written": report.fields_written,
            "refused": len(report.refused), **_events_processed(report),
            "phases": {p.name: p.skipped or f"{p.xero_calls + p.crm_calls} calls"
                       for p in report.phases}}



def _events_processed(report: UpdateReport) -> dict[str, Any]:
    """``{"events": n}`` when the pass drained webhook events (a receiver runs)."""
    drained = [p for p in report.phases if p.name == "events"]
    return {"events": drained[0].read} if drained else {}

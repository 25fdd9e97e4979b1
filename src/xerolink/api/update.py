"""``crm update`` and its service (``--watch``) on ``Xerolink``, and the service's state
in ``status``."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from xerolink.api.crm import PULLED_FROM, REFUSED_FIELDS, CrmSourceApi

if TYPE_CHECKING:
    from xerolink.services.connection import StatusReport
    from xerolink.services.crmupdate import UpdateReport
    from xerolink.services.watch import ServiceState, Signals

SERVICE = "crm.update.service"  # the store setting holding the service's last pass
LogLine = Callable[[dict[str, Any]], None]


class CrmUpdateApi(CrmSourceApi):
    """One pass (``crm_update``), the service (``crm_watch``), and its state."""

    def status(self, *, offline: bool = False) -> StatusReport:
        report = super().status(offline=offline)
        report.service = self.service_state()
        return report

    def crm_update(self, *, link: bool = True, dry_run: bool = False,
                   force: bool = False, wait: bool = False) -> UpdateReport:
        """One pass: pull the CRM's changes, link new contacts by email (``link``),
        refresh what changed in Xero, push the fields whose value changed (admins).
        ``dry_run`` writes nothing anywhere (and takes no lease); ``force`` starts past
        the day's budget; ``wait``: wait for another runner's pass to end."""
        from xerolink.services import crmupdate

        deps = self._check_may_update()
        source = self.crm_source()
        try:
            lease = crmupdate.no_lease if dry_run else (lambda: self._pass_lease(wait))
            parts = crmupdate.Parts(source, self._push_mapping(source.name),
                                    self._pushed_fields(source.name), lease=lease)
            report = crmupdate.run(deps, parts, dry_run=dry_run, link=link, force=force)
            if not dry_run:
                self._remember_source(source)
            return report
        finally:
            source.close()
            self._settle_gateways()

    def crm_watch(self, *, every: str | float = "15m", budget: str | None = "50%",
                  link: bool = True, signals: Signals | None = None,
                  log: LogLine | None = None, wait: Callable[[float], bool] | None = None,
                  max_passes: int | None = None) -> None:
        """Run passes until ``signals.stop`` is set (returns) or an error no wait can
        fix (raised). ``every``: ``"15m"``, ``"30s"``, ``"1h"`` or seconds; ``budget``:
        the share of the day's Xero calls left that the service may use (``"50%"``;
        None: no planning). ``signals.wake`` set starts the next pass at once. ``log``
        gets one record a pass; ``wait`` (tests) replaces the wait on ``wake``."""
        from xerolink.services import watch

        seconds, share = watch.interval(every), watch.share(budget)
        signals = signals or watch.Signals()
        schedule = watch.Schedule(seconds, share, self.clock.now,
                                  wait or (lambda s: signals.wake.wait(s)))
        self._check_may_update()  # before the first pass, what no pass can fix

        def record(entry: dict[str, Any]) -> None:
            self._record_service(entry)
            if log is not None:
                log(entry)

        watch.watch(lambda: self._watched_pass(link), schedule, signals, log=record,
                    max_passes=max_passes or watch.MAX_PASSES)

    def service_state(self) -> ServiceState:
        """The service's last pass, its next, and how far behind Xero the CRM is."""
        from xerolink.services.watch import ServiceState

        try:
            state = json.loads(self.store.get_setting(SERVICE) or "null")
        except ValueError:
            state = None
        if not isinstance(state, dict):
            return ServiceState(None, None)
        return ServiceState(state.get("last"), state.get("last_ok_at"),
                            now=self.clock.now())

    # -- plumbing -------------------------------------------------------------------
    def _check_may_update(self) -> Any:
        """An admin, a connection and a CRM source: the pass's deps."""
        from xerolink.services.access import require_admin

        require_admin(self.store, self.user)
        if self._source_setting() is None:
            self.crm_source()  # raises NotConnectedError with what to do
        return self.deps()

    def _pass_lease(self, wait: bool = False) -> AbstractContextManager[object]:
        """The lease a pass runs under: the store's CRM lease, one runner per
        organisation (per profile on SQLite), the one crm pull and crm push take."""
        taken: AbstractContextManager[object] = self.crm_lease(wait=wait)
        return taken

    def _watched_pass(self, link: bool) -> Any:
        from xerolink.services import budget, crmupdate, watch

        try:
            report = self.crm_update(link=link)
        except Exception as exc:
            held = held_elsewhere(exc)
            if held is None:
                raise
            report = None
        now = self.clock.now()
        connection = self.store.active_connection()
        left = budget.day_remainder(connection, now) if connection else None
        remaining = left.calls if left else None
        if report is None:  # another runner's pass: nothing to do until the next
            return watch.PassResult({"outcome": "skipped", "held_by": held}, 0, 0, remaining)
        deps = self.deps()
        return watch.PassResult(_log_fields(report), report.xero_calls,
                                crmupdate.estimate(deps, link=link), remaining)

    def _record_service(self, entry: dict[str, Any]) -> None:
        try:
            state = json.loads(self.store.get_setting(SERVICE) or "{}")
        except ValueError:
            state = {}
        state = state if isinstance(state, dict) else {}
        state["last"] = entry
        if entry.get("outcome") == "ok":
            state["last_ok_at"] = entry.get("at")
        self.store.set_setting(SERVICE, json.dumps(state))

    def _remember_source(self, source: Any) -> None:
        self.store.set_setting(f"{PULLED_FROM}.{source.name}", source.account)
        refused = getattr(source, "refused_fields", None)
        if refused:
            self.store.set_setting(f"{REFUSED_FIELDS}.{source.name}",
                                   json.dumps(sorted(refused)))

    def _settle_gateways(self) -> None:
        """Keep the rate limits the pass saw and let its gateways go: a service making
        a gateway a pass must not hold a thousand of them."""
        if self.gateways:
            self._remember_limits()
        self.gateways.clear()


def held_elsewhere(exc: BaseException) -> Any:
    """The lease's ``LeaseBusy`` (another runner holds the organisation's lease): its
    ``NotRun`` result's JSON; None for any other exception."""
    from xerolink.services.lease import LeaseBusy

    return exc.result.to_json() if isinstance(exc, LeaseBusy) else None


def _log_fields(report: UpdateReport) -> dict[str, Any]:
    return {"milliseconds": round(report.seconds * 1000), "xero_calls": report.xero_calls,
            "crm_calls": report.crm_calls, "fields_written": report.fields_written,
            "refused": len(report.refused),
            "phases": {p.name: p.skipped or f"{p.xero_calls + p.crm_calls} calls"
                       for p in report.phases}}


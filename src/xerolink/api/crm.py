"""The CRM side of ``Xerolink``: the records xerolink holds (imported from files or
pulled), and the live CRM source (Salesmate): connecting it, pulling its records and
pushing Xero's figures back onto them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xerolink.api.xero import reference
from xerolink.errors import NotConnectedError, UsageError
from xerolink.services.crmconnection import (
    PULLED_FROM,
    REFUSED_FIELDS,
    secret_key,
    source_setting,
)
from xerolink.vocabulary import RecordKind

if TYPE_CHECKING:
    from xerolink.api.wiring import Wiring
    from xerolink.crmsource.base import CrmSource
    from xerolink.services.crmpull import PullReport
    from xerolink.services.crmpush import PushReport
    from xerolink.services.doctor import Diagnosis
    from xerolink.services.lease import Held
    from xerolink.services.outcomes import CrmRecord, CrmSourceState, Imported, Removed, Rows
    from xerolink.services.progress import CrmProgress

class CrmSide:
    """``crm import`` / ``list`` / ``show`` / ``remove``, ``crm connect`` / ``disconnect``
    / ``pull`` / ``push``, and the CRM source's line in ``status`` and ``doctor``."""

    def __init__(self, wiring: Wiring) -> None:
        self._w = wiring
        self._crm_held: tuple[int, Held] | None = None  # (thread, lease) while a pass holds it

    # -- CRM records -----------------------------------------------------------------
    def _crm_tenant(self) -> str | None:
        from xerolink.services.access import require_viewer_if_connected

        connection = require_viewer_if_connected(self._w.store, self._w.user)
        return connection.tenant_id if connection else None

    def crm_import(self, file: Path, *, kind: str | None = None,
                   skip_invalid: bool = False) -> Imported:
        from xerolink.services.crm import KINDS, import_file

        if kind is not None and kind not in KINDS:
            raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
        self._crm_tenant()
        return import_file(self._w.store, file, kind=kind, skip_invalid=skip_invalid,
                           at=self._w.clock.now())

    def crm_list(self, kind: str = RecordKind.CONTACT.plural) -> Rows:
        from xerolink.services.crmrecords import list_records

        return list_records(self._w.store, self._crm_tenant(), kind)

    def crm_show(self, ref: str) -> CrmRecord:
        from xerolink.services.crmrecords import show_record

        return show_record(self._w.store, self._crm_tenant(), reference(ref))

    def crm_remove(self, ref: str) -> Removed:
        from xerolink.services.crmrecords import remove_record

        target = reference(ref)
        self._crm_tenant()
        return remove_record(self._w.store, target)

    def complete_refs(self, typed: str, kinds: tuple[str, ...]) -> list[str]:
        """References that start with what was typed, for shell completion."""
        from xerolink.services.crm import complete_refs

        if not self._w.team and not self._w.profile.store_path.exists():
            return []  # nothing imported yet: no store to create for a <Tab>
        return complete_refs(self._w.store, typed, kinds)

    def source_check(self, diagnosis: Diagnosis) -> Diagnosis:
        """Doctor's checks and the CRM source's: is its token still on this machine?"""
        from xerolink.errors import XerolinkError
        from xerolink.services.access import may_use_crm_account
        from xerolink.services.doctor import OK, PROBLEM, Check, Diagnosis

        try:
            setting = self._source_setting()
            if setting is None:
                return diagnosis
            where = f"{setting['source']} account {setting['account']}"
            if not may_use_crm_account(self._w.store, self._w.user):  # its token is not theirs
                return Diagnosis([*diagnosis.checks, Check(
                    "crm source", OK, f"{where}; an admin runs crm pull and crm push")])
            stored = self._w.token_store.load_secret(secret_key(setting["source"],
                                                             setting["account"]))
        except XerolinkError:
            return diagnosis  # the store or token store checks above say why
        check = (Check("crm source", OK, f"{where}; its token is stored") if stored else
                 Check("crm source", PROBLEM, f"{where}, but no token is stored here",
                       "run xerolink crm connect salesmate --linkname "
                       f"{setting['account']} again"))
        return Diagnosis([*diagnosis.checks, check])

    def crm_connect(self, source: str, *, linkname: str, token: str,
                    url: str | None = None) -> CrmSourceState:
        """Check the account and token with one call, then keep the token in the token
        store (never printed) and the source in the store."""
        from xerolink.crmsource.salesmate import SalesmateSource
        from xerolink.services.crmconnection import connect

        def count_contacts(account: str, secret: str, base_url: str | None) -> int:
            client = SalesmateSource(account, secret, base_url=base_url,
                                     timeouts=self._w.timeouts(),
                                     max_wait=self._w.max_wait_seconds())
            try:
                return client.check()
            finally:
                client.close()

        return connect(self._w.store, self._w.token_store, self._w.user, self._w.clock.now,
                       source, linkname=linkname, token=token,
                       url=url or self._w.env.get("XEROLINK_SALESMATE_URL"),
                       count_contacts=count_contacts)

    def crm_disconnect(self) -> CrmSourceState:
        """Forget the CRM token and source; pulled records (and their links) stay."""
        from xerolink.services.crmconnection import disconnect

        return disconnect(self._w.store, self._w.token_store, self._w.user)

    def crm_source_state(self) -> CrmSourceState:
        from xerolink.services.crmconnection import source_state

        return source_state(self._w.store)

    def crm_pull(self, *, full: bool = False, progress: CrmProgress | None = None,
                 wait: bool = False) -> PullReport:
        """Read the CRM source's contacts, companies and deals into the store (only
        what changed since the last pull; ``full`` reads everything again). Under the
        CRM lease: ``LeaseBusy`` if another pass runs (``wait`` waits for it)."""
        from xerolink.services import crmpull

        self._crm_account_check("crm pull")
        source = self.crm_source()
        try:
            with self.crm_lease(wait=wait):
                report = crmpull.pull(self._w.store, source,
                                      fields=self._pushed_fields(source.name),
                                      now=self._w.clock.now(), full=full, progress=progress)
                self._w.store.set_setting(f"{PULLED_FROM}.{source.name}", source.account)
                refused = getattr(source, "refused_fields", None)
                key = f"{REFUSED_FIELDS}.{source.name}"
                if refused or _refused_fields(self._w.store.get_setting(key)) is None:
                    self._w.store.set_setting(key, json.dumps(sorted(refused or ())))
            return report
        finally:
            source.close()

    def crm_push(self, *, dry_run: bool = False, progress: CrmProgress | None = None,
                 wait: bool = False, concurrency: int | None = None) -> PushReport:
        """Write the linked Xero contact and the summary figures into the CRM's chosen
        fields, only where they changed; ``dry_run`` only reports the changes;
        ``concurrency``: records written at once (default 4, at most 16). A real push
        holds the CRM lease (``LeaseBusy`` if another pass runs)."""
        from xerolink.services import crmpush
        from xerolink.services.crmpush_writes import calls_in_flight

        workers = crmpush.DEFAULT_CONCURRENCY if concurrency is None else concurrency
        if not 1 <= workers <= crmpush.MAX_CONCURRENCY:
            raise UsageError(f"--concurrency is 1 to {crmpush.MAX_CONCURRENCY} (records "
                             f"written at once), not {workers}")
        deps = self._w.deps()
        self._crm_account_check("crm push")
        source = self.crm_source(connections=calls_in_flight(workers))
        try:
            with (contextlib.nullcontext() if dry_run else self.crm_lease(wait=wait)):
                return crmpush.push(deps, source, self._push_mapping(source.name),
                                    dry_run=dry_run, progress=progress, concurrency=workers)
        finally:
            source.close()

    @contextlib.contextmanager
    def crm_lease(self, *, wait: bool = False) -> Iterator[Held]:
        """The store's CRM lease for one pass (pull, push, update): one runner at a time
        per profile, or per team database across machines. Held already by this
        thread (a pass that pulls then pushes), it is the same lease; another thread
        of this process is another runner."""
        import threading

        from xerolink.services import lease

        me = threading.get_ident()
        if self._crm_held is not None and self._crm_held[0] == me:
            yield self._crm_held[1]
            return
        with lease.held(self._w.store, lease.Me.here(self._w.user), wait=wait) as holding:
            self._crm_held = (me, holding)
            try:
                yield holding
            finally:
                self._crm_held = None

    # -- plumbing -------------------------------------------------------------------
    def crm_source(self, *, connections: int | None = None) -> CrmSource:
        """The connected CRM source; ``connections``: the most calls it may have in
        flight at once (by default, a default push's)."""
        from xerolink.crmsource.salesmate import SalesmateSource
        from xerolink.services.crmpush import DEFAULT_CONCURRENCY
        from xerolink.services.crmpush_writes import calls_in_flight

        if connections is None:
            connections = calls_in_flight(DEFAULT_CONCURRENCY)

        setting = self._source_setting()
        if setting is None:
            raise NotConnectedError("no CRM source is connected; run `xerolink crm connect "
                                    "salesmate --linkname NAME` first")
        token = self._w.token_store.load_secret(secret_key(setting["source"],
                                                        setting["account"]))
        if token is None:
            raise NotConnectedError(f"no {setting['source']} token is stored on this machine; "
                                    "run `xerolink crm connect salesmate` again")
        key = f"{REFUSED_FIELDS}.{setting['source']}"
        refused = _refused_fields(self._w.store.get_setting(key))
        return SalesmateSource(setting["account"], token, base_url=setting.get("url"),
                               timeouts=self._w.timeouts(), max_wait=self._w.max_wait_seconds(),
                               refused_fields=refused or [], connections=connections)

    def _crm_account_check(self, command: str) -> None:
        from xerolink.services.access import check_may_use_crm_account, require_viewer_if_connected

        require_viewer_if_connected(self._w.store, self._w.user)
        check_may_use_crm_account(self._w.store, self._w.user, command)

    def _source_setting(self) -> dict[str, Any] | None:
        return source_setting(self._w.store)

    def _push_mapping(self, source: str) -> dict[str, dict[str, str]]:
        """kind -> figure -> CRM field, from the profile's config."""
        from xerolink.config import PUSH_FIGURES, push_key

        mapping: dict[str, dict[str, str]] = {}
        for kind, figures in PUSH_FIGURES.items():
            chosen = {f: self._w.config.get(push_key(source, kind, f)) for f in figures}
            mapping[kind] = {f: str(v) for f, v in chosen.items() if v}
            if len(set(mapping[kind].values())) != len(mapping[kind]):
                raise UsageError(f"two {source} {kind} figures are set to the same field; "
                                 "each field can hold one figure (see `xerolink config list`)")
        return mapping

    def _pushed_fields(self, source: str) -> dict[str, list[str]]:
        """The CRM fields push writes, per kind: a pull reads their current values."""
        return {kind: sorted(set(chosen.values()))
                for kind, chosen in self._push_mapping(source).items()}


def _refused_fields(text: str | None) -> list[str] | None:
    """The fields the source refused, as a pull stored them; None if the setting is not
    a list of field names: ignored, the next pull finds out again (one call's cost) and
    stores them afresh."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return None
    if isinstance(data, list) and all(isinstance(f, str) for f in data):
        return data
    return None


"""``Xerolink``: everything the command line does, as Python calls that return results.

A script or a long-running service opens a profile once and calls methods; nothing is
printed. Each method returns the dataclass the CLI renders (``to_json()`` is the
command's ``--json``), and raises ``XerolinkError`` subclasses, whose ``exit_code`` is
the CLI's. References are the CLI's: ``contact:42``, ``company:7``, ``deal:9``.

``Xerolink`` holds its collaborators and is nothing else: the wiring (the profile's
dependencies, ``wiring.py``), the Xero side (``xero.py``), the CRM side (``crm.py``),
the CRM service (``update.py``) and administration (``admin.py``). Each public method
is made by exactly one of them; its public names are the documented methods
(docs/python-api.md), which a test holds equal.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from xerolink.api.admin import Administration
from xerolink.api.arguments import checked
from xerolink.api.crm import CrmSide
from xerolink.api.update import CrmService
from xerolink.api.wiring import CLOSED, CallReport, Wiring
from xerolink.api.xero import XeroSide
from xerolink.errors import UsageError

if TYPE_CHECKING:
    from xerolink.clock import Clock
    from xerolink.services.connection import StatusReport
    from xerolink.services.doctor import Diagnosis

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def _by(side: str, method: Callable[Concatenate[S, P], R]
        ) -> Callable[Concatenate[Xerolink, P], R]:
    """A public call made by one collaborator (``side`` names the attribute holding it):
    its arguments checked against its annotations, and taken one at a time."""
    check = checked(method)

    @functools.wraps(method)
    def call(owner: Xerolink, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with owner._wiring.taken():
            made: R = check(getattr(owner, side), *args, **kwargs)
            return made

    return call


def _own(method: Callable[Concatenate[Xerolink, P], R]
         ) -> Callable[Concatenate[Xerolink, P], R]:
    """A public call ``Xerolink`` makes itself from more than one collaborator."""
    check = checked(method)

    @functools.wraps(method)
    def call(owner: Xerolink, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with owner._wiring.taken():
            made: R = check(owner, *args, **kwargs)
            return made

    return call


class Xerolink:
    """One profile's xerolink. Use it as a context manager, or call ``close()``; a
    closed one refuses every call (UsageError).

    Safe to share between threads: its calls are taken one at a time (a lock per
    instance), so a thread waits while another's call runs. Threads wanting to work in
    parallel open one each.
    """

    def __init__(self, *, env: Mapping[str, str] | None = None,
                 profile_name: str | None = None, max_wait: float | None = None,
                 notice: Callable[[str], None] = lambda message: None,
                 browser: Callable[[str], None] | None = None,
                 clock_override: Clock | None = None) -> None:
        self._wiring = Wiring(env=os.environ if env is None else env,
                              profile_name=profile_name, max_wait=max_wait, notice=notice,
                              browser=browser, clock_override=clock_override)
        self._xero = XeroSide(self._wiring)
        self._crm = CrmSide(self._wiring)
        self._service = CrmService(self._wiring, self._crm)
        self._admin = Administration(self._wiring)

    def __repr__(self) -> str:
        return f"Xerolink(profile={self._wiring.profile_name!r})"

    def __enter__(self) -> Xerolink:
        if self._wiring.closed:
            raise UsageError(CLOSED)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- summaries and documents ---------------------------------------------------
    summary = _by("_xero", XeroSide.summary)
    refresh = _by("_xero", XeroSide.refresh)
    refresh_all = _by("_xero", XeroSide.refresh_all)
    details = _by("_xero", XeroSide.details)
    paid = _by("_xero", XeroSide.paid)
    view = _by("_xero", XeroSide.view)
    online_invoice = _by("_xero", XeroSide.online_invoice)
    pdf = _by("_xero", XeroSide.pdf)
    save_pdf = _by("_xero", XeroSide.save_pdf)
    approve = _by("_xero", XeroSide.approve)
    send = _by("_xero", XeroSide.send)
    create = _by("_xero", XeroSide.create)
    create_invoice = _by("_xero", XeroSide.create_invoice)
    create_bill = _by("_xero", XeroSide.create_bill)
    create_quote = _by("_xero", XeroSide.create_quote)
    # -- deals ---------------------------------------------------------------------
    deal_suggest = _by("_xero", XeroSide.deal_suggest)
    deal_attach = _by("_xero", XeroSide.deal_attach)
    deal_detach = _by("_xero", XeroSide.deal_detach)
    deal_documents = _by("_xero", XeroSide.deal_documents)
    # -- linking -------------------------------------------------------------------
    suggest = _by("_xero", XeroSide.suggest)
    search = _by("_xero", XeroSide.search)
    link = _by("_xero", XeroSide.link)
    auto_link = _by("_xero", XeroSide.auto_link)
    unlink = _by("_xero", XeroSide.unlink)
    links = _by("_xero", XeroSide.links)
    contact_preview = _by("_xero", XeroSide.contact_preview)
    create_contact = _by("_xero", XeroSide.create_contact)
    # -- CRM records and the CRM source ----------------------------------------------
    crm_import = _by("_crm", CrmSide.crm_import)
    crm_list = _by("_crm", CrmSide.crm_list)
    crm_show = _by("_crm", CrmSide.crm_show)
    crm_remove = _by("_crm", CrmSide.crm_remove)
    complete_refs = _by("_crm", CrmSide.complete_refs)
    crm_connect = _by("_crm", CrmSide.crm_connect)
    crm_disconnect = _by("_crm", CrmSide.crm_disconnect)
    crm_source_state = _by("_crm", CrmSide.crm_source_state)
    crm_pull = _by("_crm", CrmSide.crm_pull)
    crm_push = _by("_crm", CrmSide.crm_push)
    # -- the CRM service -----------------------------------------------------------
    crm_update = _by("_service", CrmService.crm_update)
    crm_watch = _by("_service", CrmService.crm_watch)
    # -- administration --------------------------------------------------------------
    connect_options = _by("_admin", Administration.connect_options)
    connect = _by("_admin", Administration.connect)
    disconnect = _by("_admin", Administration.disconnect)
    forget_tokens = _by("_admin", Administration.forget_tokens)
    access_list = _by("_admin", Administration.access_list)
    grant = _by("_admin", Administration.grant)
    revoke = _by("_admin", Administration.revoke)
    config_set = _by("_admin", Administration.config_set)
    config_unset = _by("_admin", Administration.config_unset)
    save_webhook_key = _by("_admin", Administration.save_webhook_key)
    team_init = _by("_admin", Administration.team_init)
    team_migrate = _by("_admin", Administration.team_migrate)
    repair_store = _by("_admin", Administration.repair_store)

    @_own
    def status(self, *, offline: bool = False) -> StatusReport:
        """The Xero connection, the CRM source and the CRM service, in one report."""
        report = self._admin.connection_status(offline=offline)
        report.crm_source = self._crm.crm_source_state()
        report.service = self._service.service_state()
        return report

    @_own
    def doctor(self, *, offline: bool = False) -> Diagnosis:
        """Is this machine and profile ready; each finding with what to do."""
        return self._crm.source_check(self._admin.diagnose(offline=offline))

    def calls(self) -> CallReport:
        """The Xero calls made so far through this session's gateways."""
        return self._wiring.calls()

    def close(self) -> None:
        """Close the store; later calls are refused (UsageError). Closing again is a
        no-op; a call under way in another thread finishes first."""
        self._wiring.close()


"""xerolink as a library: ``xerolink.open()`` gives a profile's ``Xerolink``, whose
methods do what the commands do and return the results the commands render.

    import xerolink

    with xerolink.open(profile="default") as xl:
        report = xl.summary("contact:42", refresh=True)
        print(report.figures["overdue_invoices"].total, report.base_currency)
        print(report.to_json())          # exactly `xerolink summary contact:42 --json`

Errors are ``xerolink.errors.XerolinkError`` subclasses with the CLI's exit codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from xerolink.api.client import Xerolink
from xerolink.api.wiring import CallReport
from xerolink.clock import Clock

__all__ = ["CallReport", "Xerolink", "open"]


def open(
    profile: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    max_wait: float | None = None,
    notice: Callable[[str], None] | None = None,
) -> Xerolink:
    """Open a profile (``None``: XEROLINK_PROFILE, else "default").

    ``env`` stands in for the environment (XEROLINK_HOME, XEROLINK_USER, ...);
    ``clock`` fixes "now"; ``max_wait`` caps a wait for Xero's minute limit;
    ``notice`` receives news such as those waits (default: ignored).
    """
    import os

    return Xerolink(env=os.environ if env is None else env, profile_name=profile,
                    max_wait=max_wait, notice=notice or (lambda _message: None),
                    clock_override=clock)

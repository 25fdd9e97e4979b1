"""xerolink: a CRM's window onto Xero quotes, invoices and bills.

The command line is ``xerolink``; the library is ``xerolink.open()`` (see
``xerolink.api``). The API loads on first use, so the CLI starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Xerolink", "__version__", "open"]

if TYPE_CHECKING:
    from xerolink.api import Xerolink, open


def __getattr__(name: str) -> Any:
    if name in ("open", "Xerolink"):
        from xerolink import api

        return getattr(api, name)
    raise AttributeError(f"module 'xerolink' has no attribute {name!r}")

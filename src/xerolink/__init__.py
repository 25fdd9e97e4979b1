"""xerolink: a CRM's window onto Xero quotes, invoices and bills.

The command line is ``xerolink``; the library is ``xerolink.open()`` (see
``xerolink.api``). The API loads on first use, so the CLI starts quickly.
"""

# No runtime import at all (not even __future__): the console script imports this
# before the entry point's Ctrl-C guard (xerolink.entry), so it must take no time.
# Type checkers read the name.
TYPE_CHECKING = False

__version__ = "0.1.0"
__all__ = ["Xerolink", "__version__", "open"]

if TYPE_CHECKING:
    from typing import Any

    from xerolink.api import Xerolink, open


def __getattr__(name: str) -> "Any":
    if name in ("open", "Xerolink"):
        from xerolink import api

        return getattr(api, name)
    raise AttributeError(f"module 'xerolink' has no attribute {name!r}")

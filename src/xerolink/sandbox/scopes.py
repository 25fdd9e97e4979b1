"""Which OAuth2 scopes let a token call which Accounting endpoint, as Xero enforces them.

Xero's scopes page lists the broad scopes (``accounting.transactions`` and its
``.read``); apps created since 2 March 2026 get only the granular ones
(``accounting.invoices`` covers invoices and quotes, among others), and older apps may
use either until September 2027. A token without a scope that covers the call gets a
401 whose ``Detail`` is ``AuthorizationUnsuccessful``. Sources: docs/xero-fidelity.md.
"""

from __future__ import annotations

# resource -> (scopes that allow reading, scopes that allow writing)
_TRANSACTIONS = (
    frozenset({"accounting.invoices", "accounting.invoices.read",
               "accounting.transactions", "accounting.transactions.read"}),
    frozenset({"accounting.invoices", "accounting.transactions"}),
)
_SETTINGS = (frozenset({"accounting.settings", "accounting.settings.read"}),
             frozenset({"accounting.settings"}))
# Payments, overpayments and prepayments: the broad scope, or the granular
# ``accounting.payments`` (accounting.invoices does not cover them: the stricter reading).
_PAYMENTS = (
    frozenset({"accounting.payments", "accounting.payments.read",
               "accounting.transactions", "accounting.transactions.read"}),
    frozenset({"accounting.payments", "accounting.transactions"}),
)
ALLOWED = {
    "contacts": (frozenset({"accounting.contacts", "accounting.contacts.read"}),
                 frozenset({"accounting.contacts"})),
    "invoices": _TRANSACTIONS,
    "quotes": _TRANSACTIONS,
    "creditnotes": _TRANSACTIONS,
    "payments": _PAYMENTS,
    "overpayments": _PAYMENTS,
    "prepayments": _PAYMENTS,
    "organisation": _SETTINGS,
    "currencies": _SETTINGS,
}

# Scopes an app created since 2 March 2026 may not ask for.
BROAD_ONLY = frozenset({"accounting.transactions", "accounting.transactions.read",
                        "accounting.reports.read"})


def permits(granted: str, resource: str, method: str) -> bool:
    """Whether a token with these (space-separated) scopes may make this call. An
    endpoint not in the table is not scope-checked here (it answers 404 anyway)."""
    allowed = ALLOWED.get(resource)
    if allowed is None:
        return True
    needed = allowed[0] if method == "GET" else allowed[1]
    return bool(needed & set(granted.split()))

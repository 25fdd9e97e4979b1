"""The OAuth2 scopes xerolink's calls need, to tell a user exactly what to grant.

Xero enforces scopes per endpoint: a token without one gets 401
``AuthorizationUnsuccessful``, and refreshing cannot help. Apps created since
2 March 2026 have only the granular scopes (``accounting.invoices`` and its ``.read``);
older apps keep the broad ``accounting.transactions`` until September 2027. xerolink
asks for granular scopes, which both kinds of app accept. Sources:
docs/xero-fidelity.md.
"""

from __future__ import annotations

# Resource of a call label ("GET Invoices", "PUT Quotes") -> (read scope, write scope),
# the granular names; the broad equivalent is named in the message too.
_NEEDED = {
    "Contacts": ("accounting.contacts.read", "accounting.contacts"),
    "Invoices": ("accounting.invoices.read", "accounting.invoices"),
    "Quotes": ("accounting.invoices.read", "accounting.invoices"),
    "CreditNotes": ("accounting.invoices.read", "accounting.invoices"),
    "Payments": ("accounting.payments.read", "accounting.payments"),
    "Overpayments": ("accounting.payments.read", "accounting.payments"),
    "Prepayments": ("accounting.payments.read", "accounting.payments"),
    "Organisation": ("accounting.settings.read", "accounting.settings"),
    "Currencies": ("accounting.settings.read", "accounting.settings"),
}
_BROAD = {"accounting.invoices.read": "accounting.transactions.read",
          "accounting.invoices": "accounting.transactions",
          "accounting.payments.read": "accounting.transactions.read",
          "accounting.payments": "accounting.transactions"}
# A scope that includes another: holding the key grants the values too.
_INCLUDES = {"accounting.contacts": {"accounting.contacts.read"},
             "accounting.invoices": {"accounting.invoices.read"},
             "accounting.settings": {"accounting.settings.read"},
             "accounting.payments": {"accounting.payments.read"},
             "accounting.transactions": {"accounting.invoices", "accounting.invoices.read",
                                         "accounting.payments", "accounting.payments.read",
                                         "accounting.transactions.read"},
             "accounting.transactions.read": {"accounting.invoices.read",
                                              "accounting.payments.read"}}


def needed_for(label: str) -> str | None:
    """The granular scope a call (``"GET Invoices"``, ``"PUT Quotes"``) needs."""
    method, _, path = label.partition(" ")
    resource = path.split("/", 1)[0]
    pair = _NEEDED.get(resource)
    if pair is None:
        return None
    return pair[0] if method == "GET" else pair[1]


def broad_equivalent(scope: str) -> str | None:
    return _BROAD.get(scope)


def with_scope(granted: str | None, needed: str) -> str:
    """The scopes to ask for on reconnecting: what was granted plus what is missing
    (and offline_access, without which there is no refresh token)."""
    scopes = list(dict.fromkeys(["offline_access", *(granted or "").split()]))
    held: set[str] = set()
    for scope in scopes:
        held |= {scope, *_INCLUDES.get(scope, ())}
    if needed not in held:
        scopes.append(needed)
    return " ".join(scopes)

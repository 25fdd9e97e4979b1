"""Finding the app of a local xerolink sandbox, so `connect --xero-url` needs no id."""

from __future__ import annotations

import json

from xerolink.xero.endpoints import Endpoints


def sandbox_client_id(endpoints: Endpoints) -> str | None:
    """The sandbox's public PKCE client id, or None if the server is not a sandbox.
    Nothing there at all is said as such (exit 7): "no client id" would send the user
    looking for an id when the address is what is wrong."""
    if not endpoints.is_loopback or not endpoints.base_url:
        return None
    import urllib3

    from xerolink.errors import XeroUnreachableError

    try:
        response = urllib3.request("GET", f"{endpoints.base_url}/_sandbox/apps",
                                   timeout=urllib3.Timeout(connect=3, read=5), retries=False)
        if response.status != 200:
            return None
        value = json.loads(response.data).get("pkce_client_id")
    except (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError,
            RecursionError) as exc:  # (nested past the parser's depth: not a sandbox)
        failure = _no_connection(exc)
        if failure is not None:
            raise XeroUnreachableError(
                f"{failure}: no Xero or sandbox at {endpoints.base_url}; check --xero-url "
                "(or start the sandbox: xerolink sandbox)") from None
        return None
    return value if isinstance(value, str) and value else None


def _no_connection(exc: BaseException) -> str | None:
    """Why no connection was made (refused, no such host), looking through urllib3's
    MaxRetryError to the error it wraps."""
    from xerolink.xero.http import connection_failure

    for candidate in (exc, getattr(exc, "reason", None)):
        if isinstance(candidate, BaseException):
            found = connection_failure(candidate)
            if found is not None:
                return found
    return None

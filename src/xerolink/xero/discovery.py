"""Finding the app of a local xerolink sandbox, so `connect --xero-url` needs no id."""

from __future__ import annotations

import json

from xerolink.xero.endpoints import Endpoints


def sandbox_client_id(endpoints: Endpoints) -> str | None:
    """The sandbox's public PKCE client id, or None if the server is not a sandbox."""
    if not endpoints.is_loopback or not endpoints.base_url:
        return None
    import urllib3

    try:
        response = urllib3.request("GET", f"{endpoints.base_url}/_sandbox/apps",
                                   timeout=urllib3.Timeout(connect=3, read=5), retries=False)
        if response.status != 200:
            return None
        value = json.loads(response.data).get("pkce_client_id")
    except (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError,
            RecursionError):  # nested past the parser's depth: not a sandbox
        return None
    return value if isinstance(value, str) and value else None

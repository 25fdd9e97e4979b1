"""Play the user's browser on the sandbox's consent page: for the demo and for tests.

Given an authorize URL, fetch it, and if a consent page comes back, submit "Allow"
for the chosen organisations. Returns the redirect the browser would follow (to the
client's loopback callback), without following it.
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode, urlsplit

from xerolink.sandbox.server import is_loopback

_REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')
_TENANT = re.compile(r'type="(radio|checkbox)" name="tenant" value="([^"]+)"')


class ConsentError(RuntimeError):
    pass


def approve(authorize_url: str, *, tenants: list[str] | None = None, allow: bool = True,
            timeout: float = 10.0) -> str:
    """Return the Location the sandbox redirects to after the user's decision."""
    parts = urlsplit(authorize_url)
    if parts.scheme != "http" or not is_loopback(parts.hostname or ""):
        raise ConsentError("only a sandbox on a loopback address can be approved automatically")
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        page = response.read().decode("utf-8", errors="replace")
        if response.status in (301, 302, 303):
            return response.getheader("Location") or ""
        request_id = _REQUEST_ID.search(page)
        if response.status != 200 or request_id is None:
            raise ConsentError(f"the authorize page answered {response.status}")
        found = _TENANT.findall(page)
        offered = [tenant for _, tenant in found]
        chosen = offered if tenants is None else [t for t in offered if t in tenants]
        if found and found[0][0] == "radio":
            chosen = chosen[:1]  # one organisation per consent unless bulk connections
        form = urlencode({"request_id": request_id.group(1),
                          "decision": "allow" if allow else "deny", "tenant": chosen},
                         doseq=True)
        conn.request("POST", parts.path, body=form,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        location = response.getheader("Location")
        if response.status not in (302, 303) or not location:
            raise ConsentError(f"the consent form answered {response.status}")
        return location
    finally:
        conn.close()


def follow_in_background(authorize_url: str, *, tenants: list[str] | None = None) -> None:
    """Play the whole browser while a client waits on its callback: consent, then the
    redirect to the client's loopback callback, on a thread of its own."""
    import threading

    def go() -> None:
        location = urlsplit(approve(authorize_url, tenants=tenants))
        conn = http.client.HTTPConnection(location.hostname or "", location.port, timeout=30)
        try:
            conn.request("GET", f"{location.path}?{location.query}")
            conn.getresponse().read()
        finally:
            conn.close()

    threading.Thread(target=go, daemon=True).start()

"""``xerolink sandbox``: a local server that behaves like Xero's identity and accounting
APIs closely enough that Xero's own Python SDK cannot tell the difference for
everything xerolink uses. It is the ground under every test and the demo."""

from xerolink.sandbox.listener import SandboxServer
from xerolink.sandbox.state import CUSTOM_CLIENT_ID, PKCE_CLIENT_ID, SandboxOptions

__all__ = ["CUSTOM_CLIENT_ID", "PKCE_CLIENT_ID", "SandboxOptions", "SandboxServer"]

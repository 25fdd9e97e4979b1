"""Keeping secrets out of every message xerolink prints or logs.

Two layers: values registered as secret (a token as soon as it is loaded or
received) are replaced wherever they appear, and patterns catch the shapes a secret
takes in HTTP traffic (Bearer headers, token fields in JSON or form bodies).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|"
        r"code|token|password)[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
    ),
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(basic\s+)?[A-Za-z0-9._~+/=-]+"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it appears later."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text

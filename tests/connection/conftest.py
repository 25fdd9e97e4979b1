"""Fixtures for the connection tests: a test keyring, and `xerolink connect` driven
through the printed URL the way a user with an HTTP client would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from xerolink.sandbox.browser import approve

TESTS = Path(__file__).resolve().parents[1]


@dataclass
class Env:
    home: Path
    keyring: Path
    vars: dict[str, str]

    def run(self, *args: str, user: str = "alice", stdin: str | None = None,
            extra: dict[str, str] | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        env = {**self.vars, "XEROLINK_USER": user, **(extra or {})}
        return subprocess.run([sys.executable, "-m", "xerolink", *args], capture_output=True,
                              text=True, env=env, input=stdin, timeout=timeout)

    def start(self, *args: str, user: str = "alice") -> subprocess.Popen[str]:
        env = {**self.vars, "XEROLINK_USER": user}
        return subprocess.Popen([sys.executable, "-m", "xerolink", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def connect(self, base: str, *args: str, user: str = "alice", tenants: list[str] | None
                = None, allow: bool = True, name_url: bool = True
                ) -> subprocess.CompletedProcess[str]:
        """Run `xerolink connect --no-browser` (with ``--xero-url base`` unless
        ``name_url`` is false), follow the printed link with an HTTP client (consent
        page, then the redirect to the callback), and wait for it."""
        port = free_port()
        where = ("--xero-url", base) if name_url else ()
        proc = self.start("connect", *where, "--no-browser", "--port", str(port),
                          "--timeout", "30", *args, user=user)
        seen: list[str] = []
        url = _read_url(proc, seen)
        if url:
            location = approve(url, tenants=tenants, allow=allow)
            _follow(location)
        out, err = proc.communicate(timeout=60)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(seen) + err)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_url(proc: subprocess.Popen[str], seen: list[str]) -> str | None:
    deadline = time.monotonic() + 30
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            return None
        seen.append(line)
        if line.startswith("http"):
            return line.strip()
    return None


def _follow(location: str) -> None:
    import http.client

    parts = urlsplit(location)
    for _ in range(50):  # the callback server may still be starting
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("GET", f"{parts.path}?{parts.query}")
            conn.getresponse().read()
            conn.close()
            return
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError("the callback server never answered")


@pytest.fixture
def env(tmp_path) -> Env:
    home = tmp_path / "home"
    keyring = tmp_path / "keyring" / "keys.json"
    variables = {
        **os.environ,
        "XEROLINK_HOME": str(home),
        "XEROLINK_TEST_KEYRING": str(keyring),
        "PYTHON_KEYRING_BACKEND": "keyring_backend.FileKeyring",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
    }
    for name in ("XEROLINK_PROFILE", "XEROLINK_TOKEN_STORE", "XEROLINK_CLIENT_ID",
                 "XEROLINK_XERO_URL", "XEROLINK_NOW"):
        variables.pop(name, None)
    return Env(home, keyring, variables)

"""Helpers shared by the tests: talk to a sandbox the way a Xero client would."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import secrets
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from xerolink.sandbox import PKCE_CLIENT_ID
from xerolink.sandbox.browser import approve

# How often a test's own server looks for a shutdown: socketserver's default, 0.5 s,
# was half a second of every such test's teardown.
POLL = 0.02


def serve_in_thread(server: Any) -> threading.Thread:
    """Serve a test's stub ``socketserver`` in a daemon thread; ``shutdown()`` is then
    answered within POLL seconds."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    return thread

REDIRECT = "http://127.0.0.1:8742/callback"
SCOPES = "openid profile email offline_access accounting.transactions accounting.contacts " \
         "accounting.settings.read"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(base: str, challenge: str, state: str = "st4te", **extra: str) -> str:
    params = {"response_type": "code", "client_id": PKCE_CLIENT_ID, "redirect_uri": REDIRECT,
              "scope": SCOPES, "state": state, "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return f"{base}/identity/connect/authorize?{urlencode(params)}"


def request(base: str, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def form(base: str, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, Any]]:
    status, _, data = request(base, "POST", path, body=urlencode(fields).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       **(headers or {})})
    return status, (json.loads(data) if data else {})


def code_for(base: str, challenge: str, tenants: list[str] | None = None,
             scopes: str = SCOPES) -> str:
    location = approve(authorize_url(base, challenge, scope=scopes), tenants=tenants)
    return parse_qs(urlsplit(location).query)["code"][0]


def sandbox_token(base: str, tenants: list[str] | None = None, scopes: str = SCOPES
                  ) -> dict[str, Any]:
    """A full PKCE round trip: consent, code, token."""
    verifier, challenge = pkce_pair()
    code = code_for(base, challenge, tenants, scopes)
    status, token = form(base, "/connect/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": PKCE_CLIENT_ID})
    assert status == 200, token
    return token


def api(base: str, token: dict[str, Any], tenant: str, method: str, path: str,
        body: Any = None, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], Any]:
    """An Accounting API call with the bearer and tenant headers; JSON parsed as Decimal."""
    all_headers = {"Authorization": f"Bearer {token['access_token']}",
                   "xero-tenant-id": tenant, "Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body, default=str).encode()
        all_headers["Content-Type"] = "application/json"
    status, response_headers, data = request(base, method, f"/api.xro/2.0{path}", body=payload,
                                             headers=all_headers)
    if not data:
        return status, response_headers, None
    if "json" not in response_headers.get("content-type", ""):
        return status, response_headers, data.decode("utf-8")  # Xero's plain-text 404
    return status, response_headers, json.loads(data, parse_float=Decimal)


SANDBOX_DEFAULTS = {"seed": 7, "contacts": 60}


@contextlib.contextmanager
def running_sandbox(**options: Any) -> Iterator[Any]:
    """A sandbox on a free loopback port for the length of a block (seed 7 and 60
    contacts unless told otherwise)."""
    from xerolink.sandbox import SandboxOptions, SandboxServer

    server = SandboxServer(SandboxOptions(**{**SANDBOX_DEFAULTS, **options}))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class ServedTenant:
    """An organisation of a sandbox in another process, as ``GET /_sandbox/apps`` lists it."""

    tenant_id: str
    name: str
    short_code: str
    base_currency: str
    country_code: str
    timezone: str


@dataclass(frozen=True)
class ServedSandbox:
    """``xerolink sandbox serve`` in a process of its own: what connect_profile and the
    control helpers need of a server (its base URL, its organisations)."""

    base_url: str
    tenants: list[ServedTenant]

    def advance_clock(self, seconds: float) -> None:
        control(self.base_url, "POST", "clock", {"advance_seconds": seconds})


@contextlib.contextmanager
def served_sandbox(*args: str) -> Iterator[ServedSandbox]:
    """``xerolink sandbox serve --port 0 --json`` and ``args`` (seed 7 and 60 contacts
    unless told otherwise) for the length of a block, stopped with SIGINT as a person
    at its terminal would."""
    import os
    import signal
    import subprocess
    import sys

    defaults = [f"--{name}={value}" for name, value in SANDBOX_DEFAULTS.items()
                if not any(a.startswith(f"--{name}") for a in args)]
    process = subprocess.Popen(
        [sys.executable, "-m", "xerolink", "sandbox", "serve", "--port", "0", "--json",
         *defaults, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "NO_COLOR": "1"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the server is listening once it is printed
        assert first, f"sandbox serve exited {process.wait(timeout=10)} before it served"
        base = json.loads(first)["base_url"]
        tenants = [ServedTenant(**t) for t in control(base, "GET", "apps")["tenants"]]
        yield ServedSandbox(base, tenants)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def control(base: str, method: str, path: str, body: Any = None) -> Any:
    payload = None if body is None else json.dumps(body).encode()
    status, _, data = request(base, method, f"/_sandbox/{path}", body=payload,
                              headers={"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data, parse_float=Decimal)


def raw_records(sandbox: Any, tenant: str, *parts: str) -> Any:
    """An organisation's raw records from the sandbox, just the parts named (contacts,
    invoices, quotes, ...; the invoices are most of the time of a whole answer)."""
    return control(sandbox.base_url, "GET", f"data?tenant={tenant}&only={','.join(parts)}")


def connect_profile(server: Any, home: Any, *, tenant_index: int = 0, user: str = "alice",
                    profile: str = "default", scopes: str = SCOPES) -> str:
    """A profile connected to a sandbox organisation without the browser dance (the
    connect flow has tests of its own): tokens in the file store, the connection
    recorded, the user its admin. Returns the tenant id. Needs
    XEROLINK_TOKEN_STORE=file in the environment of the commands that follow."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from xerolink.credentials import FileTokenStore, TokenSet
    from xerolink.store.models import AccessEntry, Connection
    from xerolink.store.sqlite import SqliteStore

    now = datetime.now(UTC)
    tenant = server.tenants[tenant_index]
    answer = sandbox_token(server.base_url, tenants=[tenant.tenant_id], scopes=scopes)
    folder = Path(home) / "profiles" / profile
    _new_store_file(folder / "xerolink.db")
    FileTokenStore(folder / "tokens.json").save(tenant.tenant_id, TokenSet(
        "pkce", PKCE_CLIENT_ID, answer["access_token"], now + timedelta(seconds=1800),
        refresh_token=answer["refresh_token"], refresh_issued_at=now))
    # The two changes copied once, as one command's changes close together are (a copy
    # after each was a quarter of the time of every test that connects).
    store = SqliteStore(folder / "xerolink.db", keep_copies=False)
    store.save_connection(Connection(tenant.tenant_id, tenant.name, "pkce", user, now,
                                     short_code=tenant.short_code,
                                     base_currency=tenant.base_currency,
                                     timezone=tenant.timezone,
                                     country_code=tenant.country_code,
                                     xero_url=server.base_url, client_id=PKCE_CLIENT_ID,
                                     scopes=answer.get("scope")))
    store.grant_access(AccessEntry(tenant.tenant_id, user, "admin", user, now))
    store.close()
    store = SqliteStore(folder / "xerolink.db")
    store.take_copy()
    store.close()
    return tenant.tenant_id


_migrated: list[bytes] = []  # a new store, migrated once per process


def _new_store_file(path: Any) -> None:
    """Put an empty store with every migration applied where a profile's store goes, as
    the first command run there would leave it: copied, not migrated again for each of
    the hundreds of tests that connect a profile (fourteen migrations, ten
    milliseconds a test). Opening a new file runs the migrations in tests of their
    own (tests/team, tests/foundation)."""
    import os
    import tempfile
    from pathlib import Path

    from xerolink.store.sqlite import SqliteStore

    if not _migrated:
        with tempfile.TemporaryDirectory() as folder:
            template = Path(folder) / "xerolink.db"
            store = SqliteStore(template, keep_copies=False)
            store.close()
            _migrated.append(template.read_bytes())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return  # a profile connected again keeps its store
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(_migrated[0])


def crm_csv_from_sandbox(server: Any, path: Any, *, tenant_index: int = 0, limit: int | None
                         = None, email_every: int = 1, only: Collection[str] | None = None
                         ) -> list[dict[str, Any]]:
    """CRM contacts made from a sandbox organisation's contacts (so emails match);
    ``only``: just these ContactIDs, each keeping the CRM id its place gives it."""
    import csv

    tenant = server.tenants[tenant_index]
    rows = []
    for number, contact in enumerate(list(tenant.contacts.values())[:limit], start=1):
        if only is not None and contact["ContactID"] not in only:
            continue
        email = contact.get("EmailAddress") or ""
        rows.append({"id": str(number), "first_name": contact.get("FirstName", ""),
                     "last_name": contact.get("LastName", ""),
                     "email": email if number % email_every == 0 else "",
                     "phone": "", "company_id": ""})
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows

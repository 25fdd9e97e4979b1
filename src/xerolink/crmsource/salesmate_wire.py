"""How xerolink talks to a Salesmate server: the host a message names, a pool whose
sockets a call's deadline can cut, and what an answer means (whose problem a failure
is)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

from xerolink.crmsource.salesmate_rows import printable
from xerolink.errors import CrmRecordRefusedError, CrmRefusedError, CrmUnreachableError
from xerolink.xero.http import pool_manager


def host_for(linkname: str) -> str:
    return f"{linkname}.salesmate.io"


def where(linkname: str, base_url: str | None) -> str:
    """The server a message names: the account's own host, or the Salesmate-compatible
    server ``--salesmate-url`` points at."""
    if not base_url:
        return host_for(linkname)
    parts = urlsplit(base_url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.hostname or 'the server given'}{port} (linkname {linkname})"[:200]


class Sockets:
    """The socket each thread is waiting on, so that a call past its deadline can be
    cut off from another thread (urllib3's read timeout is per socket read) without
    cutting the calls other threads have in flight."""

    def __init__(self) -> None:
        self._held: dict[int, weakref.ref[socket.socket]] = {}
        self._lock = threading.Lock()

    def claim(self, sock: socket.socket | None) -> None:
        """The calling thread is about to wait on ``sock``."""
        if sock is not None:
            with self._lock:
                self._held[threading.get_ident()] = weakref.ref(sock)

    def cut(self, thread: int) -> None:
        """Cut the socket ``thread`` last waited on."""
        with self._lock:
            held = self._held.pop(thread, None)
        sock = held() if held is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to cut
                sock.shutdown(socket.SHUT_RDWR)


def pool_with_sockets(timeouts: tuple[float, float], sockets: Sockets,
                      connections: int = 1) -> Any:
    """The shared pool manager (at most ``connections`` sockets to one host, one per
    worker of a push), whose connections say which thread waits on which socket."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Claiming:
        """Claims its socket for the calling thread on connecting and on waiting."""

        sock: socket.socket | None

        def connect(self) -> None:
            super().connect()  # type: ignore[misc]
            sockets.claim(self.sock)

        def getresponse(self) -> Any:
            sockets.claim(self.sock)
            return super().getresponse()  # type: ignore[misc]

    class Plain(Claiming, HTTPConnection):
        pass

    class Secure(Claiming, HTTPSConnection):
        pass

    class PlainPool(HTTPConnectionPool):
        ConnectionCls = Plain

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = Secure

    manager = pool_manager(maxsize=max(1, connections), timeout=timeouts)
    manager.pool_classes_by_scheme = {"http": PlainPool, "https": SecurePool}
    return manager


class NoSuchRecord(CrmRecordRefusedError):
    """Salesmate's ObjectNotFound: the record is not (or no longer) there."""


def answer(status: int, raw: bytes, host: str, *, record_call: bool) -> dict[str, Any]:
    """The JSON of a successful answer; otherwise the error that says whose problem it
    is: the credentials or the account (exit 8, the command stops), one record (exit 8,
    a push goes on with the others), or Salesmate itself (exit 9). ``host`` names the
    server that answered."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # [[[[... is not an answer
        data = None
    if status in (401, 403):
        raise CrmRefusedError(
            f"Salesmate refused the access token for {host} (HTTP {status}): check the token "
            "(Salesmate: My Account > Access Key) and run `xerolink crm connect salesmate` "
            "again")
    found = data.get("Error") if isinstance(data, dict) else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(error.get("Name") or "")
    if 300 <= status < 400 or (status == 404 and not (record_call and
                                                      name == "ObjectNotFound")):
        raise CrmRefusedError(
            f"no Salesmate account answers at {host} (HTTP {status}): check the linkname "
            "(the NAME in https://NAME.salesmate.io)")
    if not isinstance(data, dict):
        raise CrmUnreachableError(f"Salesmate answered HTTP {status} with something other "
                                  "than JSON; nothing more was changed; try again later")
    if status < 300 and data.get("Status") == "success":
        return data
    message = printable(str(error.get("Message") or data.get("message") or ""))
    if name.lower().startswith(("unauthor", "authentication", "invalidtoken",
                                "invalidlinkname", "invalidaccount")):
        raise CrmRefusedError(
            f"Salesmate refused the access token or linkname for {host} ({message or name}): "
            "check both and run `xerolink crm connect salesmate` again")
    if name == "ObjectNotFound":
        raise NoSuchRecord(f"Salesmate has no such record ({message or name})")
    raise CrmRecordRefusedError(
        f"Salesmate refused the request (HTTP {status}{', ' + name if name else ''}): "
        f"{message or 'no reason given'}")

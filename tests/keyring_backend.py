"""A keyring backend for tests: a JSON file named by XEROLINK_TEST_KEYRING, so that
several xerolink processes share it like they would share the OS keyring.

Select it with PYTHON_KEYRING_BACKEND=keyring_backend.FileKeyring (tests/ on
PYTHONPATH). It lives outside XEROLINK_HOME, as the OS keyring would.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["XEROLINK_TEST_KEYRING"])

    def _update(self, change) -> object:  # type: ignore[no-untyped-def]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
                result = change(data)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                os.replace(tmp, self.path)
                return result
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get_password(self, service: str, username: str) -> str | None:
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text()).get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._update(lambda d: d.__setitem__(f"{service}/{username}", password))

    def delete_password(self, service: str, username: str) -> None:
        def drop(data: dict) -> None:
            if data.pop(f"{service}/{username}", None) is None:
                raise PasswordDeleteError("no such password")

        self._update(drop)

"""A throwaway pgbouncer in transaction pooling mode in front of a test PostgreSQL, on a
free loopback port: each statement (or transaction) may run on any server connection,
so nothing a session sets or holds survives it (advisory locks, prepared statements).

Used when Debian's pgbouncer is installed (`.ci/run` installs it); otherwise the tests
that need it are skipped with the reason. pgbouncer refuses to run as root, so as root
it runs as the `postgres` system user, as the test server does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in CANDIDATES if Path(c).exists()), None)


class PgBouncer:
    """pgbouncer for every database of ``server``, trusting the listed logins, with
    fewer server connections than clients (``pool_size``) so that clients share them."""

    def __init__(self, server, logins: list[str], pool_size: int = 4) -> None:
        binary = find_pgbouncer()
        assert binary is not None
        self.root = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir=server.root))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        (self.root / "users.txt").write_text(
            "".join(f'"{login}" ""\n' for login in logins), encoding="utf-8")
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 200\n"
            # PostgreSQL's `options` startup parameter is not pgbouncer's to pass on
            # (1.18): ignored here, so the database's own defaults (team init) apply.
            "ignore_startup_parameters = options\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            f"pidfile = {self.root / 'pgbouncer.pid'}\n", encoding="utf-8")
        command = [binary, "-d", str(self.root / "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(self.root / name, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen on {self.port}: "
                           f"{(self.root / 'pgbouncer.log').read_text(errors='replace')}")

    def url(self, user: str, database: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        return (self.root / "pgbouncer.log").read_text(errors="replace")

    def stop(self) -> None:
        pid_file = self.root / "pgbouncer.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 15)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)

"""Helpers for attacking the whole tool: xerolink as subprocesses against a sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]


@dataclass
class Proc:
    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
        env.update({"XEROLINK_HOME": str(self.home), "XEROLINK_USER": "alice",
                    "XEROLINK_TOKEN_STORE": "file", "NO_COLOR": "1",
                    "PYTHONPATH": os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])})
        return env

    def start(self, *args: str, profile: str = "default") -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "xerolink", "--profile", profile, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env)

    def run(self, *args: str, profile: str = "default", timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "xerolink", "--profile", profile, *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout)

    def json(self, *args: str, profile: str = "default") -> Any:
        result = self.run(*args, "--json", profile=profile)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def expire_token(self, profile: str = "default") -> None:
        path = self.home / "profiles" / profile / "tokens.json"
        data = json.loads(path.read_text())
        for entry in data.values():
            entry["expires_at"] = 0
        path.write_text(json.dumps(data))


@pytest.fixture
def proc(tmp_path) -> Proc:
    return Proc(tmp_path / "home")

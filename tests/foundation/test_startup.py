"""Commands that do not call Xero never load the HTTP stack, the SDK or the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys

from support import connect_profile, crm_csv_from_sandbox

HEAVY = ("xero_python", "xerolink.sandbox", "urllib3", "keyring", "filelock")


def _imported(args: list[str], env: dict[str, str]) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "xerolink", *args],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr[-500:]
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def test_help_config_and_a_cached_summary_stay_light(cli, sandbox, home, tmp_path,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    connect_profile(sandbox, home)
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=5)
    cli("crm", "import", str(tmp_path / "crm.csv"))
    cli("link", "--auto")
    ref = cli.json("links")[0]["crm"]
    cli.json("summary", ref)  # fills the cache
    env = {**os.environ}
    for args in (["--help"], ["config", "list"], ["summary", ref, "--json"],
                 ["details", ref, "--json"], ["links", "--json"]):
        loaded = _imported(args, env)
        heavy = sorted(name for name in loaded if name.startswith(HEAVY))
        assert not heavy, (args, heavy[:5])

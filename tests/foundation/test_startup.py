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


def test_help_loads_no_service_store_or_api_module() -> None:
    """``--help`` needs the commands' names and help, never their work: a service
    imported at the top of a command module costs every start-up."""
    loaded = _imported(["--help"], {**os.environ})
    working = sorted(name for name in loaded
                     if name.startswith(("xerolink.services", "xerolink.store",
                                         "xerolink.api", "xerolink.crmsource")))
    assert not working, working[:5]


def _median_cpu_seconds(runs: list[list[str]], times: int) -> list[float]:
    """Each command's median CPU time (user + system, the child's own), the commands
    taken in turn: CPU time, unlike wall time, hardly moves with the load of a shared
    machine."""
    import statistics

    seen: list[list[float]] = [[] for _ in runs]
    for _ in range(times):
        for index, args in enumerate(runs):
            child = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            assert child.returncode == 0, args
            seen[index].append(usage.ru_utime + usage.ru_stime)
    return [statistics.median(each) for each in seen]


def test_help_starts_about_as_fast_as_typer_and_rich_alone() -> None:
    """``xerolink --help`` against ``python -c "import typer, rich.console"`` (the floor
    any Typer command pays), by the median CPU time of 7 runs each. The goal is 1.35x
    on a quiet machine; the bound is 1.5x in any of three rounds, room for a shared and
    loaded machine, where noise only ever adds; the 2.5x seen when --help imported the
    CRM services fails every round."""
    from pathlib import Path

    script = Path(sys.executable).with_name("xerolink")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "xerolink"]
    seen = []
    for _ in range(3):
        floor, help_ = _median_cpu_seconds(
            [[sys.executable, "-c", "import typer, rich.console"], [*command, "--help"]],
            times=7)
        seen.append(f"{help_ * 1000:.0f} ms against {floor * 1000:.0f} ms")
        if help_ / floor < 1.5:
            return
    raise AssertionError(f"--help took over 1.5x the floor: {'; '.join(seen)}")


def test_the_shallow_top_level_help_is_the_whole_apps() -> None:
    """The top-level --help builds command groups without their modules; what it prints
    is what the whole app's help prints."""
    import typer

    from xerolink.cli import ROOT_HELP, build_app

    def shown(only: str | None) -> str:
        command = typer.main.get_command(build_app(only))
        with command.make_context("xerolink", [], resilient_parsing=True) as ctx:
            return command.get_help(ctx)

    whole = shown(None)
    assert shown(ROOT_HELP) == whole and "crm" in whole and "sandbox" in whole

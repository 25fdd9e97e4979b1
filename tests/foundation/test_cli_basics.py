"""The command line as a new user meets it: version, help, errors, JSON, CSV, config."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from xerolink import __version__
from xerolink.cli import main


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xerolink", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_version_prints_the_version(home) -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"xerolink {__version__}"


def test_an_unknown_command_is_one_line_and_exit_2(home) -> None:
    result = run("nonsense")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No such command 'nonsense'")
    assert "Traceback" not in result.stderr


def test_help_lists_groups_and_examples(home) -> None:
    result = run("--help")
    assert result.returncode == 0
    for word in ("config", "sandbox", "Examples", "Exit codes"):
        assert word in result.stdout
    sub = run("config", "set", "--help")
    assert "$ xerolink config set sales_account 200" in sub.stdout


@pytest.mark.parametrize("args", [("--json", "config", "list"), ("config", "list", "--json")])
def test_json_is_one_document_in_either_position(home, args) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert {s["key"] for s in settings} >= {"client_id", "sales_account", "xero_url"}
    assert result.stderr == ""


def test_config_set_get_roundtrip_and_validation(home, capsys) -> None:
    assert main(["config", "set", "sales_account", "210"]) == 0
    capsys.readouterr()
    assert main(["config", "get", "sales_account", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"key": "sales_account", "value": "210",
                                                    "source": "config file", "set": True}
    config = home / "profiles" / "default" / "config.toml"
    before = config.read_bytes()
    assert main(["config", "set", "max_wait", "soon"]) == 2
    assert capsys.readouterr().err == "error: invalid value for max_wait: must be a whole number\n"
    assert main(["config", "set", "xero_url", "http://example.com"]) == 2
    assert main(["config", "set", "no_such_key", "1"]) == 2
    assert config.read_bytes() == before, "a refused value changes nothing"
    assert oct(config.stat().st_mode & 0o777) == "0o600"


def test_profiles_are_isolated(home, capsys) -> None:
    assert main(["--profile", "team", "config", "set", "client_id", "ABC"]) == 0
    capsys.readouterr()
    main(["config", "get", "client_id", "--json"])
    assert json.loads(capsys.readouterr().out)["value"] is None
    os.environ["XEROLINK_PROFILE"] = "team"
    try:
        main(["config", "get", "client_id", "--json"])
        assert json.loads(capsys.readouterr().out)["value"] == "ABC"
    finally:
        del os.environ["XEROLINK_PROFILE"]
    assert main(["--profile", "../evil", "config", "list"]) == 2
    capsys.readouterr()
    for blank in ("", " "):  # not the default profile in silence
        assert main(["--profile", blank, "config", "list"]) == 2
        assert "--profile needs a name" in capsys.readouterr().err


def test_csv_output_of_a_list(home, capsys) -> None:
    assert main(["config", "list", "--csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "key,value,source,set,problem,description"
    assert main(["config", "get", "client_id", "--json", "--csv"]) == 2


def test_a_broken_config_file_is_a_clear_error(home, capsys) -> None:
    path = home / "profiles" / "default" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("client_id = = 3\n")
    assert main(["config", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not valid TOML" in err and err.count("\n") == 1


def test_unexpected_errors_are_one_line_and_debug_shows_a_redacted_trace(home, capsys) -> None:
    from xerolink.cli._runtime import Runtime
    from xerolink.redact import register_secret

    register_secret("sekrit-refresh-token-value")

    class Exploding(Runtime):
        @property
        def config(self):  # type: ignore[override]
            raise RuntimeError("boom with sekrit-refresh-token-value inside")

    assert main(["config", "list"], runtime=Exploding()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError" in err
    assert "sekrit-refresh-token-value" not in err
    assert main(["--debug", "config", "list"], runtime=Exploding()) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "sekrit-refresh-token-value" not in err


def test_help_lists_every_exit_code_from_the_enum(home) -> None:
    from xerolink.cli import EXIT_CODE_MEANINGS
    from xerolink.errors import ExitCode

    assert set(EXIT_CODE_MEANINGS) == set(ExitCode), "one meaning per code, no more"
    text = run("--help").stdout
    block = text[text.index("Exit codes:"):]
    listed = [int(line.split()[0]) for line in block.splitlines()[1:] if line.strip()]
    assert listed == [int(code) for code in ExitCode]
    for code in (7, 8, 9, 10, 11, 12, 130):
        assert f"{code:>3}  {EXIT_CODE_MEANINGS[ExitCode(code)]}" in block


def test_status_exits_7_when_xero_is_unreachable_and_says_so_in_its_help(cli, sandbox,
                                                                         connected) -> None:
    assert "7 when Xero cannot be" in run("status", "--help").stdout
    sandbox.stop()
    code, out, err = cli("status")
    assert code == 7 and out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert cli("status", "--offline")[0] == 0


def test_status_shows_every_moment_in_one_format(cli, connected) -> None:
    import re

    assert cli("search", "a")[0] == 0  # an Accounting call: Xero's rate-limit headers
    code, out, _ = cli("status")
    assert code == 0
    assert "seen " in out and not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", out), out
    stamps = re.findall(r"\d{4}-\d\d-\d\d[^,)\n]*", out)
    assert len(stamps) >= 4 and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", s.strip())
                                    for s in stamps), stamps

"""Habits of a serious CLI: --csv only where there is a list, settings that say where
their value comes from, wording that fits the count."""

from __future__ import annotations

import json

from xerolink.cli import main


def test_csv_on_a_command_without_a_list_is_refused(home, capsys) -> None:
    for args in (["--csv", "status"], ["--csv", "config", "get", "sales_account"],
                 ["status", "--csv"], ["summary", "contact:c1", "--csv"],
                 ["config", "get", "sales_account", "--csv"]):
        assert main(args) == 2
        assert "--csv is for commands that print a list" in capsys.readouterr().err
    assert main(["--csv", "crm", "list"]) == 0
    assert main(["config", "get", "sales_account", "--csv"]) == 2
    assert "and `config get` does not" in capsys.readouterr().err, "the whole command named"


def test_refresh_asks_for_a_record_or_all_and_refuses_both(home, capsys) -> None:
    assert main(["refresh"]) == 2
    assert "give a record to refresh, or --all" in capsys.readouterr().err
    assert main(["refresh", "contact:c1", "--all"]) == 2
    assert "give a record to refresh or --all, not both" in capsys.readouterr().err


def test_config_list_shows_the_value_in_force_and_where_it_comes_from(home, capsys,
                                                                       monkeypatch) -> None:
    assert main(["config", "set", "token_store", "keyring"]) == 0
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    capsys.readouterr()
    assert main(["config", "list", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["token_store"]["value"] == "file"
    assert rows["token_store"]["source"] == "environment (XEROLINK_TOKEN_STORE)"
    assert rows["sales_account"]["source"] == "default"
    assert main(["config", "get", "token_store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"].startswith("environment")
    monkeypatch.delenv("XEROLINK_TOKEN_STORE")
    assert main(["config", "get", "token_store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "config file"


def test_counts_are_worded_for_one_and_many(cli, tmp_path) -> None:
    from xerolink.render import plural

    assert plural(1, "contact") == "1 contact" and plural(2, "company") == "2 companies"
    assert plural(1500, "deal") == "1,500 deals"
    (tmp_path / "one.csv").write_text("id,first_name\n1,Ann\n")
    assert cli("crm", "import", str(tmp_path / "one.csv"))[1].strip() == \
        "Imported 1 contact from one.csv"


def test_linking_an_unknown_contact_id_says_which(cli, connected, sandbox, tmp_path) -> None:
    (tmp_path / "one.csv").write_text("id,first_name\n1,Ann\n")
    assert cli("crm", "import", str(tmp_path / "one.csv"))[0] == 0
    missing = "00000000-0000-4000-8000-000000000404"
    code, _, err = cli("link", "contact:1", missing)
    assert code == 5 and f"no Xero contact with ContactID {missing}" in err


def test_overdue_figures_and_doctor_problems_stand_out_in_colour_only_on_a_terminal(
        cli, connected, sandbox, tmp_path, monkeypatch) -> None:
    from support import crm_csv_from_sandbox

    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv")
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    ref = next(r["crm"] for r in cli.json("links")
               if cli.json("summary", r["crm"])["overdue_invoices"]["count"])
    _, plain, _ = cli("summary", ref)  # NO_COLOR is set, and output is not a terminal
    assert "\x1b[" not in plain
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    _, coloured, _ = cli("summary", ref)
    overdue = next(line for line in coloured.splitlines() if "Overdue invoices" in line)
    assert "\x1b[1;31m" in overdue
    outstanding = next(line for line in coloured.splitlines() if "Outstanding bills" in line)
    assert "\x1b[1;31m" not in outstanding


def _complete(home, words: str, shell: str = "complete_bash") -> list[str]:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
    env.update({"XEROLINK_HOME": str(home), "_XEROLINK_COMPLETE": shell,
                "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
                "_TYPER_COMPLETE_ARGS": words, "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    result = subprocess.run([sys.executable, "-m", "xerolink"], env=env, capture_output=True,
                            text=True, timeout=60)
    return result.stdout.split()


def test_shell_completion_of_commands_options_and_refs_from_the_store(home, tmp_path
                                                                      ) -> None:
    assert _complete(home, "xerolink summary con") == [], "no store yet: nothing, no error"
    assert not (home / "profiles").exists(), "completion creates nothing"
    (tmp_path / "c.csv").write_text("id,first_name\n1,Ann\n12,Bo\n")
    (tmp_path / "d.csv").write_text("id,title\n9,Deal\n")
    for path in (tmp_path / "c.csv", tmp_path / "d.csv"):
        assert main(["crm", "import", str(path)]) == 0
    assert _complete(home, "xerolink summary con") == ["contact:1", "contact:12"]
    assert _complete(home, "xerolink deal docs de") == ["deal:9"]
    assert _complete(home, "xerolink su") == ["suggest", "summary"]
    assert "--refresh" in _complete(home, "xerolink summary --re")
    assert _complete(home, "xerolink summary con", "complete_fish") == ["contact:1",
                                                                          "contact:12"]
    # Typer detects the shell from the parent process: run it from bash, as a user would
    # (a process with no shell above it, under cron or a detached CI job, has none);
    # "; exit $?" keeps bash from replacing itself with the command.
    import shlex
    import subprocess
    import sys

    script = subprocess.run(["bash", "-c", f"{shlex.quote(sys.executable)} -m xerolink "
                             "--show-completion; exit $?"], capture_output=True, text=True,
                            timeout=60)
    assert "_xerolink_completion" in script.stdout, script.stderr


def subprocess_output(args: list[str]) -> str:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "xerolink", *args], capture_output=True,
                            text=True, timeout=60)
    return result.stdout or f"(no output; exit {result.returncode}; stderr: {result.stderr})"


class _Terminal:
    """A stderr that says it is a terminal, and keeps what was written."""

    def __init__(self) -> None:
        import io

        self.buffer = io.StringIO()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def flush(self) -> None:
        return None


def test_progress_shows_phases_and_waits_on_the_bar(cli, connected, sandbox, tmp_path,
                                                    monkeypatch) -> None:
    import io

    from support import crm_csv_from_sandbox
    from xerolink.cli._runtime import Runtime
    from xerolink.render import Renderer

    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=20)
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0
    assert cli("link", "--auto")[0] == 0
    terminal = _Terminal()
    renderer = Renderer(mode="human", stdout=io.StringIO(), stderr=terminal)  # type: ignore[arg-type]
    with renderer.progress("Refreshing") as update:
        update(3, 10, "Invoices and bills of 10 contacts")
        renderer.notice("Xero's minute rate limit reached during GET Invoices; waiting 40 s")
        update(10, 10, "Open quotes")
    shown = terminal.buffer.getvalue()
    assert "waiting 40 s" in shown and "Invoices and bills of 10 contacts" in shown
    assert not any(line.startswith("Xero's minute") for line in shown.splitlines()), \
        "the wait is on the bar, not a line printed over it"
    monkeypatch.setenv("COLUMNS", "120")
    terminal = _Terminal()
    runtime = Runtime(renderer_factory=lambda mode: Renderer(
        mode=mode, stdout=io.StringIO(), stderr=terminal))  # type: ignore[arg-type]
    assert main(["refresh", "--all"], runtime=runtime) == 0
    shown = terminal.buffer.getvalue()
    assert "Invoices and bills of" in shown and "Open quotes" in shown


def test_every_group_help_shows_examples() -> None:
    for group in ("access", "crm", "deal", "team", "config", "sandbox"):
        assert "$ xerolink" in subprocess_output([group, "--help"]), group


def test_a_negative_value_is_told_to_come_after_double_dash(home, capsys) -> None:
    assert main(["config", "set", "max_wait", "-1"]) == 2
    err = capsys.readouterr().err
    assert "No such option: -1" in err and "`xerolink config set -- KEY -1`" in err, err
    assert main(["config", "set", "--", "max_wait", "-1"]) == 2
    assert "must be a whole number of seconds" in capsys.readouterr().err

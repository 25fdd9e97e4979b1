"""Habits of a serious CLI: --csv only where there is a list, settings that say where
their value comes from, wording that fits the count."""

from __future__ import annotations

import json

from xerolink.cli import main


def test_csv_on_a_command_without_a_list_is_refused(home, capsys) -> None:
    for args in (["--csv", "status"], ["--csv", "config", "get", "sales_account"]):
        assert main(args) == 2
        assert "--csv is for commands that print a list" in capsys.readouterr().err
    assert main(["--csv", "crm", "list"]) == 0


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

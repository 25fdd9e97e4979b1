"""A token file that is JSON of the wrong shape is a damaged token file (exit 3, what
to do), and a finding for doctor (exit 10): never a crash (exit 1)."""

from __future__ import annotations

import json

import pytest

from support import crm_csv_from_sandbox


def _tokens(home):
    return home / "profiles" / "default" / "tokens.json"


@pytest.mark.parametrize("shape", ["[1, 2]", '"text"', "5", "null"])
def test_a_token_file_that_is_not_an_object_is_damaged_for_every_command(
        cli, connected, sandbox, home, tmp_path, shape) -> None:
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=3)
    cli("crm", "import", str(tmp_path / "crm.csv"))
    cli("link", "--auto")
    ref = cli.json("links")[0]["crm"]
    _tokens(home).write_text(shape)
    for command in (["status"], ["summary", ref, "--refresh"]):
        code, out, err = cli(*command)
        assert code == 3, (command, err)
        assert "token file" in err and "damaged" in err and "xerolink connect" in err
        assert "Traceback" not in out + err
    code, out, _ = cli("doctor", "--offline", "--json")
    assert code == 10
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["tokens"]["status"] == "problem" and "damaged" in checks["tokens"]["detail"]


@pytest.mark.parametrize("entry", ["str", 5, [], {"kind": "pkce"},
                                   {"kind": "pkce", "client_id": 7, "access_token": "a"},
                                   {"kind": "pkce", "client_id": "c", "access_token": "a",
                                    "lifetime": "long"}])
def test_an_entry_of_the_wrong_shape_is_damaged_not_a_type_error(cli, connected, home,
                                                                 entry) -> None:
    _tokens(home).write_text(json.dumps({connected: entry}))
    code, _, err = cli("status")
    assert code == 3, err
    assert "damaged" in err and "xerolink connect" in err
    code, out, _ = cli("doctor", "--offline", "--json")
    assert code == 10
    checks = {c["check"]: c for c in json.loads(out)}
    assert "damaged" in checks["tokens"]["detail"]

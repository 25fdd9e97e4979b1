"""The generated pages of the docs site (scripts/make_docs.py) match the code, cover
every command, and the site builds with `mkdocs build --strict`."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_reference_pages_are_what_the_code_gives() -> None:
    docs = make_docs()
    for path, make in docs.PAGES.items():
        assert path.read_text() == make(), (
            f"{path.relative_to(ROOT)} is stale: run python scripts/make_docs.py")


def test_the_check_fails_naming_a_page_that_drifted(tmp_path, monkeypatch, capsys) -> None:
    docs = make_docs()
    page = tmp_path / "cli.md"
    page.write_text(docs.cli_page().replace("Print the version and exit.", "Old help."))
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setattr(docs, "PAGES", {page: docs.cli_page})
    assert docs.main(["--check"]) == 1
    assert "cli.md differs from the code" in capsys.readouterr().err
    assert docs.main([]) == 0 and docs.main(["--check"]) == 0


def _commands(help_text: str) -> list[str]:
    """The names a --help lists under "Commands:"."""
    section = help_text.split("\nCommands:\n", 1)
    if len(section) == 1:
        return []
    names = []
    for line in section[1].splitlines():
        if not line.strip():
            break
        if re.match(r"^  \S", line):
            names.append(line.split()[0])
    return names


def test_every_command_and_subcommand_of_help_is_in_the_reference(cli) -> None:
    reference = (ROOT / "docs" / "reference" / "cli.md").read_text()
    documented = set(make_docs().command_paths(reference))
    code, out, _ = cli("--help")
    assert code == 0
    seen = []
    todo = [[name] for name in _commands(out)]
    assert len(todo) > 20, out
    while todo:
        path = todo.pop()
        seen.append(path)
        code, out, err = cli(*path, "--help")
        assert code == 0, err
        todo += [[*path, name] for name in _commands(out)]
    missing = [" ".join(p) for p in seen if "xerolink " + " ".join(p) not in documented]
    assert missing == []
    assert any(len(p) == 2 for p in seen), "subcommands were walked"


def test_the_results_printed_as_their_fields_have_their_schema(cli) -> None:
    """A result whose --json is its fields: the schema names exactly the keys printed."""
    page = (ROOT / "docs" / "reference" / "json.md").read_text()
    schemas = {s["title"]: s for s in
               (json.loads(b) for b in re.findall(r"```json\n(.*?)```", page, re.S))}
    sample = ROOT / "src" / "xerolink" / "sample_data" / "contacts.csv"
    assert cli("crm", "import", str(sample))[0] == 0
    printed = cli.json("crm", "remove", "contact:c1", "--yes")
    schema = schemas["Removed"]
    assert printed.keys() == schema["properties"].keys() == set(schema["required"])


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed (it is in the test extra)")
def test_the_site_builds_strictly(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
         str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").exists()


def test_every_visible_option_says_what_it_is_and_is_named_as_its_parameter() -> None:
    """An option with no help reads as an empty line in the reference; a name ending in
    "-" is Typer's name for ``date_`` when the option's Annotated metadata was lost (as
    create-bill's rebuilt signature once lost it: ``--date-``, and no help at all)."""
    import typer

    from xerolink.cli import build_app

    def commands(group: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        for name, command in getattr(group, "commands", {}).items():
            if getattr(command, "commands", None):
                yield from commands(command, (*path, name))
            else:
                yield (*path, name), command

    found = []
    every = list(commands(typer.main.get_command(build_app()), ()))
    assert len(every) > 40
    for path, command in every:
        for param in command.params:
            if param.param_type_name != "option" or param.hidden:
                continue
            if not param.help or any(o.endswith("-") for o in param.opts):
                found.append((" ".join(path), param.opts, param.help))
    assert found == []

"""The generated JSON shapes (docs/reference/json.md, from the result types' type
hints) describe what `--json` really prints: real commands against the sandbox,
validated against the page's schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]


def schemas() -> dict[str, Any]:
    page = (ROOT / "docs" / "reference" / "json.md").read_text()
    found = (json.loads(block) for block in re.findall(r"```json\n(.*?)```", page, re.S))
    return {schema["title"]: schema for schema in found}


def test_every_schema_on_the_page_is_a_valid_json_schema() -> None:
    found = schemas()
    assert len(found) > 20
    for schema in found.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(("title", "args"), [
    ("AutoLinked", ["link", "--auto"]),  # results printed as their fields
    ("Refreshed", ["refresh", "--all"]),
    ("ViewLink", ["view", "{ref}"]),
    ("SummaryReport", ["summary", "{ref}"]),  # shapes read from their to_json()
    ("StatusReport", ["status"]),
    ("Linked", ["link", "{ref}", "{xero}"]),
    ("Unlinked", ["unlink", "{ref}"]),
    ("Setting", ["config", "get", "sales_account"]),
    ("Rows", ["links"]),
    ("CrmRecord", ["crm", "show", "{ref}"]),
    ("Diagnosis", ["doctor", "--offline"]),
])
def test_a_commands_json_matches_the_generated_schema(
        linked, cli, title, args) -> None:
    xero = cli.json("links")[0]["xero_contact_id"]
    printed = cli.json(*[a.format(ref=linked, xero=xero) for a in args])
    jsonschema.validate(printed, schemas()[title], cls=jsonschema.Draft202012Validator)


def test_the_schema_is_strict_enough_to_fail(linked, cli) -> None:
    printed = cli.json("view", linked)
    printed["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(printed, schemas()["ViewLink"])

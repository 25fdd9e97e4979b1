"""A profile connected to the sandbox with CRM contacts imported and linked."""

from __future__ import annotations

import pytest

import xerolink
from support import crm_csv_from_sandbox


@pytest.fixture
def linked(connected, sandbox, home, tmp_path) -> str:
    crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv", limit=30)
    with xerolink.open() as xl:
        xl.crm_import(tmp_path / "crm.csv")
        report = xl.auto_link()
    assert report.linked, "the sample links by email"
    return report.linked[0]["crm"]

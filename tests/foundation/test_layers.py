"""The layering contracts (pyproject's [tool.importlinter]) break when a forbidden import
is added: the floors are held by a machine, not by memory. That they hold, and that mypy
passes, the test command checks once, before pytest (.ci/run, README)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml")], env=env,
                          capture_output=True, text=True, timeout=120, cwd=src)


def test_a_forbidden_import_breaks_its_contract(tmp_path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "xerolink", copy / "xerolink",
                    ignore=shutil.ignore_patterns("__pycache__"))
    budget = copy / "xerolink" / "services" / "budget.py"
    budget.write_text(budget.read_text() + "\nimport rich  # a service printing\n")
    sandbox = copy / "xerolink" / "sandbox" / "scopes.py"
    sandbox.write_text(sandbox.read_text() + "\nimport xerolink.errors\n")
    crm = copy / "xerolink" / "cli" / "crm.py"
    crm.write_text(crm.read_text() + "\nfrom xerolink.store import open_store  # SQL in the CLI\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "xerolink.services.budget -> rich" in result.stdout
    assert "xerolink.sandbox.scopes -> xerolink.errors" in result.stdout
    assert "xerolink.cli.crm -> xerolink.store" in result.stdout



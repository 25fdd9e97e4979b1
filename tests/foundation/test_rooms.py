"""Rooms are cut by purpose, not by a line count: no function runs over 60 lines, and
no module imports itself back through another (the import graph has no circle)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
LONGEST = 60
SEED_DATA = {"src/xerolink/sandbox/seed.py"}  # the sandbox's demo data may run long


def long_functions(root: Path, base: Path = ROOT) -> dict[str, int]:
    """Every function (decorators and signature to last line) over LONGEST lines."""
    long: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(base))
        if where in SEED_DATA:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (lines := (node.end_lineno or node.lineno) - first + 1) > LONGEST:
                    long[f"{where}:{node.lineno} {node.name}"] = lines
    return long


def cycles(*packages: str) -> list[tuple[str, ...]]:
    """One shortest circle through each import that leads back to its importer."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    found: set[tuple[str, ...]] = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                circle = (module, *chain)
                start = circle.index(min(circle[:-1]))
                found.add(circle[start:-1] + circle[:start + 1])
    return sorted(found)


def test_no_function_is_over_60_lines() -> None:
    assert not (long := long_functions(ROOT / "src")), long


def test_the_length_check_sees_a_long_function(tmp_path) -> None:
    module = tmp_path / "src" / "long.py"
    module.parent.mkdir()
    module.write_text("def f():\n" + "    x = 1\n" * LONGEST + "\n\ndef g():\n    pass\n")
    assert long_functions(tmp_path / "src", tmp_path) == {"src/long.py:1 f": LONGEST + 1}


def test_no_import_circles_in_src_or_benchmarks(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(ROOT / "src"))
    assert cycles("xerolink", "benchmarks") == []


def test_the_circle_check_sees_a_circle(tmp_path, monkeypatch) -> None:
    package = tmp_path / "circle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circle import b\n")
    (package / "b.py").write_text("def f():\n    from circle import a  # late, still a circle\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles("circle") == [("circle.a", "circle.b", "circle.a")]
    assert "circle" not in sys.modules

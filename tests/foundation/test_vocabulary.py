"""One vocabulary: record kinds, document kinds, statuses and the five figures are
defined once (xerolink/vocabulary.py), and Xero's field names live in xero/ only.

The check reads the source's string literals (not comments or docstrings): a plural
of a record kind, a collection naming two or more kinds or statuses, a comparison with
a kind written out, or a Xero field name outside its home is a second definition."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

from xerolink import vocabulary

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "xerolink"
HOME = "vocabulary.py"
XERO = "xero"
# The sandbox plays Xero and Salesmate: it speaks their wire format by purpose, and
# shares nothing with xerolink (its own import contract).
OUTSIDE = ("sandbox",)
PLURALS = set(vocabulary.RECORD_PLURALS)
WORDS = {"record kinds": {str(k) for k in vocabulary.RecordKind},
         "document kinds": {str(k) for k in vocabulary.DocumentKind},
         "statuses": {str(s) for s in vocabulary.Status}}
# PascalCase with two humps or more (ContactID, AmountDue, CurrencyCode), or a Xero
# enumeration value in capitals (ACCREC, AUTHORISED): the shape of Xero's words.
XERO_SHAPE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]*)+|[A-Z][a-z]+ID|[A-Z]{5,}")
KINDS = WORDS["record kinds"] | WORDS["document kinds"]
NOT_XERO = {"POST", "DELETE", "PATCH"}  # HTTP methods


class _Literals:
    """What the check reads of one module, gathered in one walk of its tree (four
    walks of every module took most of a second): its string literals but docstrings
    and a table column's header (words for people, such as a "ContactID" column),
    the ones a comparison tests against (``kind == "deal"``), and the string members
    of each tuple, list, set or dict's keys. Each in the tree's walking order."""

    def __init__(self, tree: ast.AST) -> None:
        self.strings: list[ast.Constant] = []
        self.compared: list[ast.Constant] = []
        self.collections: list[tuple[int, set[str]]] = []
        skipped: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef |
                          ast.AsyncFunctionDef) and node.body \
                    and isinstance(node.body[0], ast.Expr):
                skipped.add(id(node.body[0].value))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "Column" and len(node.args) > 1:
                skipped.add(id(node.args[1]))
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.strings.append(node)
            elif isinstance(node, ast.Compare):
                self.compared += [side for side in (node.left, *node.comparators)
                                  if isinstance(side, ast.Constant)
                                  and isinstance(side.value, str)]
            elif isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
                items = list(node.keys) if isinstance(node, ast.Dict) else list(node.elts)
                members = {i.value for i in items if isinstance(i, ast.Constant)
                           and isinstance(i.value, str)}
                if members:
                    self.collections.append((node.lineno, members))
        # A docstring is met (as a Constant) after the node that holds it.
        self.strings = [s for s in self.strings if id(s) not in skipped]


@functools.cache
def _read(path: Path, stamp: tuple[int, int]) -> _Literals:
    """A module's literals, read once per run (xero/ is read twice by the check)."""
    return _Literals(ast.parse(path.read_text()))


def _modules(package: Path) -> Iterator[tuple[Path, _Literals]]:
    """Each module of the package (but the home and the sandbox), by its path in it."""
    for path in sorted(package.rglob("*.py")):
        inside = path.relative_to(package)
        if str(inside) != HOME and inside.parts[0] not in OUTSIDE:
            info = path.stat()
            yield inside, _read(path, (info.st_mtime_ns, info.st_size))


def xero_field_names(package: Path = SRC) -> set[str]:
    """The Xero words xero/ itself uses: the set a second home would repeat."""
    return {s.value for _, module in _modules(package / XERO) for s in module.strings
            if XERO_SHAPE.fullmatch(s.value) and s.value not in NOT_XERO}


def second_definitions(package: Path = SRC) -> list[str]:
    xero_words = xero_field_names(SRC)
    found = []
    for inside, module in _modules(package):
        where, in_xero = f"{package.name}/{inside}", inside.parts[0] == XERO
        for s in module.strings:
            if s.value in PLURALS:
                found.append(f"{where}:{s.lineno} the plural {s.value!r}")
            elif not in_xero and s.value in xero_words:
                found.append(f"{where}:{s.lineno} Xero's {s.value!r}")
        for s in module.compared:
            if s.value in KINDS:
                found.append(f"{where}:{s.lineno} compares with the kind {s.value!r}")
        for line, members in module.collections:
            for name, words in WORDS.items():
                if len(members & words) >= 2:
                    found.append(f"{where}:{line} {name} {sorted(members & words)}")
    return found


def test_each_word_has_one_definition() -> None:
    assert second_definitions() == []


def test_the_check_finds_a_second_definition(tmp_path) -> None:
    """The forms the check must see: a kinds tuple, a plural, a status set, a Xero
    payload built outside xero/."""
    package = tmp_path / "xerolink"
    package.mkdir()
    (package / "again.py").write_text(
        'KINDS = ("contact", "company", "deal")\n'
        'def listing(kind="deals"):\n'
        '    """contacts, companies or deals: a docstring may say so."""\n'
        '    return {"quote": 1, "bill": 2}, kind in ("DRAFT", "SENT"), kind == "deal"\n'
        'PAYLOAD = {"ContactID": "c"}\n'
        'COLUMN = Column("xero_contact_id", "ContactID")\n')
    assert second_definitions(package) == ["xerolink/again.py:2 the plural 'deals'",
                     "xerolink/again.py:5 Xero's 'ContactID'",
                     "xerolink/again.py:4 compares with the kind 'deal'",
                     "xerolink/again.py:1 record kinds ['company', 'contact', 'deal']",
                     "xerolink/again.py:4 document kinds ['bill', 'quote']",
                     "xerolink/again.py:4 statuses ['DRAFT', 'SENT']"]


def test_xero_field_names_are_found_in_xero() -> None:
    """The home is not empty, so the check above compares against something real."""
    assert {"ContactID", "AmountDue", "CurrencyCode", "ACCPAY"} <= xero_field_names()


def test_the_docs_figures_table_is_the_vocabulary() -> None:
    """The manual's tables of the five figures and of the paid and credit ones (the
    README's, or the docs site's) say what vocabulary.FIGURES and SETTLEMENT_FIGURES
    say, row for row."""
    manual = "\n".join(p.read_text() for p in [ROOT / "README.md",
                                               *sorted((ROOT / "docs").rglob("*.md"))])
    for figure in (*vocabulary.FIGURES, *vocabulary.SETTLEMENT_FIGURES):
        assert f"| {figure.label} | {figure.documents} | {figure.amount} |" in manual

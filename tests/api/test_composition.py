"""``Xerolink`` is composed, not inherited: it holds its collaborators, and its public
names are exactly the documented methods (docs/python-api.md, or wherever a page of
the docs or the README says "The methods:"), so that the docs and the code cannot
drift apart."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import xerolink.api
from xerolink.api import Xerolink

ROOT = Path(__file__).resolve().parents[2]
HANDED_TO_THE_WIRING = {"calls", "close"}


def documented_methods() -> set[str]:
    """The names in the sentence that starts "The methods:" (in the README or docs/)."""
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        if "The methods:" not in text:
            continue
        sentence = re.split(r"\.\s", text.split("The methods:", 1)[1], maxsplit=1)[0]
        names = set(re.findall(r"`([a-z][a-z_]*)`", sentence))
        assert names, f"{page}: no method names after 'The methods:'"
        return names
    raise AssertionError("no page lists the Python API's methods ('The methods: ...')")


def api_classes() -> list[type]:
    """Every class defined in a module of xerolink.api."""
    found = []
    for module_info in pkgutil.iter_modules(xerolink.api.__path__, "xerolink.api."):
        module = importlib.import_module(module_info.name)
        found += [value for value in vars(module).values()
                  if inspect.isclass(value) and value.__module__ == module.__name__]
    return found


def test_the_public_names_are_the_documented_methods() -> None:
    public = {name for name in dir(Xerolink) if not name.startswith("_")}
    documented = documented_methods()
    assert public - documented == set(), "public but not documented"
    assert documented - public == set(), "documented but not on Xerolink"
    assert public >= HANDED_TO_THE_WIRING


def test_an_instance_shows_no_internals(home) -> None:
    xl = Xerolink()
    try:
        assert [name for name in vars(xl) if not name.startswith("_")] == []
    finally:
        xl.close()


def test_no_class_of_the_api_inherits_from_another_of_xerolinks() -> None:
    classes = api_classes()
    assert Xerolink in classes and len(classes) >= 5
    inherited = {cls.__qualname__: [base.__qualname__ for base in cls.__mro__[1:]
                                    if base.__module__.startswith("xerolink")]
                 for cls in classes}
    assert {name: bases for name, bases in inherited.items() if bases} == {}


def test_every_public_method_is_defined_once() -> None:
    """By one collaborator (Xerolink only hands the call over), or by Xerolink itself
    when it puts several collaborators' answers together (status, doctor)."""
    made_by: dict[str, list[str]] = {}
    for cls in api_classes():
        for name, value in vars(cls).items():
            handed_over = cls is Xerolink and hasattr(value, "__wrapped__") \
                and value.__wrapped__.__qualname__ != f"Xerolink.{name}"
            if inspect.isfunction(value) and not name.startswith("_") and not handed_over:
                made_by.setdefault(name, []).append(cls.__qualname__)
    public = {name for name in dir(Xerolink) if not name.startswith("_")}
    twice = {name: classes for name, classes in made_by.items()
             if name in public - HANDED_TO_THE_WIRING and len(classes) != 1}
    assert twice == {}

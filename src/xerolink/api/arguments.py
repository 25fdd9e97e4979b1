"""The Python API's arguments, checked against each method's own annotations before the
call runs: the obvious forms are taken (a ``str`` path for a ``Path``, any list, tuple
or set of text for a list of text, a ``date`` for a date) and anything else is a
``UsageError`` that names the argument, rather than an ``AttributeError`` from deep
inside a service.

Annotations are read as written (strings); a part this module does not know (a
``Mapping``, a type alias) leaves that argument to the method itself.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from xerolink.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])
Converter = Callable[[Any, str], Any]  # (value, name) -> value, or raises UsageError
_UNSET = object()
# Classes named by annotations that are imported only for type checking.
_CLASSES = {"Draft": "xerolink.services.create", "ConnectOptions": "xerolink.services.connection"}
_CALLABLES = ("Callable", "XeroProgress", "CrmProgress", "ChooseTenant", "Notice")
_COLLECTIONS = {"list": list, "set": set, "frozenset": set, "tuple": tuple, "Sequence": list}


def _split(annotation: str) -> list[str]:
    """``"list[str] | None"`` -> ``["list[str]", "None"]`` (only top-level bars)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(annotation):
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            parts.append(annotation[start:index].strip())
            start = index + 1
    parts.append(annotation[start:].strip())
    return parts


def _plain(kind: str) -> tuple[str, Callable[[Any], Any]] | None:
    """What a plain annotation accepts: its description and a converter that returns
    the value (converted) or ``_UNSET``."""
    simple: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "None": ("None", lambda v: v if v is None else _UNSET),
        "str": ("text (str)", lambda v: v if isinstance(v, str) else _UNSET),
        "bool": ("True or False", lambda v: v if isinstance(v, bool) else _UNSET),
        "int": ("a whole number",
                lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _UNSET),
        "float": ("a number", lambda v: float(v) if isinstance(v, int | float)
                  and not isinstance(v, bool) else _UNSET),
        "date": ("a date", lambda v: v if isinstance(v, date) else _UNSET),
        "Path": ("a path (str or pathlib.Path)", _path),
    }
    if kind in simple:
        return simple[kind]
    if kind.startswith(_CALLABLES):
        return "a function", lambda v: v if callable(v) else _UNSET
    if kind in _CLASSES:
        return f"a {kind}", lambda v: v if isinstance(v, _class(kind)) else _UNSET
    return None


def _path(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return Path(value)
    return Path(os.fspath(value)) if isinstance(value, os.PathLike) else _UNSET


def _class(name: str) -> type:
    found: type = getattr(importlib.import_module(_CLASSES[name]), name)
    return found


def converter(annotation: Any) -> Converter | None:
    """A check for one parameter's annotation; None when any part is unknown."""
    if not isinstance(annotation, str) or annotation is inspect.Parameter.empty:
        return None
    options: list[tuple[str, Callable[[Any], Any]]] = []
    for part in _split(annotation):
        option = _plain(part) or _collection(part)
        if option is None:
            return None
        options.append(option)
    wanted = " or ".join(dict.fromkeys(description for description, _ in options))

    def convert(value: Any, name: str) -> Any:
        for _, accept in options:
            try:
                result = accept(value)
            except UsageError as exc:
                raise UsageError(f"{name} {exc.message}") from None
            if result is not _UNSET:
                return result
        raise UsageError(f"{name} must be {wanted}, not {_shown(value)}")

    return convert


def _collection(part: str) -> tuple[str, Callable[[Any], Any]] | None:
    """``list[str]``, ``set[str]``, ``tuple[str, ...]``: any list, tuple or set of
    text (never a bare string, which would be taken letter by letter)."""
    outer, _, inner = part.partition("[")
    inner = inner.removesuffix("]").removesuffix(", ...").strip()
    if outer not in _COLLECTIONS or inner != "str":
        return None
    made = _COLLECTIONS[outer]

    def accept(value: Any) -> Any:
        if not isinstance(value, list | tuple | set | frozenset):
            return _UNSET
        wrong = [item for item in value if not isinstance(item, str)]
        if wrong:
            raise UsageError(f"must hold only text (str), not {_shown(wrong[0])}")
        return made(value)

    return "a list of text (str)", accept


def _shown(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def checked(method: F) -> F:
    """``method`` with its arguments bound and checked first (see the module's doc)."""
    signature = inspect.signature(method)
    checks = {name: converter(parameter.annotation)
              for name, parameter in signature.parameters.items()}
    spread = {name for name, parameter in signature.parameters.items()
              if parameter.kind is inspect.Parameter.VAR_KEYWORD}
    label = f"{method.__name__}()"

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise UsageError(f"{label}: {exc}") from None
        for name, value in list(bound.arguments.items()):
            check = checks.get(name)
            if check is None:
                continue
            if name in spread:
                bound.arguments[name] = {key: check(item, f"{label}: {key}")
                                         for key, item in value.items()}
            else:
                bound.arguments[name] = check(value, f"{label}: {name}")
        return method(*bound.args, **bound.kwargs)

    return call  # type: ignore[return-value]

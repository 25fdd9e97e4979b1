"""What a command returns, in one shape for scripts and people alike.

Every result is a dataclass deriving from ``Result``: the Python API returns it, the
CLI renders it, and ``to_json()`` is exactly what ``--json`` prints. Amounts stay
``Decimal`` until here, where they become exact decimal strings.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from xerolink.errors import ExitCode
from xerolink.money import plain

_PLAIN = (str, int, bool, type(None))


def to_jsonable(value: Any) -> Any:
    """Amounts become decimal strings (exact), dates ISO-8601, dataclasses dicts."""
    if isinstance(value, _PLAIN):  # most values: no further look
        return value
    if isinstance(value, dict) and all(isinstance(v, _PLAIN) for v in value.values()) \
            and all(isinstance(k, str) for k in value):
        return value  # a flat row of plain values: already JSON, no copy needed
    if isinstance(value, Result):
        return value.to_json()
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        raise TypeError("floats must not reach output: convert amounts to Decimal")
    return value


class Result:
    """A command's outcome. Subclasses are dataclasses; ``to_json()`` gives the JSON
    document (dicts, lists, strings, numbers, booleans and nulls only) that ``--json``
    prints. The default is every field; results whose documented shape differs say so.
    ``exit_code`` is the command's exit code for this outcome: a result that is an
    answer but not a good one (figures from a stale cache, a connection not running,
    doctor's problems) says which code, so no command decides it again."""

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_json(self) -> Any:
        if not dataclasses.is_dataclass(self):  # pragma: no cover - a programming error
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

"""Ctrl-C behind another error. Python 3.11 raises what a class's ``__set_name__``
raises (a KeyboardInterrupt too) as a RuntimeError, so a Ctrl-C while an import makes a
dataclass arrives wrapped. Standard library only: the console entry point asks before
its guard has imported anything of xerolink's."""

from __future__ import annotations


def came_from_ctrl_c(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind ``exc``, within ten links of its chain of
    causes and contexts, as a traceback would show it: a context that ``raise ... from
    None`` set aside is not followed (an error raised on purpose while handling a
    Ctrl-C is that error, not the Ctrl-C)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None or isinstance(seen, KeyboardInterrupt):
            return seen is not None
        seen = seen.__cause__ if seen.__cause__ is not None else \
            None if seen.__suppress_context__ else seen.__context__
    return False

"""The console entry point (``xerolink`` and ``python -m xerolink``).

It imports the command line inside its own guard: the imports take a moment, and a
Ctrl-C in that moment must end like a Ctrl-C anywhere later, "interrupted" and exit
130, never a traceback. Only the standard library is imported before the guard.
"""

import sys

INTERRUPTED = 130  # ExitCode.INTERRUPTED, not imported: errors.py is behind the guard


def main() -> int:
    try:
        from xerolink.cli import main as run

        return run()
    except KeyboardInterrupt:
        _say_interrupted()
        return INTERRUPTED
    except Exception as exc:
        # Python 3.11 wraps what a class's __set_name__ raises in a RuntimeError, a
        # KeyboardInterrupt too: a Ctrl-C while one of the imports makes a dataclass.
        from xerolink.interrupts import came_from_ctrl_c

        if not came_from_ctrl_c(exc):
            raise
        _say_interrupted()
        return INTERRUPTED


def _say_interrupted() -> None:
    try:
        sys.stderr.write("error: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError, KeyboardInterrupt):  # a closed stderr, a second Ctrl-C
        pass

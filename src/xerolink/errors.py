"""Errors that reach the user, each tied to one documented exit code.

Every failure a user can cause or meet is raised as a ``XerolinkError`` subclass;
the CLI prints its message as one line on stderr and exits with its code. Anything
else is a bug and exits 1.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_CONNECTED = 3
    PERMISSION_DENIED = 4
    NOT_FOUND = 5
    XERO_REFUSED = 6
    XERO_UNREACHABLE = 7
    CRM_REFUSED = 8
    CRM_UNREACHABLE = 9
    CHECKS_FAILED = 10
    STORE_DAMAGED = 11
    STORE_UNREACHABLE = 12
    INTERRUPTED = 130


class XerolinkError(Exception):
    """A failure with a message meant for the user and an exit code."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(XerolinkError):
    """Bad input: an unknown option value, a malformed file, an invalid reference."""

    exit_code = ExitCode.USAGE


class NotConnectedError(XerolinkError):
    """No Xero connection, or the connection needs re-authorisation."""

    exit_code = ExitCode.NOT_CONNECTED


class PermissionDeniedError(XerolinkError):
    exit_code = ExitCode.PERMISSION_DENIED


class NotFoundError(XerolinkError):
    exit_code = ExitCode.NOT_FOUND


class XeroRefusedError(XerolinkError):
    """Xero answered, and said no: validation, a duplicate, the daily limit."""

    exit_code = ExitCode.XERO_REFUSED


class XeroUnreachableError(XerolinkError):
    """Xero could not be reached or kept failing after bounded retries."""

    exit_code = ExitCode.XERO_UNREACHABLE


class CrmRefusedError(XerolinkError):
    """The CRM source answered, and said no: a wrong token, an unknown account
    (linkname), a field it will not take."""

    exit_code = ExitCode.CRM_REFUSED


class CrmUnreachableError(XerolinkError):
    """The CRM source could not be reached, or kept failing (rate limit, server
    errors) after bounded retries."""

    exit_code = ExitCode.CRM_UNREACHABLE


class CrmRecordRefusedError(CrmRefusedError):
    """The CRM refused one record's update (a required field missing, a value a field
    will not take, a record gone); the credentials themselves were accepted."""


class StoreDamagedError(XerolinkError):
    """The local store cannot be read: a damaged page, a file that is not a database.
    ``xerolink doctor --repair`` rebuilds it from what is readable and the last copy."""

    exit_code = ExitCode.STORE_DAMAGED


class StoreUnreachableError(XerolinkError):
    """The team database could not be reached or would not let this user in: the
    network, a missing role, a refused password or permission. ``fix`` is what to do
    about it (doctor shows it as the remedy)."""

    exit_code = ExitCode.STORE_UNREACHABLE

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem)
        self.problem, self.fix = problem, fix

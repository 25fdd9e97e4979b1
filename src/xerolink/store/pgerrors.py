"""What the team database's refusals mean, and what to do about each.

libpq reports a failed connection as text only (no SQLSTATE), so the server's and
libpq's English messages are read for the cause; anything else is still exit 12 with
the server's own words and the general fix.
"""

from __future__ import annotations

import re
import shlex

from xerolink.errors import PermissionDeniedError, StoreUnreachableError

URL_FIX = "check the host, port and database in XEROLINK_DATABASE_URL (or `config set "
NETWORK_FIX = (URL_FIX + "database_url`), that PostgreSQL is running there and that this "
               "machine may reach it, then try again")


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL identifier that psql reads back as exactly that name."""
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    text = re.sub(r"^connection failed: ", "", text)
    text = re.sub(r"^connection to server at [^\n]*? failed: ", "", text)
    return re.sub(r"^FATAL:\s+", "", text.splitlines()[0] if text else "")[:200]


def unreachable(exc: Exception, where: str) -> StoreUnreachableError:
    """A connection the server (or the network) refused: the cause, and its fix."""
    said = _first_line(exc)
    found = re.search(r'role "(.*)" does not exist', said)
    if found:
        login = found.group(1)
        return StoreUnreachableError(
            f"the team database {where} has no login {login!r}",
            f"a database administrator creates it (CREATE ROLE {quote_ident(login)} LOGIN;), "
            f"then a team admin runs `xerolink access grant {shlex.quote(login)}`")
    found = re.search(r'role "(.*)" is not permitted to log in', said)
    if found:
        login = found.group(1)
        return StoreUnreachableError(
            f"the role {login!r} of the team database {where} cannot log in (NOLOGIN)",
            f"connect as a person's login, or a database administrator allows it "
            f"(ALTER ROLE {quote_ident(login)} LOGIN;)")
    if "password authentication failed" in said or "no password supplied" in said:
        return StoreUnreachableError(
            f"the team database {where} refused the password ({said})",
            "put the right password in ~/.pgpass (or the URL); a database administrator "
            "can set a new one (ALTER ROLE ... PASSWORD ...)")
    found = re.search(r'database "(.*)" does not exist', said)
    if found:
        return StoreUnreachableError(
            f"the PostgreSQL server has no database {found.group(1)!r}",
            URL_FIX + "database_url`), or a database administrator creates it "
            f"(CREATE DATABASE {quote_ident(found.group(1))} OWNER ...;)")
    found = re.search(r'permission denied for database "(.*)"', said)
    if found:
        return StoreUnreachableError(
            f"the team database {where} does not let this login connect ({said})",
            "a database administrator grants it (GRANT CONNECT ON DATABASE "
            f"{quote_ident(found.group(1))} TO ...;)")
    if any(busy in said for busy in ("too many clients", "too many connections",
                                     "starting up", "shutting down", "in recovery")):
        return StoreUnreachableError(
            f"the team database {where} is busy or restarting ({said})",
            "try again in a moment; if it lasts, ask its administrator")
    if "pg_hba.conf" in said:
        return StoreUnreachableError(
            f"the PostgreSQL server does not accept this login from this machine ({said})",
            "a database administrator adds a pg_hba.conf entry for it")
    return StoreUnreachableError(f"cannot reach the team database {where} ({said})",
                                 NETWORK_FIX)


def lost(exc: Exception, where: str) -> StoreUnreachableError:
    """The server went away, or kept a lock or a statement waiting too long, mid-command.
    Each command is its own transactions: what was not committed was rolled back."""
    said = _first_line(exc)
    name = type(exc).__name__
    if name in ("LockNotAvailable", "QueryCanceled", "DeadlockDetected",
                "SerializationFailure"):
        return StoreUnreachableError(
            f"the team database {where} kept this command waiting too long ({said})",
            "someone else's command holds what it needs: try again in a moment")
    return StoreUnreachableError(f"lost the team database {where} ({said})", NETWORK_FIX)


def denied(exc: Exception, login: str) -> PermissionDeniedError:
    """PostgreSQL's own refusal (42501). Outside the schema: the login was never granted.
    Inside it (a table, a column, a row policy): the login is a viewer doing what only
    admins may."""
    said = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    who = shlex.quote(login)
    if "for schema" in said:
        return PermissionDeniedError(
            f"the team database refused {login} (PostgreSQL: {said}); ask a team admin "
            f"(xerolink access grant {who})")
    return PermissionDeniedError(
        f"the team database lets only its admins do this (PostgreSQL: {said}); ask a team "
        f"admin to do it, or to make you one (xerolink access grant {who} --admin)")


def setup_denied(exc: Exception, login: str, database: str) -> PermissionDeniedError:
    """``team init`` refused: it creates the schema, its tables' policies and the roles,
    which takes the database's owner with CREATEROLE."""
    said = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return PermissionDeniedError(
        f"team init needs the team database's owner, with CREATEROLE (PostgreSQL: {said}); "
        f"run it as the login that first ran it, or a database administrator makes "
        f"{login} that login (ALTER DATABASE {quote_ident(database)} OWNER TO "
        f"{quote_ident(login)}; ALTER ROLE {quote_ident(login)} CREATEROLE;)")

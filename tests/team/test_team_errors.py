"""The team database's refusals, each with its documented exit code and its fix: an
unreachable server, a missing or NOLOGIN role, a missing database, a lost connection,
and `access grant` of a name that is no person's login."""

from __future__ import annotations

import json
import re
import socket

import pytest
from test_team import Member
from test_viewer_privileges import psql

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def admin(pg, team_db, sandbox, tmp_path):
    alice = Member(pg, team_db, "alice", tmp_path / "alice")
    alice.json("team", "init")
    alice.json("connect", "--xero-url", sandbox.base_url, "--tenant", "Kauri Bay Trading Ltd",
               "--port", "0")
    return alice


def _doctor(member) -> dict[str, dict[str, str]]:
    code, out, _ = member.run("doctor", "--offline", "--json")
    assert code != 0, "a problem found"
    return {c["check"]: c for c in json.loads(out)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_team_database_exits_12_and_doctor_says_check_the_url(
        pg, tmp_path) -> None:
    member = Member(pg, "postgres", "alice", tmp_path / "alice")
    port = _closed_port()
    member.env["XEROLINK_DATABASE_URL"] = f"postgresql://alice:secret@127.0.0.1:{port}/team"
    code, _, err = member.run("status")
    assert code == 12, err
    assert "cannot reach the team database" in err and "check the host, port" in err
    assert "secret" not in err
    store = _doctor(member)["store"]
    assert store["status"] == "problem" and "Connection refused" in store["detail"]
    assert "check the host, port" in store["action"] and "backup" not in store["action"]


def test_a_login_the_server_does_not_know_exits_12_with_the_create_role_to_paste(
        pg, team_db, admin, tmp_path) -> None:
    dave = Member(pg, team_db, "dave", tmp_path / "dave")
    code, _, err = dave.run("links")
    assert code == 12 and "has no login 'dave'" in err
    assert 'CREATE ROLE "dave" LOGIN;' in err and "xerolink access grant dave" in err
    store = _doctor(dave)["store"]
    assert 'CREATE ROLE "dave" LOGIN;' in store["action"] and "backup" not in store["action"]
    # The fix, as printed, works.
    hint = re.search(r"\((CREATE ROLE .* LOGIN;)\)", err).group(1)
    assert psql(pg, pg.url(database=team_db), hint).returncode == 0
    assert admin.run("access", "grant", "dave")[0] == 0
    assert dave.run("links")[0] == 0


def test_a_nologin_role_and_a_missing_database_exit_12_with_their_fixes(pg, team_db,
                                                                       tmp_path) -> None:
    # The server is the session's, and roles are the whole server's: another test may
    # have made this one already (a parallel run gives a worker tests in any order).
    pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auditors') "
           "THEN CREATE ROLE auditors NOLOGIN; END IF; END $$")
    code, _, err = Member(pg, team_db, "auditors", tmp_path / "a").run("status")
    assert code == 12 and "cannot log in" in err and 'ALTER ROLE "auditors" LOGIN;' in err
    code, _, err = Member(pg, "nowhere", "alice", tmp_path / "b").run("status")
    assert code == 12 and "no database 'nowhere'" in err and "XEROLINK_DATABASE_URL" in err


def test_a_lost_connection_mid_command_exits_12(pg, team_db, admin) -> None:
    from xerolink.errors import ExitCode, StoreUnreachableError
    from xerolink.store.postgres import PostgresStore

    store = PostgresStore(admin.url)
    try:
        pid = store._db.conn.info.backend_pid
        pg.sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(StoreUnreachableError) as lost:
            store.get_setting("crm.source")
        with pytest.raises(StoreUnreachableError):
            store.set_setting("crm.pulled_from.salesmate", "demo")
    finally:
        store.close()
    assert lost.value.exit_code == ExitCode.STORE_UNREACHABLE
    assert "lost the team database" in str(lost.value)


QUOTED = "o'brien\"; DROP SCHEMA xerolink CASCADE; --"


def test_granting_a_name_with_quotes_prints_a_create_role_psql_runs_as_one_name(
        pg, team_db, admin) -> None:
    code, _, err = admin.run("access", "grant", QUOTED)
    assert code == 2, err
    hint = re.search(r"\((CREATE ROLE .* LOGIN;)\)", err).group(1)
    assert hint == 'CREATE ROLE "o\'brien""; DROP SCHEMA xerolink CASCADE; --" LOGIN;'
    pasted = psql(pg, pg.url(database=team_db), hint)
    assert pasted.returncode == 0, pasted.stderr
    with psycopg.connect(pg.url(database=team_db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s",
                            (QUOTED,)).fetchone()[0] == 1
        assert conn.execute("SELECT to_regclass('xerolink.settings')").fetchone()[0]
    assert admin.run("access", "grant", QUOTED)[0] == 0
    assert QUOTED in {row["user"] for row in admin.json("access", "list")}


@pytest.mark.parametrize("name", ["pg_read_server_files", "pg_monitor", "public",
                                  "auditors", "VIEWERS", "postgres", "rootish"])
def test_a_role_that_cannot_log_in_or_is_postgresqls_own_is_not_granted(pg, team_db, admin,
                                                                        name) -> None:
    from xerolink.store.postgres import PostgresStore

    store = PostgresStore(admin.url)
    try:
        viewers, admins = store.roles
    finally:
        store.close()
    name = viewers if name == "VIEWERS" else name
    pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auditors') "
           "THEN CREATE ROLE auditors NOLOGIN; END IF; END $$")
    pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rootish') "
           "THEN CREATE ROLE rootish LOGIN SUPERUSER; END IF; END $$")  # a superuser login
    for extra in ([], ["--admin"]):
        code, _, err = admin.run("access", "grant", name, *extra)
        assert code == 2, err
        assert "not a person's login" in err
    with psycopg.connect(pg.url(database=team_db), autocommit=True) as conn:
        members = {r[0] for r in conn.execute(
            "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member "
            "JOIN pg_roles r ON r.oid = a.roleid WHERE r.rolname IN (%s, %s)",
            (viewers, admins))}
    assert name not in members


def test_team_init_by_a_login_that_cannot_set_the_database_up_exits_4_with_the_fix(
        pg, team_db, tmp_path) -> None:
    bob = Member(pg, team_db, "bob", tmp_path / "bob")
    code, _, err = bob.run("team", "init")
    assert code == 4, err
    assert "team init needs the team database's owner" in err
    assert f'ALTER DATABASE "{team_db}" OWNER TO "bob";' in err
    assert 'ALTER ROLE "bob" CREATEROLE;' in err


def test_a_database_nobody_set_up_says_who_runs_team_init(pg, team_db, tmp_path) -> None:
    code, _, err = Member(pg, team_db, "alice", tmp_path / "alice").run("links")
    assert code == 12, err
    assert "not set up for xerolink yet" in err and "xerolink team init" in err


def test_a_server_out_of_connections_for_the_login_says_try_again(pg, team_db,
                                                                  tmp_path) -> None:
    pg.sql("CREATE ROLE erin LOGIN CONNECTION LIMIT 0")
    code, _, err = Member(pg, team_db, "erin", tmp_path / "erin").run("links")
    assert code == 12 and "busy or restarting" in err and "try again" in err

"""Confirmations: a script (stdin not a terminal) is never taken for a yes. Without a
terminal and without --yes, a change that asks is refused with exit 2 and nothing
changes; at a terminal (a real pty) the answer decides."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from support import control


def _import(cli, tmp_path, text: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(text)
    assert cli("crm", "import", str(path))[0] == 0


def _piped(*args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    """The real command with stdin from a pipe, as `echo n | xerolink ...` runs it."""
    return subprocess.run([sys.executable, "-m", "xerolink", *args], input=answer,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


def _at_terminal(*args: str, answer: str) -> tuple[int, str]:
    """The real command with a pty as stdin and stderr (a person at a terminal): wait
    for the question, type the answer, return the exit code and what the terminal saw."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xerolink", *args], stdin=follower,
                            stdout=subprocess.PIPE, stderr=follower, env=dict(os.environ))
    os.close(follower)
    seen, answered, deadline = b"", False, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                seen += chunk
                if not answered and b"?" in seen:
                    os.write(leader, answer.encode() + b"\n")
                    answered = True
            elif proc.poll() is not None:
                break
        proc.wait(timeout=60)
    finally:
        os.close(leader)
        if proc.stdout:
            proc.stdout.close()
    return proc.returncode, seen.decode(errors="replace")


@pytest.fixture
def people(cli, connected, sandbox, tmp_path):
    _import(cli, tmp_path, "id,first_name,last_name,email\n"
            "c34,Pania,Whitcombe,pania@whitcombe.example\nc35,Rua,Kena,rua@kena.example\n")
    return sandbox.sandbox.tenants[connected]


def test_a_piped_no_is_not_a_yes_create_contact_refuses_without_yes(cli, people) -> None:
    before = len(people.contacts)
    for answer in ("n\n", "y\n", ""):
        result = _piped("create-contact", "contact:c34", answer=answer)
        assert result.returncode == 2, result.stderr
        assert "--yes" in result.stderr and "nothing was created" in result.stderr
        assert result.stderr.count("\n") == 1 and "About to create" not in result.stderr
    assert len(people.contacts) == before, "nothing reached Xero"
    assert cli.json("links") == []
    made = _piped("create-contact", "contact:c34", "--yes", "--json")
    assert made.returncode == 0, made.stderr
    assert len(people.contacts) == before + 1


def test_at_a_terminal_the_answer_decides(cli, people) -> None:
    before = len(people.contacts)
    code, seen = _at_terminal("create-contact", "contact:c34", answer="n")
    assert code == 2 and "About to create" in seen and "cancelled" in seen, seen
    assert len(people.contacts) == before
    code, seen = _at_terminal("create-contact", "contact:c34", answer="y")
    assert code == 0, seen
    assert len(people.contacts) == before + 1
    assert [r["crm"] for r in cli.json("links")] == ["contact:c34"]


def test_an_already_linked_contact_is_said_before_anything_is_asked(cli, people) -> None:
    assert _piped("create-contact", "contact:c34", "--yes").returncode == 0
    before = len(people.contacts)
    code, seen = _at_terminal("create-contact", "contact:c34", answer="y")
    assert code == 2 and "already linked" in seen and "--replace" in seen, seen
    assert "?" not in seen.split("already linked")[0], "it asked first"
    assert "About to create" not in seen
    assert len(people.contacts) == before


def test_crm_remove_asks_and_a_script_needs_yes(cli, people) -> None:
    result = _piped("crm", "remove", "contact:c35", answer="y\n")
    assert result.returncode == 2 and "--yes" in result.stderr, result.stderr
    assert cli("crm", "show", "contact:c35")[0] == 0, "still there"
    code, seen = _at_terminal("crm", "remove", "contact:c35", answer="n")
    assert code == 2 and "Remove contact:c35 (Rua Kena)?" in seen, seen
    assert cli("crm", "show", "contact:c35")[0] == 0
    code, seen = _at_terminal("crm", "remove", "contact:c35", answer="y")
    assert code == 0, seen
    assert cli("crm", "show", "contact:c35")[0] == 5
    assert _piped("crm", "remove", "contact:c35", "--yes").returncode == 5, "unknown: 5 first"
    assert cli("crm", "remove", "contact:c34", "--yes")[0] == 0


def test_the_refusal_quotes_the_question_literally(cli, tmp_path) -> None:
    """The record's name in the question is plain text as stored: no doubled backslash
    (a repr) and no markup read."""
    _import(cli, tmp_path, "id,first_name,last_name,email\n"
                           "m2,Back\\slash,:smile: [/],m2@example.com\n")
    result = _piped("crm", "remove", "contact:m2")
    assert result.returncode == 2, result.stderr
    assert "no terminal to answer 'Remove contact:m2 (Back\\slash :smile: [/])?'" \
        in result.stderr, result.stderr


def test_send_at_a_terminal_says_the_address_and_the_answer_decides(cli, connected,
                                                                    sandbox) -> None:
    data = control(sandbox.base_url, "GET",
                   f"data?tenant={connected}&only=contacts,invoices")
    emails = {c["ContactID"]: c.get("EmailAddress") for c in data["contacts"]}
    invoice = next(i for i in data["invoices"] if i["Type"] == "ACCREC"
                   and i["Status"] == "AUTHORISED" and not i.get("SentToContact")
                   and emails.get(i["Contact"]["ContactID"]))
    address = emails[invoice["Contact"]["ContactID"]]

    def sent() -> int:
        return sum(1 for m in control(sandbox.base_url, "GET", "outbox")["messages"]
                   if m["invoice_id"] == invoice["InvoiceID"])

    code, seen = _at_terminal("send", invoice["InvoiceNumber"], answer="n")
    assert code == 2 and "cancelled" in seen and "nothing was sent" in seen, seen
    assert f"to {address}" in seen.split("?")[0], "the address is said before the question"
    assert sent() == 0
    code, seen = _at_terminal("send", invoice["InvoiceNumber"], answer="y")
    assert code == 0, seen
    assert sent() == 1

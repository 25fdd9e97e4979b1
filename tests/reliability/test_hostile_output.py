"""Names from CRM files and from Xero are printed literally by every human-output
command: never read as Rich markup or emoji codes, never passed to the terminal as
escape sequences or bidi controls."""

from __future__ import annotations

import csv

from support import crm_csv_from_sandbox

# Text a CRM file may hold (imports refuse control characters): markup and emoji codes.
MARKUP = ["[/] Broken", "[link=http://evil.example]Click[/link]", ":warning: Alert",
          "[bold red]Shout"]
# Text Xero may hold: escape sequences (colour, OSC-8 hyperlink) and bidi controls too.
ESCAPES = ["\x1b[31mRed\x1b[0m", "\x1b]8;;http://evil.example\x1b\\Hidden\x1b]8;;\x1b\\",
           "Right\u202eto-left", "Bell\x07 and DEL\x7f"]
FORBIDDEN = ("\x1b", "\u202e", "\x07", "\x7f", "⚠")


def _hostile_world(cli, sandbox, connected, tmp_path) -> list[str]:
    books = sandbox.sandbox.tenants[connected]
    emails = [c["EmailAddress"].lower() for c in books.contacts.values()
              if c.get("EmailAddress") and c["ContactStatus"] == "ACTIVE"]
    by_email = {c["EmailAddress"].lower(): c for c in books.contacts.values()
                if c.get("EmailAddress") and emails.count(c["EmailAddress"].lower()) == 1}
    rows = [r for r in crm_csv_from_sandbox(sandbox, tmp_path / "crm.csv")
            if r["email"].lower() in by_email][:len(MARKUP) + len(ESCAPES)]
    for row, name in zip(rows, MARKUP, strict=False):
        row["first_name"], row["last_name"] = name, "Hostile"
    for row, name in zip(rows[len(MARKUP):], ESCAPES, strict=False):
        contact = by_email[row["email"].lower()]
        books.names.pop(contact["Name"].lower(), None)
        contact["Name"] = name  # a Xero name, shared by every user of the organisation
        books.names[name.lower()] = contact["ContactID"]
    with (tmp_path / "crm.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "co.csv").write_text('id,name\nevil,"[/] [link=http://evil.example]Co"\n')
    assert cli("crm", "import", str(tmp_path / "co.csv"))[0] == 0
    assert cli("crm", "import", str(tmp_path / "crm.csv"))[0] == 0, "markup names import"
    assert cli("link", "--auto")[0] == 0
    return [r["crm"] for r in cli.json("links")]


def test_hostile_names_print_literally_in_every_human_command(cli, connected, sandbox,
                                                              tmp_path) -> None:
    refs = _hostile_world(cli, sandbox, connected, tmp_path)
    assert len(refs) >= len(MARKUP) + len(ESCAPES)
    commands = [("crm", "list"), ("links",), ("status",), ("search", "Red"),
                ("search", "Hostile")]
    for ref in refs:
        commands += [("crm", "show", ref), ("suggest", ref), ("summary", ref),
                     ("details", ref), ("view", ref)]
    seen = ""
    for args in commands:
        code, out, err = cli(*args)
        assert code == 0, (args, err)
        for text in (out, err):
            for bad in FORBIDDEN:
                assert bad not in text, (args, repr(bad), text[:400])
        seen += out
    for name in MARKUP:
        assert name in seen, f"{name!r} is shown literally"
    assert "\\u001b[31mRed" in seen, "an escape sequence is shown, not obeyed"
    assert "Right\\u202eto-left" in seen


def test_an_error_or_notice_carrying_data_is_printed_literally(cli, connected, sandbox,
                                                               tmp_path) -> None:
    code, _, err = cli("summary", "contact:\x1b[2Jgone")
    assert code == 2 and "\x1b" not in err and "[2Jgone" in err, err
    code, _, err = cli("link", "contact:1", "\x1b]8;;http://evil.example\x1b\\x")
    assert code != 0 and "\x1b" not in err, err

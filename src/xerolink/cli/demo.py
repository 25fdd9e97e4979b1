"""``xerolink demo``: the whole job in one command, against the built-in sandbox.

It runs the real commands, in-process, each under a heading that names it: a
sandbox on a free loopback port, a temporary home, connect through the real PKCE
flow (the demo plays the browser), sample CRM records, auto-link, a deal's
documents, then status, summaries and documents; then the live CRM side against
the sandbox's Salesmate slice: pull, auto-link, refresh, push, and the pushed fields
read back from Salesmate.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError, XerolinkError
from xerolink.render import Renderer

ORGANISATION = "Kauri Bay Trading Ltd"
PROFILE = "demo"
SALESMATE_CONTACTS = 40
# What the demo's push writes, and where (custom fields of the Salesmate slice).
DEMO_FIELDS = (("xero_contact", "textCustomField1"), ("xero_link", "urlCustomField1"),
               ("outstanding_invoices", "decimalCustomField1"),
               ("overdue_invoices", "decimalCustomField2"),
               ("open_quotes", "decimalCustomField3"))


def register(app: typer.Typer) -> None:
    command(app, "demo", examples=["xerolink demo", "xerolink demo --keep",
                                   "xerolink demo --json"])(demo)


def demo(
    rt: Runtime,
    home: Annotated[Path | None, typer.Option(
        "--home", help="Use this folder as XEROLINK_HOME (kept afterwards).")] = None,
    keep: Annotated[bool, typer.Option(
        "--keep", help="Leave the sandbox running and the home in place, and say how to "
        "carry on.")] = False,
) -> None:
    """See what xerolink is for in a minute, with no Xero account and no set-up."""
    import tempfile

    from xerolink.profile import current_user
    from xerolink.sandbox.browser import follow_in_background
    from xerolink.services.outcomes import Transcript

    if home is not None and home.exists() and not home.is_dir():
        raise UsageError(f"--home {home} is not a folder; name a folder (it is created if "
                         "missing)")
    chosen_home = home.resolve() if home else Path(tempfile.mkdtemp(prefix="xerolink-demo-"))
    env = {k: v for k, v in rt.env.items() if not k.startswith("XEROLINK_")}
    env.update({"XEROLINK_HOME": str(chosen_home), "XEROLINK_PROFILE": PROFILE,
                "XEROLINK_USER": current_user(rt.env)})
    notes: list[str] = []
    file_store = _needs_file_store(env)
    if file_store:
        env["XEROLINK_TOKEN_STORE"] = "file"  # noqa: S105 - a setting, not a secret
        notes.append("No OS keyring on this machine: the demo keeps its tokens in a private "
                     f"file in {'its temporary home' if home is None else chosen_home} "
                     "(XEROLINK_TOKEN_STORE=file).")
    steps = _Steps(rt, env, play_browser=follow_in_background)
    sandbox, base, pid = _start_sandbox(keep)  # nothing between here and the try can fail
    shown = False
    try:
        for note in notes:
            rt.out.notice(note)
        result = steps.run_all(base)
        result.update({"home": str(chosen_home), "xero_url": base, "profile": PROFILE,
                       "token_store": "file" if file_store else "keyring", "kept": keep})
        if keep:
            result["sandbox_pid"] = pid
            result["next"] = _next_steps(chosen_home, file_store, pid)
        def human() -> None:
            if keep:
                rt.out.print()
                rt.out.heading("Carry on where the demo stopped")
                for line in result["next"]:
                    rt.out.line(line)

        rt.out.result(Transcript(result), human)
        shown = True
    finally:
        if not keep:
            _clean_up(env, sandbox, chosen_home, created=home is None)
        elif not shown and pid is not None:  # nobody was told of it: it would run on unseen
            _stop_kept(pid)


def _stop_kept(pid: int) -> None:
    import os
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def _needs_file_store(env: dict[str, str]) -> bool:
    from xerolink.credentials import KeyringTokenStore, TokenStoreUnavailable
    from xerolink.profile import resolve_profile

    if env.get("XEROLINK_TOKEN_STORE", "").lower() == "file":
        return True
    try:
        KeyringTokenStore(resolve_profile(PROFILE, env)).check()
    except TokenStoreUnavailable:
        return True
    return False


def _start_sandbox(keep: bool) -> tuple[Any, str, int | None]:
    """In-process, or (with --keep) as a process that outlives the demo."""
    import subprocess
    import sys

    if not keep:
        from xerolink.sandbox import SandboxOptions, SandboxServer

        server = SandboxServer(SandboxOptions(seed=1, contacts=200, crm="salesmate",
                                              crm_contacts=SALESMATE_CONTACTS))
        return server, server.start(), None
    proc = subprocess.Popen(
        [sys.executable, "-m", "xerolink", "sandbox", "serve", "--port", "0", "--json",
         "--crm", "salesmate", "--crm-contacts", str(SALESMATE_CONTACTS)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    try:
        base = json.loads(line)["base_url"]
    except (ValueError, KeyError):
        proc.kill()
        raise XerolinkError("the sandbox did not start; run `xerolink sandbox serve` to "
                            "see why") from None
    return None, base, proc.pid


class _Steps:
    def __init__(self, rt: Runtime, env: dict[str, str], play_browser: Callable[[str], None]):
        self.rt = rt
        self.env = env
        self.play_browser = play_browser
        self.human = rt.out.is_human

    def run(self, args: list[str], *, show: bool = True) -> Any:
        """Run one command; in human mode it prints under a heading, and its JSON (run
        quietly a second way) is what the demo keeps."""
        import io

        from xerolink.cli import main

        line = "xerolink " + " ".join(a if " " not in a else repr(a) for a in args)
        if self.human and show:
            self.rt.out.print()
            self.rt.out.heading(f"$ {line}", style="bold cyan")
        out, err = io.StringIO(), io.StringIO()
        quiet = not (self.human and show)
        runtime = Runtime(env=self.env, renderer_factory=(
            (lambda mode: Renderer(mode=mode, stdout=out, stderr=err)) if quiet else
            (lambda mode: Renderer(mode=mode))))
        runtime.browser = self.play_browser
        code = main([*args, "--json"] if quiet else args, runtime=runtime)
        if code != 0:
            message = err.getvalue().strip().splitlines()[-1:] if quiet else []
            raise XerolinkError(f"the demo's step `{line}` failed"
                                + (f": {message[0]}" if message else ""))
        return json.loads(out.getvalue()) if quiet else None

    def run_all(self, base: str) -> dict[str, Any]:
        from importlib.resources import as_file, files

        data = files("xerolink").joinpath("sample_data")
        result: dict[str, Any] = {}
        self._heading("Setting up: $ xerolink connect --xero-url URL; xerolink crm import "
                      "(sample contacts, companies, deals); xerolink link --auto; "
                      "xerolink deal attach deal:d1 ...")
        result["connect"] = self.run(["connect", "--xero-url", base, "--tenant", ORGANISATION,
                                      "--port", "0"], show=False)
        imports = {}
        for name in ("contacts.csv", "companies.csv", "deals.json"):
            with as_file(data.joinpath(name)) as path:
                imports[name] = self.run(["crm", "import", str(path)], show=False)
        result["imports"] = imports
        result["auto_link"] = self.run(["link", "--auto"], show=False)
        offered = self.run(["deal", "suggest", "deal:d1"], show=False)
        chosen = [d["document_id"] for d in offered][:3]
        result["deal_attach"] = self.run(["deal", "attach", "deal:d1", *chosen], show=False)
        linked = len(result["auto_link"]["linked"])
        if self.human:
            self.rt.out.line(
                f"Connected {result['connect']['tenant_name']}; imported "
                f"{imports['contacts.csv']['imported']} contacts, "
                f"{imports['companies.csv']['imported']} companies and "
                f"{imports['deals.json']['imported']} deals; auto-linked {linked} contacts "
                f"({len(result['auto_link']['ambiguous'])} ambiguous, "
                f"{len(result['auto_link']['unmatched'])} unmatched); attached "
                f"{len(chosen)} documents to deal:d1.")
        for key, args in (("status", ["status"]),
                          ("contact_summary", ["summary", "contact:c1"]),
                          ("company_summary", ["summary", "company:harbour"]),
                          ("deal_summary", ["summary", "deal:d1"]),
                          ("contact_details", ["details", "contact:c1"])):
            self._show(result, key, args)
        result["salesmate"] = self.salesmate(base)
        return result

    def _show(self, result: dict[str, Any], key: str, args: list[str]) -> Any:
        if self.human:
            self.run(args)
        result[key] = self.run(args, show=False) if not self.human else None
        return result[key]

    def salesmate(self, base: str) -> dict[str, Any]:
        """The live CRM: connect the sandbox's Salesmate slice, pull, auto-link, read
        Xero, push, show one pushed contact's summary, push again (nothing to write), and
        read the pushed fields back from Salesmate."""
        from xerolink.sandbox.salesmate import access_token_at

        self.env["XEROLINK_SALESMATE_TOKEN"] = access_token_at(base)
        steps: dict[str, Any] = {}
        self._heading("")
        self._heading("Salesmate as a live CRM: $ xerolink crm connect salesmate; config "
                      "set salesmate.fields.*; then pull, link, refresh, push")
        steps["connect"] = self.run(["crm", "connect", "salesmate", "--linkname", "demo",
                                     "--salesmate-url", base], show=False)
        for figure, crm_field in DEMO_FIELDS:
            self.run(["config", "set", f"salesmate.fields.{figure}", crm_field], show=False)
        steps["pull"] = self._show(steps, "pull", ["crm", "pull"])
        steps["auto_link"] = self.run(["link", "--auto"], show=False)
        steps["refresh"] = self.run(["refresh", "--all"], show=False)
        pushed = self.run(["crm", "push"], show=False)
        steps["push"] = pushed
        if self.human:
            self.rt.out.line(
                f"Auto-linked {len(steps['auto_link']['linked'])} more contacts and read "
                f"their documents from Xero; pushed {sum(pushed['records_written'].values())} "
                f"Salesmate records.")
        first = pushed["changes"][0]["record"] if pushed["changes"] else "contact:1"
        self._show(steps, "summary", ["summary", first])
        self._show(steps, "push_again", ["crm", "push"])
        self._show(steps, "pull_back", ["crm", "pull"])
        self._show(steps, "read_back", ["crm", "show", first])
        return steps

    def _heading(self, text: str) -> None:
        if self.human and text:
            self.rt.out.heading(text)
        elif self.human:
            self.rt.out.print()


def _next_steps(home: Path, file_store: bool, pid: int | None) -> list[str]:
    import shlex

    lines = [f"export XEROLINK_HOME={shlex.quote(str(home))}",
             f"export XEROLINK_PROFILE={PROFILE}"]
    if file_store:
        lines.append("export XEROLINK_TOKEN_STORE=file")
    run = command_name()
    lines += [f"{run} summary company:summit",
              f"{run} suggest contact:c29",
              f"{run} create-invoice contact:c2 --line \"Consulting;3;150\"",
              f"(stop the sandbox with: kill {pid})"]
    return lines


def command_name() -> str:
    """How to run this xerolink from a shell: ``xerolink`` when that is what PATH finds,
    else the installed script's full path (a virtual environment not activated), else
    this interpreter with ``-m xerolink``."""
    import shlex
    import shutil
    import sys

    own = Path(sys.executable).with_name("xerolink")
    found = shutil.which("xerolink")
    if found and own.exists() and Path(found).resolve() == own.resolve():
        return "xerolink"
    if own.exists():
        return shlex.quote(str(own))
    if found:
        return "xerolink"
    return f"{shlex.quote(sys.executable)} -m xerolink"


def _clean_up(env: dict[str, str], sandbox: Any, home: Path, *, created: bool) -> None:
    import shutil

    from xerolink.api import Xerolink

    app = Xerolink(env=env, profile_name=PROFILE)
    try:
        if env.get("XEROLINK_TOKEN_STORE") != "file":
            app.forget_tokens()  # the keyring outlives the temporary home
    except XerolinkError:
        pass
    finally:
        app.close()
        if sandbox is not None:
            sandbox.stop()
        if created:
            shutil.rmtree(home, ignore_errors=True)

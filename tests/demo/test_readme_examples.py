"""Every shell and Python example in the README and the docs site runs, in the order
written (the README, then the site's pages in the order of mkdocs.yml's nav), as a new
user would run them: the real commands against a sandbox of the sample organisation,
in a home of their own, with tokens in a file (these machines have no OS keyring).

A block that cannot run offline says why on the line before it, ``<!-- not run: needs
a browser -->``; every other ``sh``/``bash``/``console`` block runs, so a new example is
tried the day it is written. The shell the examples use is small and explicit (below);
a line beyond it fails the test rather than being skipped. Three things stand in for
the machine: ``sandbox serve --port 8080 &`` is a sandbox on a free port (its URL
replaces ``http://127.0.0.1:8080`` from then on; Xero's minute limit is raised for a
test that types faster than a person), ``connect`` listens on a free port
unless it names one, and the browser (connect's consent page, ``view --open``) is
played on the sandbox only, choosing Allow. Output lines shown under a ``$`` line must
appear in what the command printed (``...`` stands for anything; go.xero.com for the
sandbox's host).
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import connect_profile, control, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SHELLS = ("sh", "bash", "console", "shell")
NOT_SHELLS = ("", "json", "python")  # "": output, or a synopsis; never `$ ` lines
NOT_RUN = re.compile(r"^<!-- not run: (\S.*?) -->$")
GENERATED = "docs/reference/"  # from the code (scripts/make_docs.py): --help's examples
PROGRAMS = ("xerolink", ".venv/bin/xerolink")
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass
class Line:
    number: int  # in its file
    command: str
    file: str = "README.md"
    output: list[str] = field(default_factory=list)  # shown under a `$ ` line


@dataclass
class Block:
    number: int
    lang: str
    lines: list[str]
    skip: str | None  # the not-run reason
    file: str = "README.md"


def nav_pages(nav: object) -> list[str]:
    """mkdocs.yml's nav, flattened in reading order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    return []


def doc_files() -> list[str]:
    """The README, then every page of the docs site in the nav's order."""
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return ["README.md", *(f"docs/{page}" for page in nav_pages(config["nav"]))]


def all_blocks() -> list[Block]:
    blocks = []
    for name in doc_files():
        for block in readme_blocks((ROOT / name).read_text()):
            block.file = name
            blocks.append(block)
    return blocks


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks, each with its language and any not-run mark before it."""
    blocks, lines, position = [], text.splitlines(), 0
    while position < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[position])
        if not opening:
            position += 1
            continue
        end = next(i for i in range(position + 1, len(lines)) if lines[i].startswith("```"))
        before = next((lines[i] for i in range(position - 1, -1, -1) if lines[i].strip()), "")
        mark = NOT_RUN.match(before.strip())
        blocks.append(Block(position + 1, opening.group(1), lines[position + 1:end],
                            mark.group(1) if mark else None))
        position = end + 1
    return blocks


def block_lines(block: Block) -> list[Line]:
    """A block's commands: its `$ ` lines (the rest is their output) or, in a block
    with none, every line that is not a comment."""
    prompted = any(line.startswith("$ ") for line in block.lines)
    found: list[Line] = []
    for offset, text in enumerate(block.lines, start=block.number + 1):
        if prompted:
            if text.startswith("$ "):
                found.append(Line(offset, text[2:], file=block.file))
            elif found and text.strip():
                found[-1].output.append(text)
        elif text.strip() and not text.lstrip().startswith("#"):
            found.append(Line(offset, text, file=block.file))
    return found


def runnable_lines() -> list[Line]:
    return [line for block in all_blocks()
            if block.lang in SHELLS and block.skip is None for line in block_lines(block)]


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _split(tokens: list[str], operator: str) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == operator:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


class Shell:
    """The README's shell: `xerolink ARGS` (or `.venv/bin/xerolink`), `VAR=value`
    before it, `export VAR=value` (`$(mktemp -d)` a fresh folder), `A && B`, `printf
    FORMAT ARGS | xerolink ...`, `$VAR`, and `xerolink sandbox serve ... &`. Each
    command runs in this process, the way tests/conftest.py's `cli` runs one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: Any, workdir: Path):
        self.monkeypatch, self.capsys, self.workdir = monkeypatch, capsys, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("XEROLINK_")}
        self.env.update({"XEROLINK_HOME": str(workdir / "home"), "NO_COLOR": "1",
                         "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
        self.sandbox: Any = None
        self.shown_port: str | None = None
        self.kept_sandboxes: list[int] = []
        self.kept_homes: list[Path] = []
        self.opened: list[str] = []

    # -- the machine ----------------------------------------------------------------
    def browser(self, url: str) -> None:
        """The user's browser: only ever the sandbox's pages; consent is Allow."""
        from xerolink.sandbox.browser import follow_in_background

        assert self.sandbox is not None and url.startswith(self.sandbox.base_url), url
        follow_in_background(url)

    def open_in_browser(self, url: str, *args: Any, **kwargs: Any) -> bool:
        from support import request

        assert self.sandbox is not None and url.startswith(self.sandbox.base_url), url
        path = url[len(self.sandbox.base_url):]
        status, _, _ = request(self.sandbox.base_url, "GET", path)
        assert status == 200, f"{url} answered {status}"
        self.opened.append(url)
        return True

    def start_sandbox(self, args: list[str]) -> None:
        assert args[:2] == ["sandbox", "serve"] and args[2] == "--port" and len(args) == 4, \
            f"the examples test starts only `sandbox serve --port N &`, not {args}"
        assert self.sandbox is None, "one sandbox for the examples"
        self.shown_port = args[3]
        # serve's defaults, but a minute limit for someone faster than a person typing
        self._sandbox_context = running_sandbox(seed=1, contacts=200, minute_limit=600)
        self.sandbox = self._sandbox_context.__enter__()

    def close(self) -> None:
        for pid in self.kept_sandboxes:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for home in self.kept_homes:
            shutil.rmtree(home, ignore_errors=True)
        if self.sandbox is not None:
            self._sandbox_context.__exit__(None, None, None)

    # -- the shell ------------------------------------------------------------------
    def run_line(self, line: Line) -> str:
        text = line.command
        while "$(mktemp -d)" in text:
            text = text.replace("$(mktemp -d)", tempfile.mkdtemp(dir=self.workdir), 1)
        printed = []
        for command in _split(_tokens(text), "&&"):
            printed.append(self.run_pipeline(line, command))
        return "".join(printed)

    def run_pipeline(self, line: Line, tokens: list[str]) -> str:
        stdin = ""
        stages = _split(tokens, "|")
        assert len(stages) <= 2, f"line {line.number}: one pipe at most"
        if len(stages) == 2:
            stdin, tokens = self.printf(line, stages[0]), stages[1]
        tokens = [self.expand(line, token) for token in tokens]
        if tokens and tokens[0] == "export":
            for assignment in tokens[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return ""
        overrides = {}
        while tokens and ASSIGNMENT.match(tokens[0]):
            name, _, value = tokens.pop(0).partition("=")
            overrides[name] = value
        background = bool(tokens) and tokens[-1] == "&"
        tokens = tokens[:-1] if background else tokens
        assert tokens and tokens[0] in PROGRAMS, (
            f"{line.file} line {line.number}: the examples test cannot run `{line.command}`; "
            "mark its block <!-- not run: why --> if it cannot run offline")
        args = tokens[1:]
        if background:
            self.start_sandbox(args)
            return ""
        return self.xerolink(line, self.adapt(args), {**self.env, **overrides}, stdin)

    def printf(self, line: Line, tokens: list[str]) -> str:
        assert tokens and tokens[0] == "printf" and len(tokens) >= 2, \
            f"line {line.number}: only `printf FORMAT ARGS |` feeds a command"
        fmt = tokens[1].replace("\\n", "\n")
        values = tuple(self.expand(line, t) for t in tokens[2:])
        return fmt % values

    def expand(self, line: Line, token: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in self.env, f"line {line.number}: ${name} is not set"
            return self.env[name]

        token = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", value, token)
        if self.shown_port and self.sandbox is not None:
            token = token.replace(f"http://127.0.0.1:{self.shown_port}", self.sandbox.base_url)
        return token

    @staticmethod
    def adapt(args: list[str]) -> list[str]:
        if args[:1] == ["connect"] and not any(a == "--port" or a.startswith("--port=")
                                               for a in args):
            return [*args, "--port", "0"]  # beside other tests, not on 8742
        return args

    def xerolink(self, line: Line, args: list[str], env: dict[str, str], stdin: str) -> str:
        import webbrowser

        from xerolink.cli import main
        from xerolink.cli._runtime import Runtime

        with self.environment(env):
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
            self.monkeypatch.setattr(webbrowser, "open", self.open_in_browser)
            self.capsys.readouterr()
            code = main(args, runtime=Runtime(env=os.environ, browser=self.browser))
            out, err = self.capsys.readouterr()
        assert code == 0, (f"{line.file} line {line.number}: `{line.command}` exited {code}:"
                           f"\n{err}{out}")
        if "--keep" in args and args[:1] == ["demo"]:
            self.kept_sandboxes += [int(pid) for pid in re.findall(r"kill (\d+)", out)]
            self.kept_homes += [Path(shlex.split(home)[0]) for home in
                                re.findall(r"^export XEROLINK_HOME=(.+)$", out, re.M)]
        return out + err

    @contextmanager
    def environment(self, env: dict[str, str]) -> Iterator[None]:
        for name in [n for n in os.environ if n not in env]:
            self.monkeypatch.delenv(name)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.chdir(self.workdir)
        yield


def check_output(line: Line, printed: str, base_url: str | None) -> None:
    """What the README shows under a command is what it prints (real Xero's links on
    go.xero.com are on the sandbox's host here)."""
    for shown in line.output:
        expected = shown.strip()
        if base_url:
            expected = expected.replace("https://go.xero.com", base_url)
        pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
        assert re.search(pattern, printed), (
            f"{line.file} line {line.number} shows `{shown.strip()}` under `{line.command}`, "
            f"which printed:\n{printed}")


PYTHON_API_PAGE = "docs/python-api.md"


def python_example() -> str:
    page = (ROOT / PYTHON_API_PAGE).read_text()
    match = re.search(r"```python\n(.*?)```", page, re.S)
    assert match, f"{PYTHON_API_PAGE} has a python example"
    return match.group(1)


def run_python_example(env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[object, str, str]:
    """Run the example as a script: (its exit status, stdout, stderr)."""
    for name in [n for n in os.environ if n.startswith("XEROLINK_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out, err, status = io.StringIO(), io.StringIO(), 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            exec(compile(python_example(), PYTHON_API_PAGE, "exec"),  # noqa: S102 - the
                 {"__name__": "__main__"})  # docs' own example, run as a reader would
        except SystemExit as stop:
            status = stop.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def shell(tmp_path, monkeypatch, capsys) -> Iterator[Shell]:
    workdir = tmp_path / "clone"
    workdir.mkdir()
    (workdir / "src").symlink_to(ROOT / "src")  # run "from a clone of this repository"
    runner = Shell(monkeypatch, capsys, workdir)
    try:
        yield runner
    finally:
        runner.close()


@pytest.mark.e2e  # `demo --keep` starts a sandbox process of its own
def test_every_readme_example_runs_in_the_order_written(shell, monkeypatch) -> None:
    lines = runnable_lines()
    assert len(lines) > 40, "the examples are found"
    assert {line.file for line in lines} >= {"README.md", "docs/guide/documents.md"}
    for line in lines:
        printed = shell.run_line(line)
        check_output(line, printed, shell.sandbox.base_url if shell.sandbox else None)
    assert shell.opened, "`view --open` opened the View in Xero link"
    assert shell.kept_sandboxes, "`demo --keep` said how to stop its sandbox"
    assert control(shell.sandbox.base_url, "GET", "stats")["status_429"] == 0
    status, out, err = run_python_example(
        {k: v for k, v in shell.env.items() if k.startswith("XEROLINK_")}, monkeypatch)
    assert (status, err) == (0, ""), err
    assert re.match(r"contact:c\d+ \d+ \d+\.\d\d NZD\n\d+ Xero calls; cached the second "
                    r"time: True\n$", out), out


def test_every_shell_block_is_run_or_says_why_not() -> None:
    blocks = all_blocks()
    for block in blocks:
        assert block.lang in SHELLS + NOT_SHELLS, (
            f"{block.file} line {block.number}: is ```{block.lang} a shell? Add it to "
            "SHELLS (its examples are run) or NOT_SHELLS in this test")
        if block.lang == "":
            assert not any(line.startswith("$ ") for line in block.lines), (
                f"{block.file} line {block.number}: a block of commands needs a language "
                "(```sh) so that its examples are run")
    written = [b for b in blocks if not b.file.startswith(GENERATED)]  # not --help's
    skipped = [b for b in written if b.lang in SHELLS and b.skip]
    run = [b for b in written if b.lang in SHELLS and not b.skip]
    assert len(run) > len(skipped) > 0


def test_the_python_example_says_what_is_missing_on_an_empty_profile(tmp_path,
                                                                     monkeypatch) -> None:
    home = tmp_path / "home"
    env = {"XEROLINK_HOME": str(home), "XEROLINK_TOKEN_STORE": "file",
           "XEROLINK_USER": "alice"}
    status, out, err = run_python_example(env, monkeypatch)
    assert isinstance(status, str) and status.startswith("error: not connected to Xero"), \
        status  # the API's own error, as the CLI words it; no traceback
    assert (out, err) == ("", "")
    with running_sandbox(seed=1, contacts=20) as server:
        connect_profile(server, home)
        status, out, err = run_python_example(env, monkeypatch)
    assert status == "no CRM contact is linked yet: run `xerolink link --auto` first"
    assert (out, err) == ("", "")


def test_the_examples_shell_refuses_what_it_cannot_run(tmp_path, monkeypatch,
                                                       capsys) -> None:
    """A line beyond the small shell fails, naming the line; it is never skipped."""
    text = ("<!-- not run: needs a browser -->\n```sh\n$ xerolink connect\n```\n\n"
            "```console\n$ xerolink --version\nxerolink 0.0.0\n$ pipx install .\n```\n")
    blocks = readme_blocks(text)
    assert [b.skip for b in blocks] == ["needs a browser", None]
    lines = block_lines(blocks[1])
    assert [(line.number, line.command, line.output) for line in lines] == [
        (7, "xerolink --version", ["xerolink 0.0.0"]), (9, "pipx install .", [])]
    shell = Shell(monkeypatch, capsys, tmp_path)
    with pytest.raises(AssertionError, match="line 9: the examples test cannot run"):
        shell.run_line(lines[1])
    with pytest.raises(AssertionError, match=re.escape("shows `xerolink 0.0.0`")):
        check_output(lines[0], shell.run_line(lines[0]), None)
    with pytest.raises(AssertionError, match="exited 2"):
        shell.run_line(Line(12, "xerolink summary contact:c1 --no-such-option"))


def test_every_page_of_the_docs_is_in_the_nav_so_its_examples_run() -> None:
    """A page left out of mkdocs.yml's nav would have its examples skipped unseen."""
    pages = {f"docs/{p.relative_to(ROOT / 'docs').as_posix()}"
             for p in (ROOT / "docs").rglob("*.md")}
    listed = doc_files()
    assert pages - set(listed) == set()
    assert len(listed) == len(set(listed)), "a page listed twice would run twice"


def test_the_readmes_tour_is_the_getting_started_pages_tour() -> None:
    """The tour is written twice (the README, the site's Getting started) and run once."""
    readme = [b for b in all_blocks() if b.file == "README.md" and b.lang in SHELLS
              and not b.skip]
    page = [b for b in all_blocks() if b.file == "docs/getting-started.md"
            and b.skip and "five-minute tour" in b.skip]
    assert len(readme) == 1 and len(page) == 1
    assert readme[0].lines == page[0].lines

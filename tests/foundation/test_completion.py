"""Shell completion of references as typed: `summary contact:c<Tab>` in a real
interactive bash (where ':' is a word break), and the answers zsh's and fish's
scripts get for the same line."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def refs(home, tmp_path) -> dict[str, str]:
    """A profile holding contacts c1, c3, c30..c32, company harbour, deal d1."""
    (tmp_path / "contacts.csv").write_text(
        "id,first_name,email\n" + "".join(f"c{n},P{n},p{n}@example.com\n"
                                          for n in (1, 3, 30, 31, 32)))
    (tmp_path / "companies.csv").write_text("id,name\nharbour,Harbour Collective\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for name in ("contacts.csv", "companies.csv"):
        done = subprocess.run(["xerolink", "crm", "import", str(tmp_path / name)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return env


def _read(fd: int, seconds: float, done: Callable[[bytes], bool]) -> bytes:
    seen, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if done(seen):
                break
    return seen


def _tab_in_bash(env: dict[str, str], script: Path, typed: str) -> str:
    """Type ``typed`` and Tab into an interactive bash that sourced the completion
    script; what the terminal shows after the Tab."""
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    leader, follower = pty.openpty()
    shell = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], stdin=follower,
                             stdout=follower, stderr=follower, start_new_session=True,
                             env={**env, "PS1": "READY$ ", "TERM": "dumb",
                                  "INPUTRC": "/dev/null"})
    os.close(follower)
    try:
        os.write(leader, f"source {script}; bind 'set show-all-if-ambiguous on'; "
                         "echo SOURCED$((40 + 2))\n".encode())
        _read(leader, 20, lambda seen: seen.endswith(b"SOURCED42\r\nREADY$ "))
        os.write(leader, typed.encode() + b"\t")
        # Done when bash has listed the candidates and redrawn the line, or completed
        # the one candidate (a space after it).
        seen = _read(leader, 20, lambda seen: seen.count(typed.encode()) >= 2
                     or seen.endswith(b" "))
        return seen.decode(errors="replace")
    finally:
        os.close(leader)
        shell.kill()
        shell.wait(timeout=10)


def _script(refs: dict[str, str], tmp_path: Path) -> Path:
    # What --install-completion installs; the shell named, not guessed from the parent
    # process (pytest's parent may be no shell at all).
    shown = subprocess.run(["xerolink", "--show-completion", "bash"],
                           env={**refs, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "complete " in shown.stdout, shown.stderr
    path = tmp_path / "xerolink.bash"
    path.write_text(shown.stdout)
    return path


def test_bash_completes_a_reference_past_the_colon(refs, tmp_path) -> None:
    script = _script(refs, tmp_path)
    seen = _tab_in_bash(refs, script, "xerolink summary contact:c3")
    offered = seen.split("\r\n")[1].split() if "\r\n" in seen else []
    assert {"c3", "c30", "c31", "c32"} <= set(offered), seen
    assert "c1" not in offered
    seen = _tab_in_bash(refs, script, "xerolink crm show company:har")
    assert "company:harbour " in seen, seen
    seen = _tab_in_bash(refs, script, "xerolink summary contact:")
    assert "c30" in seen and "::" not in seen, seen


def _answer(refs: dict[str, str], shell: str, line: str, **extra: str) -> str:
    done = subprocess.run(["xerolink"], env={**refs, "_XEROLINK_COMPLETE": f"complete_{shell}",
                                             "_TYPER_COMPLETE_ARGS": line, **extra},
                          capture_output=True, text=True, timeout=60)
    return done.stdout


def test_zsh_and_fish_are_answered_the_whole_reference(refs) -> None:
    zsh = _answer(refs, "zsh", "xerolink summary contact:c3")
    assert '"contact\\\\:c30"' in zsh and "contact\\\\:c1\"" not in zsh, zsh
    fish = _answer(refs, "fish", "xerolink summary contact:c3",
                   _TYPER_COMPLETE_FISH_ACTION="get-args").split()
    assert {"contact:c3", "contact:c30", "contact:c31"} <= set(fish), fish

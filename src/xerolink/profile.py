"""Where a profile's files live, and who the current user is.

A profile is an isolated configuration, store and token namespace. ``XEROLINK_HOME``
puts everything of xerolink under one folder; otherwise configuration follows the
platform's config directory and the store its data directory.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from xerolink.errors import UsageError

DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Profile:
    name: str
    config_dir: Path
    data_dir: Path

    @property
    def config_path(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "xerolink.db"

    @property
    def token_file(self) -> Path:
        """The opt-in plaintext token store (``XEROLINK_TOKEN_STORE=file``)."""
        return self.data_dir / "tokens.json"

    @property
    def lock_dir(self) -> Path:
        return self.data_dir / "locks"

    def ensure_dirs(self) -> None:
        """Create the profile's folders; every folder xerolink creates (the root, any
        missing parent of it, and everything below) is private to the user (0700,
        whatever the umask). Folders that already exist are left as they are."""
        for folder in (self.config_dir, self.data_dir):
            missing = [p for p in (folder, *folder.parents) if not p.exists()]
            for path in reversed(missing):
                try:
                    path.mkdir(mode=0o700)
                    path.chmod(0o700)
                except FileExistsError:
                    continue  # made by another process meanwhile
                except OSError as exc:
                    raise UsageError(
                        f"xerolink cannot keep its files in {path} ({exc.strerror or exc}); "
                        "point XEROLINK_HOME at a folder you can write") from None
            if not folder.is_dir():
                raise UsageError(f"xerolink cannot keep its files in {folder} (not a "
                                 "folder); point XEROLINK_HOME at a folder you can write")


def resolve_profile(name: str | None, env: Mapping[str, str] | None = None) -> Profile:
    """The profile named on the command line, else ``XEROLINK_PROFILE``, else default."""
    env = os.environ if env is None else env
    if name is not None and not name.strip():  # `--profile ''`: a name left out by mistake
        raise UsageError("--profile needs a name: letters, digits, '.', '_' or '-'")
    chosen = name or env.get("XEROLINK_PROFILE") or DEFAULT_PROFILE
    if not _PROFILE_NAME.match(chosen):
        raise UsageError(
            f"invalid profile name {chosen!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64 characters)"
        )
    home = env.get("XEROLINK_HOME")
    if home:
        root = Path(home).expanduser()
        if root.exists() and not root.is_dir():
            raise UsageError(f"XEROLINK_HOME is {root}, which is not a folder; point it at "
                             "a folder (it is created if missing)")
        base = root / "profiles" / chosen
        return Profile(chosen, base, base)
    import platformdirs

    config_root = Path(platformdirs.user_config_dir("xerolink", appauthor=False))
    data_root = Path(platformdirs.user_data_dir("xerolink", appauthor=False))
    return Profile(chosen, config_root / "profiles" / chosen, data_root / "profiles" / chosen)


def current_user(env: Mapping[str, str] | None = None) -> str:
    """``XEROLINK_USER`` or the operating-system login name: what access settings check."""
    env = os.environ if env is None else env
    user = env.get("XEROLINK_USER")
    if user:
        return user.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return f"uid-{os.getuid()}"

"""Shell completion of CRM references (``contact:``, ``company:``, ``deal:``) from the
local store, for Typer's ``--install-completion`` / ``--show-completion`` (bash, zsh,
fish). Completion must never fail loudly: any problem completes nothing."""

from __future__ import annotations

from collections.abc import Callable

KINDS = ("contact", "company", "deal")


def _refs(kinds: tuple[str, ...]) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        from xerolink.api import Xerolink

        app = Xerolink()
        try:
            return app.complete_refs(incomplete, kinds)
        except Exception:  # a broken profile completes nothing
            return []
        finally:
            app.close()

    return complete


any_ref = _refs(KINDS)
contact_ref = _refs(("contact",))
deal_ref = _refs(("deal",))

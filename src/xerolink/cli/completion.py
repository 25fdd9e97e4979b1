"""Shell completion of CRM references (``contact:``, ``company:``, ``deal:``) from the
local store, for Typer's ``--install-completion`` / ``--show-completion`` (bash, zsh,
fish). Completion must never fail loudly: any problem completes nothing."""

from __future__ import annotations

from collections.abc import Callable

from xerolink.vocabulary import RECORD_KINDS, RecordKind

KINDS = RECORD_KINDS


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
contact_ref = _refs((RecordKind.CONTACT,))
deal_ref = _refs((RecordKind.DEAL,))


# -- bash: a reference completes as typed -------------------------------------------------
# Bash splits the word being completed at COMP_WORDBREAKS, which holds ":", so
# `summary contact:c<Tab>` reaches a completer as the three words `contact`, `:` and
# `c`, and bash replaces only what follows the last such character. This script sends
# the line as typed and COMP_WORDBREAKS; the answers are the completions of the whole
# reference, less the part before (and including) the last word break in it.
BASH_SCRIPT = """
%(complete_func)s() {
    local IFS=$'\\n'
    COMPREPLY=( $( env _TYPER_COMPLETE_ARGS="${COMP_LINE:0:$COMP_POINT}" \\
                   _XEROLINK_COMPLETE_BREAKS="${COMP_WORDBREAKS}" \\
                   COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \\
                   %(autocomplete_var)s=complete_bash $1 ) )
    return 0
}

complete -o default -F %(complete_func)s %(prog_name)s
"""


def use_whole_word_bash() -> None:
    """Make Typer's bash completion (its --install-completion and --show-completion
    script, and the answers) complete references as typed. Called after the app is
    built: building it registers Typer's own classes again."""
    from typer import _completion_shared
    from typer._click.shell_completion import add_completion_class

    _completion_shared._completion_scripts["bash"] = BASH_SCRIPT
    add_completion_class(_bash_class(), "bash")


def _bash_class() -> type:
    import os

    from typer._click.shell_completion import split_arg_string
    from typer._completion_classes import BashComplete

    class WholeWordBash(BashComplete):
        source_template = BASH_SCRIPT

        def get_completion_args(self) -> tuple[list[str], str]:
            line = os.environ.get("_TYPER_COMPLETE_ARGS")
            if line is None:  # a script installed before this one: Typer's reading
                return super().get_completion_args()
            words = split_arg_string(line)
            args = words[1:]
            typed = args.pop() if args and not line.endswith(" ") else ""
            return args, typed

        def complete(self) -> str:
            args, typed = self.get_completion_args()
            breaks = os.environ.get("_XEROLINK_COMPLETE_BREAKS", ":=")
            kept = typed[:max((typed.rfind(c) for c in breaks if c.strip()), default=-1) + 1]
            return "\n".join(item.value[len(kept):]
                             for item in self.get_completions(args, typed)
                             if item.value.startswith(kept))

    return WholeWordBash

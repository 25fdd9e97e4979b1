"""``xerolink webhooks``: setting up Xero's webhooks for ``crm update --watch``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError

app = typer.Typer(no_args_is_help=True)


@command(app, "key", examples=["xerolink webhooks key --stdin < webhook-key.txt"])
def key(
    rt: Runtime,
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="Read the key from stdin (the only way: a value on the command "
        "line shows in the process list).")] = False,
    # Taken only to be refused: click's own "unexpected extra argument (KEY)" would
    # print the key itself.
    pasted: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
) -> None:
    """Keep Xero's webhook key (the app's 'Webhooks key') in the token store (admins).

    XEROLINK_WEBHOOK_KEY, when set, is used instead."""
    if not stdin or pasted:
        raise UsageError("pipe the key to `xerolink webhooks key --stdin`; it is never "
                         "taken as a value on the command line")
    saved = rt.app.save_webhook_key(sys.stdin.readline())
    rt.out.result(saved, lambda: rt.out.line(
        f"webhook key stored in the {saved.token_store} token store"))

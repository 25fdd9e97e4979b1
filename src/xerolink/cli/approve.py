"""``approve``: a draft invoice or bill to AUTHORISED, a draft quote to SENT, after
saying exactly what will change and asking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli._runtime import Runtime, command, confirm

if TYPE_CHECKING:
    from xerolink.services.approve import Approval, Approved

EXAMPLES = ["xerolink approve INV-0042", "xerolink approve QU-0007 --yes",
            "xerolink approve 7d0c6b3e --dry-run --json"]


def register(app: typer.Typer) -> None:
    command(app, "approve", examples=EXAMPLES)(approve)


def describe(approval: Approval) -> str:
    """One line naming everything the approval changes."""
    return (f"{approval.label} for {approval.contact}, {approval.total:,.2f} "
            f"{approval.currency}: {approval.from_status} -> {approval.to_status}")


def approve(
    rt: Runtime,
    document: Annotated[str, typer.Argument(
        metavar="DOC", help="A document's number, id or short id (as `view` takes).")],
    yes: Annotated[bool, typer.Option("--yes", help="Approve without asking.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be approved; change nothing.")] = False,
) -> None:
    """Approve a draft: an invoice or bill becomes AUTHORISED, a quote SENT.

    The status is read from Xero first (one call): anything but a draft is refused
    (exit 6). Asks first (--yes to skip; with no terminal and no --yes, exit 2). Needs
    the right to send (admins have it; a viewer is granted it with `access grant USER
    --send`; without it exit 4). Adds a note to the document's history in Xero and
    updates the local cache.
    """

    def ask(approval: Approval) -> None:
        confirm(rt, f"Approve {approval.label}?", yes=yes, default=False,
                nothing_done="nothing was approved",
                preamble=f"About to approve {describe(approval)}")

    done = rt.app.approve(document, dry_run=dry_run, confirm=ask)
    if done.problem:
        rt.out.notice(f"warning: approved, but the history note was not added "
                      f"({done.problem})")
    rt.out.result(done, lambda: _human(rt, done))


def _human(rt: Runtime, done: Approved) -> None:
    what = describe(done.approval)
    rt.out.line(f"Would approve {what} (dry run: nothing changed)" if done.dry_run
                else f"Approved {what}")

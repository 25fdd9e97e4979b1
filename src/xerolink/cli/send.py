"""``send``: email an approved sales invoice to its customer through Xero, after saying
exactly what goes to whom and asking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xerolink.cli._runtime import Runtime, command, confirm

if TYPE_CHECKING:
    from xerolink.services.send import Sending, Sent

EXAMPLES = ["xerolink send INV-0042", "xerolink send INV-0043 --approve --yes",
            "xerolink send INV-0042 --again", "xerolink send 7d0c6b3e --dry-run --json"]


def register(app: typer.Typer) -> None:
    command(app, "send", examples=EXAMPLES)(send)


def describe(sending: Sending) -> str:
    """One line naming the invoice, the amount and every address it goes to."""
    d = sending.document
    cc = f" (cc {', '.join(sending.cc)})" if sending.cc else ""
    again = " again (a reminder)" if sending.again else ""
    return (f"{sending.label} for {sending.contact}, {d.total:,.2f} {d.currency}, "
            f"to {sending.to}{cc}{again}")


def _verb(sending: Sending, *, done: bool) -> str:
    """What is (or was) done: emailing, after approving a draft first."""
    if sending.approval is None:
        return "emailed" if done else "email"
    change = f"({sending.approval.from_status} -> {sending.approval.to_status})"
    return f"approved {change} and emailed" if done else f"approve {change} and email"


def send(
    rt: Runtime,
    document: Annotated[str, typer.Argument(
        metavar="DOC", help="An invoice's number, id or short id (as `view` takes).")],
    approve: Annotated[bool, typer.Option(
        "--approve", help="Approve a draft first (it becomes AUTHORISED).")] = False,
    again: Annotated[bool, typer.Option(
        "--again", help="Email an invoice already sent once more (a reminder).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be sent to whom; send and change nothing.")
    ] = False,
) -> None:
    """Email an approved sales invoice to its customer through Xero.

    Xero sends it to the Xero contact's email address (said before sending). The
    invoice is read from Xero first: a draft needs --approve, an invoice already sent
    (by xerolink or in Xero) is refused unless --again, and quotes and bills are not
    emailed (exit 6). Asks first (--yes to skip; with no terminal and no --yes, exit 2).
    Needs the right to send (admins, and viewers granted it with access grant --send).
    A rerun after an interruption never emails twice. Adds a note to the invoice's
    history in Xero.
    """

    def ask(sending: Sending) -> None:
        confirm(rt, f"Send {sending.label} to {sending.to}?", yes=yes, default=False,
                nothing_done="nothing was sent",
                preamble=f"About to {_verb(sending, done=False)} {describe(sending)}")

    done = rt.app.send(document, approve=approve, again=again, dry_run=dry_run,
                       confirm=ask)
    if done.sending.resumed:
        rt.out.notice(f"note: {done.sending.resumed}")
    if done.approved and done.approved.problem:
        rt.out.notice(f"warning: approved, but its history note was not added "
                      f"({done.approved.problem})")
    if done.problem:
        rt.out.notice(f"warning: sent, but the history note was not added ({done.problem})")
    rt.out.result(done, lambda: _human(rt, done))


def _human(rt: Runtime, done: Sent) -> None:
    what, sending = describe(done.sending), done.sending
    if done.dry_run:
        rt.out.line(f"Would {_verb(sending, done=False)} {what} (dry run: nothing sent or "
                    "changed)")
    elif done.emailed:
        rt.out.line(f"{_verb(sending, done=True).capitalize()} {what}")
    else:
        rt.out.line(f"Emailed {what} by the interrupted run; its history note added now")

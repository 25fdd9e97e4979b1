"""``xerolink crm update``: one pass of pull, link, refresh and push; with ``--watch``,
the service that runs one on a schedule until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import CrmRefusedError, UsageError
from xerolink.redact import redact
from xerolink.render import plural

LOG_FORMATS = ("text", "json")


def register(app: typer.Typer) -> None:
    command(app, "update", examples=[
        "xerolink crm update", "xerolink crm update --dry-run --json",
        "xerolink crm update --watch --every 15m",
        "xerolink crm update --watch --log-format json --budget 50%",
        "xerolink crm update --watch --webhooks 127.0.0.1:8099",
    ])(update)


_NoLink = Annotated[bool, typer.Option(
    "--no-link", help="Do not link new CRM contacts by email.")]
_DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Read the CRM's changes and show what would be written; write "
    "nothing anywhere (no Xero call).")]
_Force = Annotated[bool, typer.Option(
    "--force", help="Start even if the pass's estimated Xero calls exceed what is "
    "left of today's allowance.")]
_Watch = Annotated[bool, typer.Option(
    "--watch", help="Keep running: a pass every --every, until SIGTERM or SIGINT.")]
_Every = Annotated[str | None, typer.Option(
    "--every", help="With --watch: the interval between passes (30s, 15m, 1h; default "
    "15m).")]
_LogFormat = Annotated[str | None, typer.Option(
    "--log-format", help="With --watch: one line a pass, as text (the default) or json.")]
_Wait = Annotated[bool, typer.Option(
    "--wait", help="If another runner's pass holds the organisation, wait for it "
    "instead of exiting 0 at once.")]
_Budget = Annotated[str | None, typer.Option(
    "--budget", help="With --watch: the share of the Xero calls left today the service "
    "may use; the interval widens to stay within it (default 50%; 100% to use them "
    "all).")]
_Webhooks = Annotated[str | None, typer.Option(
    "--webhooks", metavar="HOST:PORT", help="With --watch: receive Xero's webhooks on "
    "this loopback address (behind a TLS reverse proxy); the key comes from "
    "XEROLINK_WEBHOOK_KEY or `xerolink webhooks key --stdin`.")]


def _check_service_options(watch: bool, every: str | None, budget: str | None,
                           log_format: str | None, webhooks: str | None) -> None:
    if log_format is not None and log_format not in LOG_FORMATS:
        raise UsageError(f"invalid --log-format {log_format[:20]!r}: text or json")
    if webhooks is not None and not watch:
        raise UsageError("--webhooks runs a receiver for the service: use it with --watch")
    given = [f"--{n}" for n, v in (("every", every), ("budget", budget),
                                   ("log-format", log_format)) if v is not None]
    if given and not watch:  # one pass would ignore them: a unit file's mistake, say
        raise UsageError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for "
                         "the service: use with --watch (one pass takes no schedule)")


def update(
    rt: Runtime,
    no_link: _NoLink = False,
    dry_run: _DryRun = False,
    force: _Force = False,
    watch: _Watch = False,
    every: _Every = None,
    log_format: _LogFormat = None,
    wait: _Wait = False,
    budget: _Budget = None,
    webhooks: _Webhooks = None,
) -> None:
    """Bring the CRM's Xero fields up to date in one pass (admins): pull the CRM's
    changes, link new contacts whose email matches one Xero contact, refresh in Xero
    what changed since the last pass, and push the fields whose value changed.

    A pass when nothing changed makes about 2 Xero calls and 3 CRM calls. It is safe to
    run again at any moment, and after being killed at any point. Exits 6 when the
    pass's estimated Xero calls exceed what is left of today's allowance (and for Xero's
    refusals), 8/9 for the CRM's, 3 when the connection needs re-authorising.

    --watch runs as a service: one log line a pass; a failing pass backs off and the
    service stays up; SIGTERM or SIGINT finish the pass under way and exit 0 (a second
    one abandons it, exit 130: the next pass resumes it);
    re-authorisation needed, a missing scope or a refused CRM token stop it with their
    exit code. `xerolink status` shows its last and next pass.

    --webhooks HOST:PORT (with --watch) runs Xero's webhook receiver for as long as the
    service runs: a delivery wakes the service, and each pass first re-reads what the
    events name, so a paid invoice reaches the CRM within seconds.
    """
    _check_service_options(watch, every, budget, log_format, webhooks)
    if watch:
        if dry_run:
            raise UsageError("--dry-run is for one pass; it cannot be combined with --watch")
        _watch(rt, every=every, budget=budget, link=not no_link, webhooks=webhooks,
               as_json=log_format == "json" or not rt.out.is_human)
        return
    from xerolink.api.update import held_elsewhere

    try:
        report = rt.app.crm_update(link=not no_link, dry_run=dry_run, force=force,
                                   wait=wait)
    except Exception as exc:
        if held_elsewhere(exc) is None:
            raise
        busy: Any = exc
        rt.out.result(busy.result, lambda: rt.out.line(busy.result.message))
        return
    for note in report.notes:
        rt.out.notice(f"note: {note}")
    rt.out.result(report, lambda: _human(rt, report))
    if report.refused:
        raise CrmRefusedError(f"{report.source} refused {plural(len(report.refused), 'record')}"
                              f" (the others were written): {report.refused[0]['reason']}")


def _human(rt: Runtime, report: Any) -> None:
    for phase in report.phases:
        if phase.skipped:
            rt.out.line(f"{phase.name}: skipped ({phase.skipped})")
            continue
        calls = f"{plural(phase.xero_calls, 'Xero call')}, {plural(phase.crm_calls, 'CRM call')}"
        what = {"events": f"{plural(phase.read, 'webhook event')} processed",
                "pull": f"{phase.read} read, {phase.written} new or changed",
                "link": f"{phase.written} linked",
                "refresh": f"{plural(phase.read, 'linked contact')} brought up to date",
                "push": f"{plural(phase.written, 'record')} written "
                        f"({plural(phase.fields_written, 'field')})"}[phase.name]
        rt.out.line(f"{phase.name}: {what}; {calls}")
    verb = "Would write" if report.dry_run else "Wrote"
    rt.out.line(f"{verb} {plural(report.fields_written, 'field')} in {report.source} in "
                f"{report.seconds:.1f} s: {plural(report.xero_calls, 'Xero call')}, "
                f"{plural(report.crm_calls, 'CRM call')}")


def _watch(rt: Runtime, *, every: str | None, budget: str | None, link: bool,
           webhooks: str | None, as_json: bool) -> None:
    from xerolink.services.watch import Signals

    signals = Signals()

    def stop(signum: int, frame: Any) -> None:
        if signals.stop.is_set():  # a second signal: abandon the pass (it resumes)
            raise KeyboardInterrupt
        signals.request_stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def log(entry: dict[str, Any]) -> None:
        if as_json:
            rt.out.json_line({k: redact(v) if isinstance(v, str) else v
                              for k, v in entry.items()})
        else:
            rt.out.log_line(_log_text(entry))

    try:
        chosen: dict[str, Any] = {}  # what is not given keeps the API's default
        if every is not None:
            chosen["every"] = every
        if budget is not None:
            chosen["budget"] = budget.strip()
        rt.app.crm_watch(link=link, signals=signals, log=log, webhooks=webhooks, **chosen)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _log_text(entry: dict[str, Any]) -> str:
    """``pass 3 ok at 2026-12-01T10:15:00+00:00: 2 Xero calls, 3 CRM calls, 0 fields
    written in 0.4 s; next at ...``"""
    head = f"pass {entry.get('pass')} {entry.get('outcome')} at {entry.get('at')}"
    if entry.get("outcome") == "ok":
        body = (f"{plural(entry.get('xero_calls', 0), 'Xero call')}, "
                f"{plural(entry.get('crm_calls', 0), 'CRM call')}, "
                f"{_events_text(entry)}"
                f"{plural(entry.get('fields_written', 0), 'field')} written in "
                f"{entry.get('milliseconds', 0) / 1000:.1f} s")
    else:
        body = redact(str(entry.get("error", "")))
    tail = f"; next at {entry['next_at']}" if entry.get("next_at") else ""
    widened = f" ({entry['widened']})" if entry.get("widened") else ""
    return f"{head}: {body}{tail}{widened}"


def _events_text(entry: dict[str, Any]) -> str:
    """``3 webhook events, `` when the service has a receiver."""
    return f"{plural(entry['events'], 'webhook event')}, " if "events" in entry else ""

"""``xerolink connect``, ``status`` and ``remove``: the Xero connection's lifecycle."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError
from xerolink.render import timestamp
from xerolink.results import Result
from xerolink.vocabulary import RecordKind

if TYPE_CHECKING:
    from xerolink.services.connection import StatusReport


def register(app: typer.Typer) -> None:
    command(app, "connect", examples=[
        "xerolink connect",
        "xerolink connect --xero-url http://127.0.0.1:8080 --no-browser",
        "xerolink connect --tenant 'Kauri Bay Trading Ltd'",
        "printf '%s' \"$SECRET\" | xerolink connect --custom-connection --client-id ID "
        "--client-secret-stdin",
    ])(connect)
    command(app, "status", examples=["xerolink status", "xerolink status --offline --json"])(
        status)
    command(app, "remove", examples=["xerolink remove", "xerolink remove --json"])(remove)


def _show_url(rt: Runtime, no_browser: bool, timeout: float, tenant: str | None) -> Any:
    def show(url: str) -> None:
        if rt.browser is not None:
            rt.browser(url)
            return
        opened = False
        if not no_browser:
            import webbrowser

            try:
                opened = webbrowser.open(url)
            except webbrowser.Error:
                opened = False
        if tenant:  # Xero's page preselects an organisation, maybe another one
            rt.out.notice(f"On Xero's consent page, choose {tenant} before you allow access.")
        rt.out.notice("Open this link to authorise xerolink in Xero:" if not opened
                      else "Your browser should show Xero's consent page; if not, open:")
        rt.out.notice(url)
        if not opened:
            rt.out.notice(_without_a_browser(url))
        rt.out.notice(f"Waiting up to {int(timeout)} s for Xero to send the browser back "
                      "(Ctrl-C cancels)...")

    return show


def _without_a_browser(url: str) -> str:
    """No browser opened here (--no-browser, SSH, a server): say at once where the link
    can be opened, so nobody waits out the timeout not knowing what to do."""
    from urllib.parse import parse_qs, urlsplit

    redirect = parse_qs(urlsplit(url).query).get("redirect_uri", [""])[0]
    port = urlsplit(redirect).port or 8742
    return (f"No browser was opened on this machine. Open the link in a browser that can "
            f"reach 127.0.0.1:{port} (from another machine, forward the port first: "
            f"ssh -L {port}:127.0.0.1:{port} THIS_HOST); a sandbox started with "
            "--auto-approve also approves it for curl -sL LINK in another shell.")


def _chooser(rt: Runtime) -> Any:
    if not sys.stdin.isatty() or not rt.out.is_human:
        return None

    def choose(tenants: list[Any]) -> Any:
        for number, tenant in enumerate(tenants, start=1):
            rt.out.notice(f"  {number}. {tenant.tenant_name}")
        picked = typer.prompt("Which organisation", type=int, err=True)
        if not 1 <= picked <= len(tenants):
            raise UsageError(f"choose a number from 1 to {len(tenants)}")
        return tenants[picked - 1]

    return choose


def connect(
    rt: Runtime,
    xero_url: Annotated[str | None, typer.Option(
        "--xero-url", metavar="URL",
        help="One host serving Xero's paths (a sandbox); default real Xero "
             "[env XEROLINK_XERO_URL, config xero_url].")] = None,
    client_id: Annotated[str | None, typer.Option(
        "--client-id", help="Your Xero app's client id [env XEROLINK_CLIENT_ID, config].")
    ] = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", metavar="NAME_OR_ID", help="The organisation to connect.")] = None,
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Print the authorisation link on stderr instead.")] = False,
    scopes: Annotated[str | None, typer.Option(
        "--scopes", help="OAuth2 scopes to ask for (space-separated).")] = None,
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535, help="Loopback port for Xero's redirect.")] = 8742,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1, max=3600, help="Seconds to wait for the browser.")] = 300,
    custom_connection: Annotated[bool, typer.Option(
        "--custom-connection",
        help="Connect a Custom Connection (client credentials, no browser).")] = False,
    client_secret_stdin: Annotated[bool, typer.Option(
        "--client-secret-stdin",
        help="Read the Custom Connection's secret from stdin [else XEROLINK_CLIENT_SECRET].")
    ] = False,
) -> None:
    """Connect one Xero organisation (admins; anyone before the first connection).

    Opens Xero's consent page in the browser and waits for its redirect to
    http://127.0.0.1:PORT/callback (register that URI on your Xero app). Tokens go to
    the OS keyring; links and settings for the organisation are kept across removes.
    """
    if client_secret_stdin and not custom_connection:
        raise UsageError("--client-secret-stdin goes with --custom-connection")
    secret = _client_secret(rt, client_secret_stdin) if custom_connection else None
    options = rt.app.connect_options(xero_url=xero_url, client_id=client_id, tenant=tenant,
                                     scopes=scopes, port=port, timeout=timeout,
                                     notice=rt.out.notice)
    connected = rt.app.connect(options, client_secret=secret,
                               show_url=_show_url(rt, no_browser, timeout, tenant),
                               choose=_chooser(rt))

    def human() -> None:
        rt.out.line("Xero connected successfully")
        rt.out.line("Connection Status: Running")
        rt.out.line(f"Connected Company: {connected.connection.tenant_name}")
        for note in connected.notes:
            rt.out.notice(f"note: {note}")

    rt.out.result(connected, human)


def _client_secret(rt: Runtime, from_stdin: bool) -> str:
    from xerolink.redact import register_secret

    if from_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = (rt.env.get("XEROLINK_CLIENT_SECRET") or "").strip()
    if not secret:
        raise UsageError("a Custom Connection needs its secret: pipe it to "
                         "--client-secret-stdin or set XEROLINK_CLIENT_SECRET")
    register_secret(secret)
    return secret


def status(
    rt: Runtime,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not check the token with Xero (no call).")] = False,
) -> Result:
    """Show the connection: status, company, tenant, tokens, access and rate limits.

    Exits 0 when Running, 3 when Expired or Not connected, 7 when Xero cannot be
    reached to check the token (--offline shows what is stored without asking Xero).
    """
    report = rt.app.status(offline=offline)
    rt.out.result(report, lambda: _status_human(rt, report))
    return report


def _status_human(rt: Runtime, report: StatusReport) -> None:
    conn = report.connection
    pairs: list[tuple[str, Any]] = [("Connection Status", report.status.detail)]
    if conn is not None:
        pairs += [
            ("Connected Company", conn.tenant_name),
            ("Tenant ID", conn.tenant_id),
            ("Base currency", conn.base_currency),
            ("Connected by", f"{conn.connected_by} on {timestamp(conn.connected_at)}"),
            ("Connection kind", "Custom Connection" if conn.auth_kind == "custom"
             else "OAuth2 (PKCE)"),
            ("Xero", conn.xero_url or "https://api.xero.com"),
            ("Access token expires", report.token_expires_at),
            ("Refresh token expires", report.refresh_token_expires_at),
            ("Access", ", ".join(f"{a.user} ({a.role})" for a in report.access_entries)),
            ("Rate limits", _limits_text(report.rate_limits)),
        ]
    if report.problem:
        pairs.append(("Problem", report.problem))
    pairs.append(("CRM source", crm_source_text(report.crm_source)))
    pairs += service_pairs(report.service)
    rt.out.key_values([(k, v) for k, v in pairs if v not in (None, "")])


def service_pairs(state: Any) -> list[tuple[str, Any]]:
    """``crm update --watch``'s last pass, next pass and lag, for ``status``."""
    from xerolink.render import plural

    last = state.last if state is not None else None
    if not last:
        return []
    outcome = last.get("outcome", "?")
    text = (f"{timestamp(last['at'])}, {outcome}" if last.get("at") else outcome)
    if outcome == "ok":
        seconds = last.get("milliseconds", 0) / 1000
        text += (f" in {seconds:.1f} s, {plural(last.get('xero_calls', 0), 'Xero call')}"
                 f", {plural(last.get('crm_calls', 0), 'CRM call')}, "
                 f"{plural(last.get('fields_written', 0), 'field')} written")
    elif last.get("error"):
        text += f": {last['error']}"
    pairs: list[tuple[str, Any]] = [("Last update pass", text)]
    if last.get("next_at") and outcome != "stopped":
        pairs.append(("Next update pass", timestamp(last["next_at"])))
    if last.get("widened"):
        pairs.append(("Update interval", last["widened"]))
    behind = state.behind_seconds
    if behind is not None:
        pairs.append(("Behind Xero", f"{int(behind // 60)} min (since the last pass that "
                      "succeeded began)"))
    if state.webhooks:
        pairs.append(("Webhooks", webhooks_text(state.webhooks)))
    return pairs


def webhooks_text(hooks: dict[str, Any]) -> str:
    """``receiving on 127.0.0.1:8099: 4 deliveries accepted, 1 rejected (as of ...);
    0 events pending, 5 processed``."""
    from xerolink.render import plural

    where = "receiving on" if hooks.get("running") else "stopped, was on"
    text = (f"{where} {hooks.get('listen')}: "
            f"{plural(hooks.get('accepted', 0), 'delivery', 'deliveries')} accepted, "
            f"{hooks.get('rejected', 0)} rejected")
    if hooks.get("as_of"):
        text += f" (as of {timestamp(hooks['as_of'])})"
    return (f"{text}; {plural(hooks.get('pending', 0), 'event')} pending, "
            f"{hooks.get('processed', 0)} processed")


def crm_source_text(state: Any) -> str | None:
    """``Salesmate (acme.salesmate.io): 200 contacts, 79 companies, 20 deals; pulled
    2026-11-26 10:00 UTC``; None when no CRM source is connected."""
    if state is None or state.source is None:
        return None
    counts = state.counts or {}
    parts = []
    for kind in RecordKind:
        plural = kind.plural
        live = counts.get(kind, {}).get("live", 0)
        gone = counts.get(kind, {}).get("gone", 0)
        parts.append(f"{live} {plural}" + (f" ({gone} gone)" if gone else ""))
    pulled = (f"pulled {timestamp(state.pulled_at)}" if state.pulled_at
              else "never pulled")
    where = f"{state.account}.salesmate.io" + (f" via {state.url}" if state.url else "")
    return f"{state.source.capitalize()} ({where}): {', '.join(parts)}; {pulled}"


def _limits_text(limits: dict[str, Any] | None) -> str | None:
    if not limits:
        return None
    return (f"{limits.get('minute_remaining', '?')} calls left this minute, "
            f"{limits.get('day_remaining', '?')} today (seen "
            f"{timestamp(limits['seen_at']) if limits.get('seen_at') else '?'})")


def remove(rt: Runtime) -> None:
    """Disconnect: revoke the token at Xero and forget it here (admins).

    Links, deal documents and access settings stay under the organisation's id:
    connecting the same organisation again brings them back.
    """
    report = rt.app.disconnect()
    if report.warning:
        rt.out.notice(f"warning: {report.warning}")

    def human() -> None:
        from xerolink.render import plural

        rt.out.line(f"Xero connection removed: {report.tenant_name}")
        kept = report.kept
        rt.out.line(f"Kept for a later reconnect: {plural(kept['links'], 'link')}, "
                    f"{plural(kept['deal_documents'], 'deal document')}, "
                    f"{plural(kept['access'], 'access entry', 'access entries')}")

    rt.out.result(report, human)

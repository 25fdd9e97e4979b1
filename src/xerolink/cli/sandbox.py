"""``xerolink sandbox``: a local Xero-compatible server."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from xerolink.cli._runtime import Runtime, command
from xerolink.errors import UsageError
from xerolink.vocabulary import RecordKind

app = typer.Typer(no_args_is_help=True)
OPTIONAL_ENDPOINTS = frozenset({"organisation", "quotes", "currencies"})


_Host = Annotated[str, typer.Option(help="Loopback address to bind.")]
_Port = Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0, max=65535)]
_Seed = Annotated[int, typer.Option(help="Seed of the demo data.")]
_Contacts = Annotated[
    int, typer.Option(help="Contacts in the first organisation.", min=1, max=200_000)]
_LatencyMs = Annotated[
    int, typer.Option(help="Latency added to every Xero call.", min=0, max=60_000)]
_AccessTokenTtl = Annotated[
    int, typer.Option(help="Access-token lifetime in seconds.", min=1, max=86_400)]
_RateLimits = Annotated[
    bool, typer.Option("--rate-limits/--no-rate-limits", help="Enforce Xero's limits.")]
_AutoApprove = Annotated[
    bool, typer.Option(help="Skip the consent page: redirect at once, all organisations.")]
_DayLimit = Annotated[
    int, typer.Option(help="Calls a day per organisation (Xero's Starter tier: 1000).",
                      min=0, max=1_000_000)]
_MinuteLimit = Annotated[
    int, typer.Option(help="Calls a minute per organisation.", min=0, max=100_000)]
_ConcurrentLimit = Annotated[
    int, typer.Option(help="Calls in flight per organisation.", min=1, max=100)]
_BulkConnections = Annotated[
    bool, typer.Option(help="Let one consent connect several organisations (Xero's "
                       "Advanced tier); by default the consent page offers one.")]
_GranularOnly = Annotated[
    bool, typer.Option(help="Act as an app created since 2 March 2026: broad scopes such "
                       "as accounting.transactions are refused.")]
_Without = Annotated[
    str, typer.Option(help="Endpoints not to serve, comma-separated (Organisation, "
                      "Quotes, Currencies), as some Xero-compatible servers do.")]
_Crm = Annotated[
    str | None, typer.Option(help="Also serve a CRM's API on the same port: salesmate "
                             "(its v4 search and update endpoints under /apis/).")]
_CrmContacts = Annotated[
    int | None, typer.Option(help="Contacts in the CRM (default: one per contact of "
                             "the first organisation, matching by email).",
                             min=1, max=200_000)]
_WebhookUrl = Annotated[
    str | None, typer.Option(help="Send Xero's webhooks to this loopback URL (the "
                             "intent-to-receive first, then signed deliveries).")]
_WebhookKey = Annotated[
    str | None, typer.Option(help="The sandbox's webhook signing key (a test value, "
                             "not a secret of yours; needed with --webhook-url).")]
_CrmLatencyMs = Annotated[
    int, typer.Option(help="Latency added to every CRM call (the Xero calls keep "
                      "--latency-ms).", min=0, max=60_000)]
_SalesmateLinkname = Annotated[
    str, typer.Option(help="The Salesmate slice's linkname (its x-linkname is "
                      "NAME.salesmate.io).")]
_ClockSpeed = Annotated[
    float, typer.Option(help="Run the sandbox's clock this many times real time (1440: "
                        "a day a minute): Xero's day and minute windows, token "
                        "lifetimes and dates follow it. Point xerolink's clock at it "
                        "with the XEROLINK_CLOCK_SPEED the sandbox prints.",
                        min=1, max=100_000)]


SERVE_EXAMPLES = [
        "xerolink sandbox serve --port 8080",
        "xerolink sandbox serve --port 0 --contacts 10000 --auto-approve",
        "xerolink sandbox serve --latency-ms 150 --no-rate-limits",
        "xerolink sandbox serve --day-limit 1000",
        "xerolink sandbox serve --day-limit 1000 --clock-speed 1440",
        "xerolink sandbox serve --without Organisation,Quotes",
        "xerolink sandbox serve --crm salesmate --crm-contacts 10000",
        "xerolink sandbox serve --webhook-url http://127.0.0.1:8099/ --webhook-key test-key",
        "xerolink sandbox serve --crm salesmate --crm-latency-ms 150",
]


@command(app, "serve", examples=SERVE_EXAMPLES)
def serve(
    rt: Runtime,
    host: _Host = "127.0.0.1",
    port: _Port = 8080,
    seed: _Seed = 1,
    contacts: _Contacts = 200,
    latency_ms: _LatencyMs = 0,
    access_token_ttl: _AccessTokenTtl = 1800,
    rate_limits: _RateLimits = True,
    auto_approve: _AutoApprove = False,
    day_limit: _DayLimit = 5000,
    minute_limit: _MinuteLimit = 60,
    concurrent_limit: _ConcurrentLimit = 5,
    bulk_connections: _BulkConnections = False,
    granular_only: _GranularOnly = False,
    without: _Without = "",
    crm: _Crm = None,
    crm_contacts: _CrmContacts = None,
    webhook_url: _WebhookUrl = None,
    webhook_key: _WebhookKey = None,
    crm_latency_ms: _CrmLatencyMs = 0,
    salesmate_linkname: _SalesmateLinkname = "demo",
    clock_speed: _ClockSpeed = 1.0,
) -> None:
    """Serve Xero's identity and accounting paths on loopback until interrupted.

    The first line of stdout is the base URL; point xerolink at it with
    `--xero-url URL`. Demo data comes from the seed; `GET /_sandbox/apps` lists the
    registered apps and organisations.
    """
    from xerolink.sandbox import SandboxOptions, SandboxServer

    skipped = _checked(host, without, crm, webhook_url, webhook_key)
    options = SandboxOptions(seed=seed, contacts=contacts, latency_ms=latency_ms,
                             access_token_ttl=access_token_ttl, rate_limits=rate_limits,
                             auto_approve=auto_approve, day_limit=day_limit,
                             minute_limit=minute_limit, concurrent_limit=concurrent_limit,
                             bulk_connections=bulk_connections, granular_only=granular_only,
                             without=skipped, crm=crm.strip().lower() if crm else None,
                             crm_contacts=crm_contacts, crm_latency_ms=crm_latency_ms,
                             salesmate_linkname=salesmate_linkname.strip().lower(),
                             webhook_url=webhook_url, webhook_key=webhook_key,
                             clock_speed=clock_speed)
    try:
        server = SandboxServer(options, host=host, port=port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    _announce(rt, server, webhook_url, clock_speed)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _checked(host: str, without: str, crm: str | None, webhook_url: str | None,
             webhook_key: str | None) -> frozenset[str]:
    """Refuse what the sandbox cannot serve; the endpoints --without leaves out."""
    from xerolink.sandbox.server import is_loopback

    if not is_loopback(host):
        raise UsageError(f"the sandbox only listens on loopback addresses, not {host!r}")
    skipped = frozenset(w.strip().lower() for w in without.split(",") if w.strip())
    unknown = sorted(skipped - OPTIONAL_ENDPOINTS)
    if unknown:
        raise UsageError(f"--without takes Organisation, Quotes or Currencies, not "
                         f"{unknown[0][:40]!r}")
    if crm is not None and crm.strip().lower() != "salesmate":
        raise UsageError(f"--crm takes salesmate, not {crm[:40]!r}")
    if (webhook_url is None) != (webhook_key is None):
        raise UsageError("--webhook-url and --webhook-key go together")
    if webhook_url is not None and not _loopback_url(webhook_url):
        raise UsageError(f"--webhook-url must be an http(s) URL on loopback, not "
                         f"{webhook_url[:80]!r}")
    return skipped


def _announce(rt: Runtime, server: Any, webhook_url: str | None,
              clock_speed: float) -> None:
    """Where the sandbox listens, and what to try, before it serves."""
    from xerolink.sandbox import PKCE_CLIENT_ID

    tenants = [{"tenant_id": t.tenant_id, "name": t.name}
               for t in server.sandbox.tenants.values()]
    salesmate = server.sandbox.salesmate
    clock = server.sandbox.clock.described if clock_speed != 1 else None
    if rt.out.is_human:
        rt.out.line(server.base_url)
        rt.out.notice(
            f"xerolink sandbox: {len(tenants)} organisations, client id {PKCE_CLIENT_ID}; "
            f"try: xerolink connect --xero-url {server.base_url}  (Ctrl-C stops)"
        )
        if salesmate is not None:
            rt.out.notice(
                f"Salesmate slice: linkname {salesmate.linkname}, "
                f"{len(salesmate.records['contact'])} contacts; its (sandbox-only) access "
                f"token is at {server.base_url}/_sandbox/salesmate; try: "
                f"xerolink crm connect salesmate --linkname {salesmate.linkname} "
                f"--salesmate-url {server.base_url} --token-stdin")
        if webhook_url is not None:
            rt.out.notice(f"webhooks: to {webhook_url} (intent to receive first); "
                          f"deliveries at {server.base_url}/_sandbox/webhooks")
        if clock is not None:
            rt.out.notice(f"clock: {clock_speed:g} times real time; run xerolink in step "
                          f"with XEROLINK_CLOCK_SPEED={clock}")
    else:
        rt.out.json_line({"base_url": server.base_url, "webhook_url": webhook_url,
                          "pkce_client_id": PKCE_CLIENT_ID,
                          "tenants": tenants, "xerolink_clock_speed": clock,
                          "salesmate": None if salesmate is None else {
                              "linkname": salesmate.linkname,
                              RecordKind.CONTACT.plural: len(salesmate.records["contact"])}})


def _loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    from xerolink.sandbox.server import is_loopback

    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
    except ValueError:
        return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

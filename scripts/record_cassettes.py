"""Re-record the gateway's cassettes (``cassettes/*.yaml``) that tests/cassettes replays.

    python scripts/record_cassettes.py                      # an in-process sandbox
    python scripts/record_cassettes.py --xero-url URL       # a running sandbox
    XEROLINK_CLIENT_SECRET=... python scripts/record_cassettes.py \\
        --xero-url https://api.xero.com --client-id ID      # a real organisation
                                                            # (a Custom Connection)

Against real Xero (e.g. Xero's Demo Company through a Custom Connection) the
scenarios that need the sandbox's control API (a concurrent 429 on demand, an expired
token) or a second, narrower connection (a missing scope) are skipped and say so;
their cassettes keep the sandbox's recording. ``cassettes/index.json`` records where
and when each cassette was recorded.

Every cassette is scrubbed before it is written: the Authorization header, tokens,
the client secret (never sent to the recorded endpoints), tenant ids and email
addresses. URLs are rewritten to https://api.xero.com.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from cassette_scenarios import (  # noqa: E402
    REAL_XERO,
    SANDBOX_ONLY,
    SCENARIOS,
    TENANT,
    Ctx,
)

EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def scrubber(base: str, tenant: str) -> tuple[Any, Any]:
    def request(req: Any) -> Any:
        if "/_sandbox/" in req.uri:
            return None  # the sandbox's control API is how errors are provoked, not Xero
        req.uri = req.uri.replace(base, REAL_XERO).replace(tenant, TENANT)
        for name in list(req.headers):
            if name.lower() == "authorization":
                req.headers[name] = "Bearer [scrubbed]"
            elif name.lower() == "xero-tenant-id":
                req.headers[name] = TENANT
        if isinstance(req.body, bytes):
            req.body = EMAIL.sub(b"person@example.invalid", req.body)
        return req

    def response(resp: dict[str, Any]) -> dict[str, Any]:
        body = resp["body"]["string"]
        body = body.replace(tenant.encode(), TENANT.encode())
        resp["body"]["string"] = EMAIL.sub(b"person@example.invalid", body)
        return resp

    return request, response


def sandbox_tokens(base: str, tenant: str) -> dict[str, str]:
    """Tokens for the scenarios, through the sandbox's real PKCE flow."""
    from support import control, sandbox_token
    from xerolink.xero.oauth import DEFAULT_SCOPES

    expired = sandbox_token(base, [tenant], DEFAULT_SCOPES)["access_token"]
    control(base, "POST", "clock", {"advance_seconds": 3600})  # the first token expires
    return {"expired": expired, "bogus": "not-a-token-for-this-app",
            "good": sandbox_token(base, [tenant], DEFAULT_SCOPES)["access_token"],
            "contacts_only": sandbox_token(
                base, [tenant], "offline_access accounting.contacts.read")["access_token"]}


def real_tokens(args: argparse.Namespace, endpoints: Any) -> tuple[dict[str, str], str]:
    from xerolink.xero.gateway import XeroGateway
    from xerolink.xero.http import RetryPolicy
    from xerolink.xero.oauth import IdentityClient
    from xerolink.xero.tokens import StaticTokens

    secret = os.environ.get("XEROLINK_CLIENT_SECRET", "")
    if not (args.client_id and secret):
        raise SystemExit("against real Xero: --client-id and XEROLINK_CLIENT_SECRET (a "
                         "Custom Connection)")
    answer = IdentityClient(endpoints, RetryPolicy()).client_credentials(
        client_id=args.client_id, client_secret=secret)
    token = str(answer["access_token"])
    tenants = XeroGateway(endpoints, StaticTokens(token)).connections()
    return {"good": token, "bogus": "not-a-token-for-this-app"}, tenants[0].tenant_id


def main(argv: list[str] | None = None) -> int:
    import vcr

    from xerolink.xero.endpoints import Endpoints
    from xerolink.xero.gateway import XeroGateway
    from xerolink.xero.http import RetryPolicy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xero-url", help="a sandbox's base URL, or https://api.xero.com")
    parser.add_argument("--client-id", help="real Xero: the Custom Connection's client id")
    parser.add_argument("--out", type=Path, default=ROOT / "cassettes")
    parser.add_argument("--only", nargs="*", help="record only these scenarios")
    args = parser.parse_args(argv)

    server = None
    base = args.xero_url
    if base is None:
        from xerolink.sandbox import SandboxOptions, SandboxServer

        server = SandboxServer(SandboxOptions(seed=21, contacts=120))
        base = server.start()
    real = base.rstrip("/") == REAL_XERO
    endpoints = Endpoints.real_xero() if real else Endpoints.at(base)
    try:
        if real:
            tokens, tenant = real_tokens(args, endpoints)
            control = None
            where = "a real Xero organisation"
        else:
            from support import control as sandbox_control

            apps = sandbox_control(base, "GET", "apps")
            tenant = apps["tenants"][0]["tenant_id"]
            tokens = sandbox_tokens(base, tenant)

            def control(path: str, body: dict[str, Any]) -> Any:
                return sandbox_control(base, "POST", path, body)

            where = "the xerolink sandbox"
        probe = XeroGateway(endpoints, _Static(tokens["good"]), tenant_id=tenant)
        contacts = [c for c in probe.contacts_page(1)[0] if c.get("ContactStatus") == "ACTIVE"]
        ctx = Ctx(gateway=lambda provider, **options: XeroGateway(
            endpoints, provider, tenant_id=tenant,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.02), **options),
            tokens=tokens, contact_ids=[c["ContactID"] for c in contacts][:60],
            search_term=str(contacts[0]["Name"]).split()[0], taken_name=contacts[1]["Name"],
            control=control, documents=_documents(probe))
        request_scrub, response_scrub = scrubber(base.rstrip("/"), tenant)
        recorder = vcr.VCR(record_mode="all", decode_compressed_response=True,
                           before_record_request=request_scrub,
                           before_record_response=response_scrub)
        args.out.mkdir(parents=True, exist_ok=True)
        index_path = args.out / "index.json"
        index = json.loads(index_path.read_text()) if index_path.exists() else {}
        index["params"] = {"contact_ids": ctx.contact_ids, "search_term": ctx.search_term,
                           "taken_name": ctx.taken_name, "documents": ctx.documents}
        recorded = index.setdefault("recorded", {})
        for name, scenario in SCENARIOS.items():
            if args.only and name not in args.only:
                continue
            if real and (name in SANDBOX_ONLY or name.endswith("scope_missing")):
                print(f"skipped {name}: needs the sandbox's control API or a second "
                      "connection; its cassette keeps the earlier recording")
                continue
            ctx.slept.clear()
            with recorder.use_cassette(str(args.out / f"{name}.yaml")):
                try:
                    scenario(ctx)
                    outcome = "ok"
                except Exception as exc:  # errors are what some scenarios record
                    outcome = type(exc).__name__
            recorded[name] = {"where": where, "when": datetime.now(UTC).date().isoformat(),
                              "outcome": outcome}
            print(f"recorded {name}: {outcome}")
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    finally:
        if server is not None:
            server.stop()
    return 0


def _documents(probe: Any) -> dict[str, str]:
    """The documents the PDF and online-invoice scenarios work on: the first
    authorised and the first draft sales invoice, and an authorised credit note."""
    def first_invoice(status: str) -> str:
        found = probe.invoices_page(1, statuses=(status,))[0]
        return str(next(i["InvoiceID"] for i in found if i.get("Type") == "ACCREC"))

    api = probe.accounting_api()
    notes = probe.call("GET CreditNotes", lambda: api.get_credit_notes(
        probe.tenant_id, where='Status=="AUTHORISED"', **probe.raw),
        idempotent=True)["CreditNotes"]
    return {"authorised_invoice": first_invoice("AUTHORISED"),
            "draft_invoice": first_invoice("DRAFT"),
            "credit_note_number": str(notes[0]["CreditNoteNumber"])}


class _Static:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self, rejected: str | None = None) -> str:
        return self.token


if __name__ == "__main__":
    raise SystemExit(main())

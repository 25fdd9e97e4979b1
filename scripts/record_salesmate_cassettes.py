"""Re-record the Salesmate cassettes (``cassettes/salesmate/*.yaml``) that
tests/cassettes/test_salesmate_replay.py replays.

    python scripts/record_salesmate_cassettes.py                 # an in-process slice
    XEROLINK_SALESMATE_TOKEN=... python scripts/record_salesmate_cassettes.py \\
        --linkname acme                                          # a real account

Against a real account the scenario that needs the sandbox's control API (a 429 on
demand) is skipped and keeps its earlier recording, and ``update_contact`` writes
"Recorded Ltd" into the first contact's textCustomField1: use a test account.

Every cassette is scrubbed before it is written: the ``accessToken`` header becomes
``[scrubbed]``, URLs become https://demo.salesmate.io, the ``x-linkname`` header
demo.salesmate.io, and email addresses person@example.invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from record_cassettes import EMAIL  # noqa: E402 - one scrubbing rule for emails

from salesmate_scenarios import (  # noqa: E402
    LINKNAME,
    RECORDED_BASE,
    SANDBOX_ONLY,
    SCENARIOS,
    Ctx,
)


def scrubber(base: str, linkname: str) -> tuple[Any, Any]:
    def request(req: Any) -> Any:
        if "/_sandbox/" in req.uri:
            return None
        req.uri = req.uri.replace(base, RECORDED_BASE)
        for name in list(req.headers):
            if name.lower() in ("accesstoken", "sessiontoken", "authorization"):
                req.headers[name] = "[scrubbed]"
            elif name.lower() == "x-linkname":
                req.headers[name] = f"{LINKNAME}.salesmate.io"
        if isinstance(req.body, bytes):
            req.body = EMAIL.sub(b"person@example.invalid", req.body)
        return req

    def response(resp: dict[str, Any]) -> dict[str, Any]:
        body = resp["body"]["string"].replace(linkname.encode(), LINKNAME.encode())
        resp["body"]["string"] = EMAIL.sub(b"person@example.invalid", body)
        return resp

    return request, response


def main(argv: list[str] | None = None) -> int:
    import vcr

    from xerolink.crmsource.salesmate import SalesmateSource

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linkname", help="a real Salesmate account (token from "
                        "XEROLINK_SALESMATE_TOKEN); default: the sandbox's slice")
    parser.add_argument("--out", type=Path, default=ROOT / "cassettes" / "salesmate")
    args = parser.parse_args(argv)
    server = None
    if args.linkname is None:
        from xerolink.sandbox import SandboxOptions, SandboxServer
        from xerolink.sandbox.salesmate import access_token_at

        server = SandboxServer(SandboxOptions(seed=21, contacts=30, crm="salesmate"))
        base = server.start()
        linkname, token, where = LINKNAME, access_token_at(base), "the xerolink sandbox"
        url: str | None = base
    else:
        linkname, token = args.linkname, os.environ["XEROLINK_SALESMATE_TOKEN"]
        base, url, where = f"https://{linkname}.salesmate.io", None, "a real Salesmate account"
    try:
        def control(path: str, body: dict[str, Any]) -> Any:
            from support import control as sandbox_control

            return sandbox_control(base, "POST", f"salesmate/{path}", body)

        ctx = Ctx(source=lambda t: SalesmateSource(linkname, t, base_url=url),
                  token=token, control=control if server else None)
        request_scrub, response_scrub = scrubber(base, linkname)
        recorder = vcr.VCR(record_mode="all", decode_compressed_response=True,
                           before_record_request=request_scrub,
                           before_record_response=response_scrub)
        args.out.mkdir(parents=True, exist_ok=True)
        index_path = args.out / "index.json"
        index = json.loads(index_path.read_text()) if index_path.exists() else {}
        for name, scenario in SCENARIOS.items():
            if server is None and name in SANDBOX_ONLY:
                print(f"skipped {name}: needs the sandbox's control API")
                continue
            with recorder.use_cassette(str(args.out / f"{name}.yaml")):
                try:
                    scenario(ctx)
                    outcome = "ok"
                except Exception as exc:  # the failures are what some scenarios record
                    outcome = type(exc).__name__
            index[name] = {"where": where, "when": datetime.now(UTC).date().isoformat(),
                           "outcome": outcome}
            print(f"recorded {name}: {outcome}")
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

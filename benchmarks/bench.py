"""The benchmarks' harness: a sandbox with Xero's rate limits on and the run's latency,
xerolink profiles set up in-process, and each measured operation run in a worker
process of its own (wall time, peak memory) with the sandbox's own call count."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.data import Plan

ROOT = Path(__file__).resolve().parents[1]


class Bench:
    def __init__(self, plan: Plan, latency: int, cap: float, **options: Any) -> None:
        """``options``: more of the sandbox's (a CRM slice, webhooks)."""
        from xerolink.sandbox import SandboxOptions, SandboxServer

        self.plan = plan
        self.cap = cap
        self.server = SandboxServer(SandboxOptions(latency_ms=latency, **options),
                                    tenants=[plan.tenant])
        self.base = self.server.start()
        self.home = Path(tempfile.mkdtemp(prefix="xerolink-bench-"))
        self.tenant = plan.tenant.tenant_id

    # -- the sandbox's control API ------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        return sandbox_control(self.base, method, path, body)

    def fresh(self) -> None:
        self.control("POST", "stats/reset")
        self.control("POST", "limits", {"reset": True})

    # -- set-up ---------------------------------------------------------------------
    def xerolink(self, profile: str, *args: str) -> Any:
        """Run a command in-process (set-up, not measured)."""
        import io
        import os

        from xerolink.cli import main
        from xerolink.cli._runtime import Runtime
        from xerolink.render import Renderer

        buffer = io.StringIO()
        runtime = Runtime(env={**os.environ, "XEROLINK_HOME": str(self.home),
                               "XEROLINK_PROFILE": profile, "XEROLINK_TOKEN_STORE": "file",
                               "XEROLINK_USER": "bench"},
                          renderer_factory=lambda mode: Renderer(mode="json", stdout=buffer,
                                                                 stderr=io.StringIO()))
        from xerolink.sandbox.browser import follow_in_background

        runtime.browser = follow_in_background
        code = main([*args, "--json"], runtime=runtime)
        if code != 0:
            raise SystemExit(f"set-up step failed ({code}): xerolink {' '.join(args)}")
        return json.loads(buffer.getvalue()) if buffer.getvalue() else None

    def profile(self, name: str, contacts: list[str], company: str | None = None,
                link: bool = True) -> None:
        self.xerolink(name, "connect", "--xero-url", self.base, "--port", "0")
        path = self.home / f"{name}.csv"
        rows = ["id,first_name,last_name,email,company_id"]
        for contact in contacts:
            n = self.plan.tenant.contacts[contact]["ContactNumber"][1:]
            rows.append(f"b{int(n)},Person,{n},{self.plan.emails[contact]},{company or ''}")
        path.write_text("\n".join(rows) + "\n")
        self.xerolink(name, "crm", "import", str(path))
        if company:
            (self.home / "co.csv").write_text(f"id,name\n{company},Big Company\n")
            self.xerolink(name, "crm", "import", str(self.home / "co.csv"))
        if link:
            self.xerolink(name, "link", "--auto")

    def baseline_token(self) -> str:
        from urllib.parse import parse_qs, urlsplit

        from xerolink.sandbox import PKCE_CLIENT_ID
        from xerolink.sandbox.browser import approve
        from xerolink.xero.endpoints import Endpoints
        from xerolink.xero.http import RetryPolicy
        from xerolink.xero.oauth import IdentityClient, authorize_url, pkce_pair

        endpoints = Endpoints.at(self.base)
        verifier, challenge = pkce_pair()
        redirect = "http://127.0.0.1:9/callback"
        location = approve(authorize_url(endpoints, client_id=PKCE_CLIENT_ID,
                                         redirect_uri=redirect,
                                         scopes="offline_access accounting.transactions "
                                         "accounting.contacts",
                                         state="bench", challenge=challenge))
        code = parse_qs(urlsplit(location).query)["code"][0]
        answer = IdentityClient(endpoints, RetryPolicy()).exchange_code(
            client_id=PKCE_CLIENT_ID, code=code, redirect_uri=redirect, verifier=verifier)
        return str(answer["access_token"])

    # -- measuring ------------------------------------------------------------------------
    def measure(self, *worker_args: str, timeout: float | None = None) -> dict[str, Any]:
        out = self.home / "result.json"
        self.fresh()
        subprocess.run([sys.executable, "-m", "benchmarks.worker", str(out), *worker_args],
                       check=True, cwd=ROOT, timeout=timeout or self.cap + 300)
        result = json.loads(out.read_text())
        stats = self.control("GET", "stats")
        result["calls"] = stats["total"]
        result["status_429"] = stats["status_429"]
        result["bytes"] = stats["bytes_sent"]
        result["by_endpoint"] = stats["by_endpoint"]
        if result.get("capped") and result.get("done"):
            # A stopped baseline did part of the job: its bytes for the whole job,
            # at the rate it was going (marked as an estimate wherever shown).
            result["bytes_whole_job"] = round(result["bytes"] * result["items"]
                                              / result["done"])
        return result

    def mine(self, profile: str, *args: str, timeout: float | None = None) -> dict[str, Any]:
        result = self.measure("xerolink", str(self.home), profile, *args, timeout=timeout)
        if result["exit"] != 0:
            raise SystemExit(f"xerolink {' '.join(args)} exited {result['exit']}")
        return result

    def theirs(self, token: str, kind: str, items: list[str]) -> dict[str, Any]:
        ids = self.home / "ids.json"
        ids.write_text(json.dumps(items))
        return self.measure("baseline", self.base, token, self.tenant, str(self.cap), kind,
                            str(ids))

    def change_documents(self, token: str, count: int) -> None:
        """Void ``count`` outstanding invoices through the API, as a user would in Xero."""
        changed = 0
        for contact in self.plan.linked[10:]:
            for invoice_id in self.plan.tenant.invoices_by_contact[contact]:
                if self.plan.tenant.invoices[invoice_id]["Status"] != "AUTHORISED":
                    continue
                body = json.dumps({"Invoices": [{"Status": "VOIDED"}]}).encode()
                request = urllib.request.Request(  # noqa: S310 - loopback
                    f"{self.base}/api.xro/2.0/Invoices/{invoice_id}", data=body, method="POST",
                    headers={"Authorization": f"Bearer {token}", "xero-tenant-id": self.tenant,
                             "Content-Type": "application/json"})
                urllib.request.urlopen(request, timeout=30).read()  # noqa: S310 - loopback
                changed += 1
                break
            if changed >= count:
                return

    def startup(self, profile: str, args: list[str], runs: int = 10) -> float:
        import os

        env = {**os.environ, "XEROLINK_HOME": str(self.home), "XEROLINK_PROFILE": profile,
               "XEROLINK_TOKEN_STORE": "file", "XEROLINK_USER": "bench"}
        exe = str(Path(sys.executable).with_name("xerolink"))
        command = [exe] if Path(exe).exists() else [sys.executable, "-m", "xerolink"]
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([*command, *args], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def close(self) -> None:
        import shutil

        self.server.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def sandbox_control(base: str, method: str, path: str, body: Any = None, *,
                    parse_float: Any = float) -> Any:
    """One call of the sandbox's control API (``/_sandbox/PATH``) on loopback."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/_sandbox/{path}", data=data,  # noqa: S310 - loopback
                                     method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read(), parse_float=parse_float)

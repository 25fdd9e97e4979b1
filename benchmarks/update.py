"""The CRM service's costs (issue 25, section 9): ``python -m benchmarks --suite update
[--scale small|full|huge] [--latency-ms 150] [--save]``.

- a pass when nothing changed (``crm update`` against the sandbox's Salesmate slice):
  Xero and CRM calls, counted by the sandbox and the slice;
- a pass after 1% of the linked contacts' documents changed, and (``--watch
  --webhooks``, a real service in a process of its own) a pass that Xero's webhook
  started: their calls;
- from those measured costs, Xero calls a day for the organisation at ``--every 15m``
  with 1% daily churn, with and without webhooks, against the Starter tier's 1,000;
- the first push of every linked record: seconds and records a second;
- a cold company of 50 at each size against its floor and the baseline.

The organisations are the scale curve's (``benchmarks.curve.build_org``: five
documents a contact, a tenth of the contacts with an open quote).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.bench import Bench
from benchmarks.curve import (
    COMPANY,
    LISTS,
    Org,
    build_org,
    minute_floor_s,
    quote_copy_pages,
    whole_job,
)

SIZES = {"small": {"service": 300, "cold": (300, 3_000)},
         "full": {"service": 10_000, "cold": (1_000, 10_000)},
         "huge": {"service": 10_000, "cold": (1_000, 10_000, 100_000)}}
FIELDS = (("xero_contact", "textCustomField1"), ("outstanding_invoices", "decimalCustomField1"),
          ("outstanding_invoices_count", "numberCustomField1"))
CHURN = 0.01  # of the linked contacts, a day
EVERY_S = 15 * 60
STARTER_DAY = 1_000  # Xero's Starter tier, calls a day (docs/xero-fidelity.md)
WEBHOOK_KEY = "bench-webhook-key-7d1e3a9c5b2f4e6a8c0d2f4b6e8a0c2e4f6a8b0d2c4e6f8a"
TARGETS = {"quiet_xero_calls": 2, "quiet_crm_calls": 3, "push_records_per_s": 20}


# -- the service: a quiet pass, a churned pass, a webhook pass, the first push ----------------
def service(contacts: int, latency: int, cap: float) -> dict[str, Any]:
    org = build_org(contacts, seed=21)
    port = _free_port()
    bench = Bench(org.plan, latency, cap, crm="salesmate", crm_latency_ms=latency,
                  webhook_url=f"http://127.0.0.1:{port}/", webhook_key=WEBHOOK_KEY,
                  webhook_batch_seconds=0.2, webhook_retry_base=0.5)
    try:
        _connect(bench)
        for step in (("crm", "pull"), ("link", "--auto"), ("refresh", "--all")):
            bench.xerolink("svc", *step)
        push = _measured(bench, "crm", "push")
        linked = len(bench.xerolink("svc", "links"))
        bench.xerolink("svc", "crm", "update")  # the first pass after the three commands
        same_day = _measured(bench, "crm", "update")
        _age_crm(bench, hours=48)  # the first push was two days ago
        bench.xerolink("svc", "crm", "update")
        quiet = _measured(bench, "crm", "update")
        changed = _pay(bench, org, max(1, round(linked * CHURN)))
        churned = _measured(bench, "crm", "update")
        hooked = _webhook_passes(bench, org, port, skip=changed)
    finally:
        bench.close()
    records = push["output"].get("records_written") or linked
    push_s = push["wall"]
    return {"contacts": contacts, "linked": linked, "quiet": quiet,
            "quiet_soon_after_first_push": same_day, "churned": churned,
            "churned_contacts": changed, "webhooks": hooked,
            "first_push": {**push, "records": records, "seconds": push_s,
                           "records_per_s": round(records / push_s, 1) if push_s else None}}


def _connect(bench: Bench) -> None:
    os.environ["XEROLINK_SALESMATE_TOKEN"] = bench.control("GET", "salesmate")["access_token"]
    bench.xerolink("svc", "connect", "--xero-url", bench.base, "--port", "0")
    bench.xerolink("svc", "crm", "connect", "salesmate", "--linkname", "demo",
                   "--salesmate-url", bench.base)
    for figure, field in FIELDS:
        bench.xerolink("svc", "config", "set", f"salesmate.fields.{figure}", field)


def _measured(bench: Bench, *args: str) -> dict[str, Any]:
    """One command in a worker, with the Xero calls (the sandbox's count) and the CRM
    calls (the slice's) it made. An hour at most (a first push of 10,000 records at
    5 a second, as before issue 25, would take 33 minutes)."""
    bench.control("POST", "salesmate/stats/reset")
    result = bench.mine("svc", *args, timeout=3600)
    calls = bench.control("GET", "salesmate")["calls"]
    result["crm_calls"], result["crm_by_endpoint"] = sum(calls.values()), calls
    return result


def _age_crm(bench: Bench, hours: int) -> None:
    """Move every Salesmate record's times ``hours`` back, as if the first push had been
    that long ago. A pull re-reads what changed in the 14 hours before the newest change
    it saw (Salesmate filters dates in the account's timezone, to the minute), so for
    the hours after a push every pass reads the pushed records again (measured: 15
    hours back was not yet enough in the slice; 48 is)."""
    from datetime import timedelta

    crm = bench.server.sandbox.salesmate
    assert crm is not None
    shift = timedelta(hours=hours)
    with crm.lock:
        for records in crm.records.values():
            for record in records.values():
                for key in ("createdAt", "lastModifiedAt"):
                    at = datetime.strptime(record[key], "%Y-%m-%dT%H:%M:%S.%fZ")
                    record[key] = (at.replace(tzinfo=UTC) - shift).strftime(
                        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _pay(bench: Bench, org: Org, count: int, skip: int = 0) -> int:
    """Pay one outstanding invoice of each of ``count`` linked contacts (after the first
    ``skip``) through the sandbox's control route, as a day's work in Xero would: the
    sandbox stamps it changed and sends its webhook."""
    paid, seen = 0, 0
    tenant = org.plan.tenant
    for contact in org.plan.linked:
        invoice = next((i for i in tenant.invoices_by_contact[contact]
                        if tenant.invoices[i]["Status"] == "AUTHORISED"
                        and tenant.invoices[i]["Type"] == "ACCREC"), None)
        if invoice is None:
            continue
        seen += 1
        if seen <= skip:
            continue
        bench.control("POST", "pay", {"tenant": bench.tenant, "invoice_id": invoice})
        paid += 1
        if paid >= count:
            break
    return paid


def _webhook_passes(bench: Bench, org: Org, port: int, *, skip: int, changes: int = 5
                    ) -> dict[str, Any]:
    """``crm update --watch --webhooks`` for real (interval an hour): after its first
    pass, one invoice paid at a time, ``changes`` times; each starts a pass, whose
    logged Xero calls (the events' re-read and the refresh) are kept. The invoices
    paid are of contacts after the first ``skip`` (those the churned pass saw)."""
    env = {**os.environ, "XEROLINK_HOME": str(bench.home), "XEROLINK_PROFILE": "svc",
           "XEROLINK_TOKEN_STORE": "file", "XEROLINK_USER": "bench",
           "XEROLINK_WEBHOOK_KEY": WEBHOOK_KEY, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "xerolink", "crm", "update", "--watch", "--every", "1h",
         "--log-format", "json", "--webhooks", f"127.0.0.1:{port}"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[dict[str, Any]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    passes: list[dict[str, Any]] = []
    try:
        _wait(lambda: len(lines) >= 1, 120)
        time.sleep(3)  # deliveries of the churned invoices, sent before the receiver was up
        for n in range(changes):
            before = len(lines)
            if not _pay(bench, org, 1, skip=skip + n):
                break
            _wait(lambda before=before: len(lines) > before, 60)
            passes += lines[before:]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        reader.join(5)
    return {"first": lines[0] if lines else None, "passes": passes,
            "xero_calls": [p.get("xero_calls") for p in passes],
            "crm_calls": [p.get("crm_calls") for p in passes]}


def _wait(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    if not condition():
        raise SystemExit(f"the service did not log a pass within {seconds:.0f} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def per_day(result: dict[str, Any]) -> dict[str, Any]:
    """Xero calls a day at ``--every 15m`` with 1% of the linked contacts changing a
    day, from the measured per-pass costs: every scheduled pass costs what the pass
    that saw the whole day's churn cost (an upper bound: most see none); with webhooks
    each change also starts a pass of its own, costing the most a webhook pass cost."""
    passes = 86_400 // EVERY_S
    scheduled = max(result["quiet"]["calls"], result["churned"]["calls"])
    polling = passes * scheduled
    hooked = [c for c in result["webhooks"]["xero_calls"] if c is not None]
    changes = result["churned_contacts"]
    webhook_pass = max(hooked) if hooked else None
    with_hooks = None if webhook_pass is None else polling + changes * webhook_pass
    return {"passes": passes, "scheduled_pass_calls": scheduled, "changes": changes,
            "webhook_pass_calls": webhook_pass, "polling": polling, "webhooks": with_hooks,
            "starter_day": STARTER_DAY,
            "how": f"{passes} passes x {scheduled} calls (the larger of the quiet pass and "
                   f"the pass after {changes} contacts changed at once)"
                   + ("" if webhook_pass is None else
                      f"; with webhooks, plus {changes} webhook passes x {webhook_pass} calls")}


# -- a cold company at each size ------------------------------------------------------------
def cold_company(size: int, latency: int, cap: float) -> dict[str, Any]:
    """A company of 50 linked contacts, nothing cached, ``link --auto`` run (so the
    store knows the organisation's contact count): xerolink, its floor, the baseline."""
    org = build_org(size)
    bench = Bench(org.plan, latency, cap)
    try:
        bench.profile("company", org.plan.company, company="big")
        token = bench.baseline_token()
        mine = bench.mine("company", "refresh", "company:big")
        theirs = bench.theirs(token, "contacts", org.plan.company)
    finally:
        bench.close()
    copy = quote_copy_pages(org.open_quotes)
    floor = 2 + min(COMPANY, copy) + LISTS  # and the paid and credit lists' four reads
    floor_s = minute_floor_s(floor, latency / 1000, 5)
    baseline_s = whole_job(theirs, "wall")
    return {"contacts": size, "open_quotes": org.open_quotes, "quote_copy_pages": copy,
            "xerolink": mine, "baseline": theirs,
            "floor": {"calls": floor, "wall_s": floor_s,
                      "why": f"two id batches of invoices; quotes per contact ({COMPANY}) "
                             f"or the organisation's copy ({copy} pages), whichever is "
                             "fewer; the paid and credit lists"},
            "baseline_whole_job": {"calls": round(whole_job(theirs, "calls")),
                                   "wall_s": round(baseline_s, 2)},
            "within_10pct_of_floor": mine["calls"] <= floor * 1.1,
            "faster_than_baseline": mine["wall"] < baseline_s}


# -- the suite ----------------------------------------------------------------------------------
def run(scale: str, latency: int, cap: float) -> dict[str, Any]:
    started = time.perf_counter()
    sizes = SIZES[scale]
    cold = []
    for size in sizes["cold"]:
        cold.append(cold_company(size, latency, cap))
        mine, floor = cold[-1]["xerolink"], cold[-1]["floor"]
        print(f"cold company, {size:,} contacts: {mine['calls']} calls (floor "
              f"{floor['calls']}), {mine['wall']:.2f} s", file=sys.stderr, flush=True)
    svc = service(sizes["service"], latency, cap)
    svc["per_day"] = per_day(svc)
    result = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "suite": "update",
              "scale": scale, "latency_ms": latency, "baseline_cap_s": cap,
              "service": svc, "cold_company": cold}
    result["targets"] = [{"target": name, "met": met} for name, met in targets(result)]
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def targets(result: dict[str, Any]) -> list[tuple[str, bool]]:
    svc = result["service"]
    day = svc["per_day"]
    checks = [(f"quiet pass <= {TARGETS['quiet_xero_calls']} Xero calls",
               svc["quiet"]["calls"] <= TARGETS["quiet_xero_calls"]),
              (f"quiet pass <= {TARGETS['quiet_crm_calls']} CRM calls",
               svc["quiet"]["crm_calls"] <= TARGETS["quiet_crm_calls"]),
              ("quiet pass writes nothing", svc["quiet"]["output"]["fields_written"] == 0),
              (f"a day at --every 15m under the Starter tier's {STARTER_DAY:,} (polling)",
               day["polling"] < STARTER_DAY)]
    if day["webhooks"] is not None:
        checks.append((f"a day at --every 15m under {STARTER_DAY:,} (webhooks)",
                       day["webhooks"] < STARTER_DAY))
    if result["scale"] != "small":
        rate = svc["first_push"]["records_per_s"] or 0
        checks.append((f"first push >= {TARGETS['push_records_per_s']} records/s",
                       rate >= TARGETS["push_records_per_s"]))
    for row in result["cold_company"]:
        checks.append((f"{row['contacts']:,}: cold company within 10% of its floor "
                       f"({row['floor']['calls']} calls)", row["within_10pct_of_floor"]))
        checks.append((f"{row['contacts']:,}: cold company faster than the baseline",
                       row["faster_than_baseline"]))
    return checks


def markdown(result: dict[str, Any]) -> str:
    svc, day = result["service"], result["service"]["per_day"]
    quiet, churned, push = svc["quiet"], svc["churned"], svc["first_push"]
    hooked = svc["webhooks"]["xero_calls"]
    lines = [f"CRM service ({result['scale']}): {svc['contacts']:,} contacts, "
             f"{svc['linked']:,} linked, {result['latency_ms']} ms a call (Xero and "
             "Salesmate), Xero's limits on.", "",
             "| measured | Xero calls | CRM calls | fields written | seconds |",
             "|---|---:|---:|---:|---:|",
             "| `crm update`, nothing changed (a day after the first push) | "
             f"{quiet['calls']} | {quiet['crm_calls']} | "
             f"{quiet['output']['fields_written']} | {quiet['wall']:.2f} |",
             f"| `crm update`, nothing changed, minutes after the first push "
             f"| {svc['quiet_soon_after_first_push']['calls']} "
             f"| {svc['quiet_soon_after_first_push']['crm_calls']} "
             f"| {svc['quiet_soon_after_first_push']['output']['fields_written']} "
             f"| {svc['quiet_soon_after_first_push']['wall']:.2f} |",
             f"| `crm update` after {svc['churned_contacts']} contacts' invoices were paid "
             f"(1%) | {churned['calls']} | {churned['crm_calls']} | "
             f"{churned['output']['fields_written']} | {churned['wall']:.2f} |",
             f"| first `crm push` of {push['records']:,} records | {push['calls']} | "
             f"{push['crm_calls']} | — | {push['seconds']:.1f} "
             f"({push['records_per_s']} records/s) |", "",
             f"Passes started by a webhook (one paid invoice each): Xero calls {hooked}.", "",
             f"Xero calls a day at `--every 15m`, 1% daily churn: polling {day['polling']}, "
             f"with webhooks {day['webhooks']}, against the Starter tier's "
             f"{day['starter_day']:,}. Derived: {day['how']}.", "",
             "| contacts | cold company of 50: calls x / floor / baseline | seconds x / floor "
             "/ baseline |", "|---:|---:|---:|"]
    for row in result["cold_company"]:
        mine, floor, base = row["xerolink"], row["floor"], row["baseline_whole_job"]
        mark = "~" if row["baseline"].get("capped") else ""
        lines.append(f"| {row['contacts']:,} | {mine['calls']} / {floor['calls']} / "
                     f"{mark}{base['calls']} | {mine['wall']:.2f} / {floor['wall_s']:.2f} / "
                     f"{mark}{base['wall_s']:.1f} |")
    lines += ["", "~ a baseline stopped at the cap, extrapolated to the whole job.", "",
              "Targets: " + "; ".join(f"{t['target']}: {'met' if t['met'] else 'MISSED'}"
                                      for t in result["targets"])]
    return "\n".join(lines)

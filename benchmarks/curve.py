"""How cost grows with the organisation: the same scenarios at 1,000, 10,000 and
(``--scale huge``) 100,000 contacts, xerolink and the baseline side by side, each
row with the floor the API allows.

Each size is an organisation of its own (about five documents a contact, a realistic
share open) behind a sandbox of its own, with Xero's limits on and the run's latency.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.data import Plan, empty_tenant
from xerolink.sandbox.names import PRODUCTS
from xerolink.sandbox.seed import line_amounts
from xerolink.services.settlements import READS as LISTS  # paid and credit: 4 reads

SIZES = {"small": (100, 300), "full": (1_000, 10_000), "huge": (1_000, 10_000, 100_000)}
COMPANY = 50
CHANGED_SHARE = 0.01  # warm refresh: 1% of the organisation's documents changed
INVOICES_PAGE, QUOTES_PAGE, ID_BATCH, MINUTE_LIMIT = 1000, 100, 45, 60
OPEN_INVOICE = ("DRAFT", "SUBMITTED", "AUTHORISED")
OPEN_QUOTE = ("DRAFT", "SENT")


@dataclass
class Org:
    plan: Plan
    open_invoices: int
    open_quotes: dict[str, int]  # by status
    documents: int


def build_org(contacts: int, seed: int = 11) -> Org:
    """``contacts`` contacts with five documents each: three invoices, a bill and a
    quote, of one to four lines (2.5 on average). Open: a third of first invoices, a
    seventh of third ones, a fifth of bills (outstanding); a tenth of quotes (DRAFT or
    SENT). The rest are paid, accepted or
    declined: history a typical integration downloads and xerolink does not."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    tenant, new_id = empty_tenant(rng, "Curve Trading Ltd", "!cUrve")
    emails: dict[str, str] = {}
    old = now - timedelta(days=30)
    for n in range(contacts):
        contact_id = new_id()
        email = f"p{n}@curve.example.com"
        tenant.contacts[contact_id] = {
            "ContactID": contact_id, "ContactNumber": f"B{n:06d}", "ContactStatus": "ACTIVE",
            "Name": f"Person {n:06d}", "FirstName": "Person", "LastName": f"{n:06d}",
            "EmailAddress": email, "ContactPersons": [], "IsCustomer": True,
            "IsSupplier": True, "Phones": [], "Addresses": [], "UpdatedDateUTC": old,
            "HasAttachments": False}
        tenant.names[f"person {n:06d}"] = contact_id
        tenant.invoices_by_contact[contact_id] = []
        tenant.quotes_by_contact[contact_id] = []
        emails[contact_id] = email
    counts = {"invoices": 0, "DRAFT": 0, "SENT": 0, "documents": 0}

    def invoice(contact: str, kind: str, status: str, due_in: int) -> None:
        lines = [{"Description": rng.choice(PRODUCTS)[0], "Quantity": Decimal(rng.randint(1, 5)),
                  "UnitAmount": Decimal(rng.randint(50, 900)),
                  "AccountCode": "200" if kind == "ACCREC" else "429",
                  "TaxType": "OUTPUT2" if kind == "ACCREC" else "INPUT2",
                  "LineItemID": new_id()} for _ in range(rng.randint(1, 4))]
        sub, tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
        issued = today - timedelta(days=rng.randint(10, 200))
        paid = status == "PAID"
        doc = {"InvoiceID": new_id(), "Type": kind,
               "InvoiceNumber": f"INV-{tenant.next_invoice_number:07d}", "Reference": "",
               "ContactID": contact, "Date": issued, "DueDate": today + timedelta(days=due_in),
               "Status": status, "LineAmountTypes": "Exclusive", "LineItems": lines,
               "SubTotal": sub, "TotalTax": tax, "Total": total,
               "AmountDue": Decimal("0") if paid else total,
               "AmountPaid": total if paid else Decimal("0"), "AmountCredited": Decimal("0"),
               "CurrencyCode": "NZD", "CurrencyRate": Decimal("1"), "SentToContact": True,
               "UpdatedDateUTC": old, "FullyPaidOnDate": issued if paid else None}
        tenant.next_invoice_number += 1
        tenant.invoices[doc["InvoiceID"]] = doc
        tenant.invoices_by_contact[contact].append(doc["InvoiceID"])
        counts["invoices"] += status in OPEN_INVOICE
        counts["documents"] += 1

    def quote(contact: str, status: str) -> None:
        lines = [{"Description": rng.choice(PRODUCTS)[0], "Quantity": Decimal(1),
                  "UnitAmount": Decimal(rng.randint(500, 5000)), "AccountCode": "200",
                  "TaxType": "OUTPUT2", "LineItemID": new_id()}
                 for _ in range(rng.randint(1, 4))]
        sub, tax, total = line_amounts(lines, tenant.tax_rates, "Exclusive")
        issued = today - timedelta(days=rng.randint(1, 60))
        doc = {"QuoteID": new_id(), "QuoteNumber": f"QU-{tenant.next_quote_number:07d}",
               "Reference": "", "Title": "Proposal", "Summary": "", "Terms": "",
               "ContactID": contact, "Date": issued, "ExpiryDate": issued + timedelta(days=30),
               "Status": status, "LineAmountTypes": "EXCLUSIVE", "LineItems": lines,
               "SubTotal": sub, "TotalTax": tax, "Total": total, "CurrencyCode": "NZD",
               "CurrencyRate": Decimal("1"), "UpdatedDateUTC": old}
        tenant.next_quote_number += 1
        tenant.quotes[doc["QuoteID"]] = doc
        tenant.quotes_by_contact[contact].append(doc["QuoteID"])
        if status in OPEN_QUOTE:
            counts[status] += 1
        counts["documents"] += 1

    ids = list(tenant.contacts)
    for k, contact in enumerate(ids):
        invoice(contact, "ACCREC", "AUTHORISED" if k % 3 == 0 else "PAID", 20)
        invoice(contact, "ACCREC", "PAID", -90)
        invoice(contact, "ACCREC", "AUTHORISED" if k % 7 == 0 else "PAID", -10)
        invoice(contact, "ACCPAY", "AUTHORISED" if k % 5 == 0 else "PAID", 14)
        quote(contact, ("SENT", "DRAFT", "ACCEPTED", "DECLINED")[0 if k % 20 == 0 else
                                                                 1 if k % 20 == 1 else
                                                                 2 if k % 2 else 3])
    plan = Plan(tenant, ids[0], ids, ids[1:COMPANY + 1], emails)
    return Org(plan, counts["invoices"], {"DRAFT": counts["DRAFT"], "SENT": counts["SENT"]},
               counts["documents"])


def change_documents(org: Org, share: float, lock: Any) -> int:
    """Change ``share`` of the organisation's documents as a day's work in Xero would:
    outstanding invoices and bills paid (they leave the open set). Done in the
    sandbox's books directly, under its lock, so that the minute limit is untouched."""
    wanted = max(1, round(org.documents * share))
    now = datetime.now(UTC)
    changed = 0
    with lock:
        for doc in org.plan.tenant.invoices.values():
            if changed >= wanted:
                break
            if doc["Status"] == "AUTHORISED":
                doc.update({"Status": "PAID", "AmountPaid": doc["Total"],
                            "AmountDue": Decimal("0"), "UpdatedDateUTC": now,
                            "FullyPaidOnDate": now.date()})
                changed += 1
    org.open_invoices -= changed
    return changed


# -- floors -------------------------------------------------------------------------------
def minute_floor_s(calls: int, rtt: float, in_flight: int = 1) -> float:
    """The least wall time ``calls`` can take: past 60, one minute per full window of
    Xero's minute limit; within a window, round trips (``in_flight`` at a time)."""
    windows = max(0, math.ceil(calls / MINUTE_LIMIT) - 1)
    last = calls - windows * MINUTE_LIMIT
    return windows * 60.0 + math.ceil(last / in_flight) * rtt


def quote_copy_pages(open_quotes: dict[str, int]) -> int:
    """The calls reading the organisation's open quotes takes, a status at a time:
    Xero's Quotes answers carry no page count, so a full last page is known to be the
    last only from the empty page after it."""
    return sum(n // QUOTES_PAGE + 1 for n in open_quotes.values())


def floors(org: Org, size: int, changed: int, rtt: float) -> dict[str, dict[str, Any]]:
    quote_pages = quote_copy_pages(org.open_quotes)
    invoice_pages = max(1, math.ceil(org.open_invoices / INVOICES_PAGE))
    cold = min(invoice_pages, math.ceil(size / ID_BATCH)) + quote_pages
    contact_pages = max(1, math.ceil(size / 1000))
    company_quotes = min(COMPANY, quote_pages)
    warm = max(1, math.ceil(changed / INVOICES_PAGE)) + 1
    # Every refresh also reads the organisation's paid and credit lists (Payments,
    # CreditNotes, Overpayments, Prepayments): LISTS calls more, at once, to each floor.
    return {
        "auto_link": {"calls": contact_pages,
                      "wall_s": rtt + minute_floor_s(contact_pages - 1, rtt, 5)
                      if contact_pages > 1 else rtt,
                      "why": f"{contact_pages} Contacts page(s) of 1,000: the first, then "
                             "the rest five at a time"},
        "refresh_all_cold": {"calls": cold + LISTS,
                             "wall_s": minute_floor_s(cold + LISTS, rtt, 5),
                             "why": f"{invoice_pages} page(s) of open invoices and bills, "
                                    f"{quote_pages} of open quotes (100 a page, per status), "
                                    "the paid and credit lists"},
        "refresh_all_warm": {"calls": warm + LISTS, "wall_s": minute_floor_s(warm + LISTS, rtt, 5),
                             "why": "one If-Modified-Since read each of invoices and quotes, "
                                    "a page per 1,000 changes, and of the paid and credit lists"},
        "company_cold": {"calls": 2 + company_quotes + LISTS,
                         "wall_s": minute_floor_s(2 + company_quotes + LISTS, rtt, 5),
                         "why": "two id batches of invoices; quotes per contact or the "
                                "organisation's copy, whichever is fewer; the paid and "
                                "credit lists"},
        "company_warm": {"calls": 2, "wall_s": rtt,
                         "why": "two incremental reads at once: one round trip (the paid "
                                "and credit lists, read within the minute, are not read "
                                "again)"},
        "crm_list": {"calls": 0, "wall_s": 0.0, "why": "local"},
        "cached_summary": {"calls": 0, "wall_s": 0.0, "why": "local"},
    }


def targets(size: int, org: Org, cold_invoices: int, changed: int,
            rows: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    """The issue's targets that apply to this size."""
    checks: list[tuple[str, bool]] = []
    mine = {k: r["xerolink"] for k, r in rows.items()}
    theirs = {k: r.get("baseline") for k, r in rows.items()}
    fl = {k: r["floor"] for k, r in rows.items()}
    quote_pages = sum(max(1, math.ceil(n / QUOTES_PAGE)) for n in org.open_quotes.values())
    needed = max(1, math.ceil(cold_invoices / INVOICES_PAGE)) + quote_pages + LISTS
    checks.append((f"{size:,}: refresh --all cold <= pages needed + 5 ({needed + 5})",
                   mine["refresh_all_cold"]["calls"] <= needed + 5))
    warm_cap = 4 + math.ceil(changed / 1000)
    checks.append((f"{size:,}: refresh --all warm <= {warm_cap} calls",
                   mine["refresh_all_warm"]["calls"] <= warm_cap))
    for key in ("refresh_all_cold", "refresh_all_warm"):
        base = theirs[key]
        if base:
            checks.append((f"{size:,}: {key} bytes <= a tenth of the baseline's",
                           mine[key]["bytes"] * 10 <= whole_job(base, "bytes")))
    if size >= 100_000:
        auto = mine["auto_link"]
        checks.append((f"{size:,}: link --auto <= 101 calls", auto["calls"] <= 101))
        checks.append((f"{size:,}: link --auto within 10% of the minute-limit floor",
                       auto["wall"] <= fl["auto_link"]["wall_s"] * 1.1 + 1))
        checks.append((f"{size:,}: link --auto peak memory < 250 MB", auto["peak_mb"] < 250))
        checks.append((f"{size:,}: cached summary --json < 150 ms",
                       mine["cached_summary"]["wall"] < 0.150))
        checks.append((f"{size:,}: crm list --json < 1 s", mine["crm_list"]["wall"] < 1.0))
    return checks


def whole_job(row: dict[str, Any], key: str) -> float:
    """A capped baseline's figure for the whole job, at the rate it was going."""
    value = float(row.get(key) or 0)
    if row.get("capped") and row.get("done"):
        return value * row["items"] / row["done"]
    return value


def store_mb(home: Path, profile: str) -> float:
    folder = home / "profiles" / profile
    return sum(p.stat().st_size for p in folder.glob("xerolink.db*")) / 1e6


def save_chart(result: dict[str, Any], path: Path) -> Path | None:
    """calls, bytes and wall time against contacts, xerolink and the baseline, on log
    scales: one line per scenario. None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    sizes = [s["contacts"] for s in result["sizes"]]
    scenarios = [("auto_link", "link --auto"), ("refresh_all_cold", "refresh --all cold"),
                 ("refresh_all_warm", "refresh --all warm"), ("company_cold", "company cold")]
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (key, label) in zip(axes, (("calls", "Xero calls"), ("bytes", "MB downloaded"),
                                       ("wall", "seconds")), strict=True):
        for n, (scenario, name) in enumerate(scenarios):
            colour = f"C{n}"
            ours = [s["rows"][scenario]["xerolink"][key] for s in result["sizes"]]
            theirs = [whole_job(s["rows"][scenario]["baseline"], key)
                      if s["rows"][scenario].get("baseline") else math.nan
                      for s in result["sizes"]]
            scale = 1e6 if key == "bytes" else 1
            ax.plot(sizes, [max(v, 0.01) / scale for v in ours], "-o", color=colour,
                    label=f"xerolink: {name}")
            if not scenario.endswith("_warm"):  # the baseline keeps no cache: as cold
                ax.plot(sizes, [max(v, 0.01) / scale for v in theirs], "--x", color=colour,
                        label=f"baseline: {name}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("contacts in the organisation")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(f"xerolink vs a typical integration, {result['latency_ms']} ms a call, "
                    "Xero's limits on (baseline dashed; a capped baseline extrapolated)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def to_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- running one size ------------------------------------------------------------------------
def run_size(size: int, latency: int, cap: float) -> dict[str, Any]:
    from benchmarks.bench import Bench

    org = build_org(size)
    plan = org.plan
    bench = Bench(plan, latency, cap)
    rtt = latency / 1000
    rows: dict[str, dict[str, Any]] = {}
    try:
        bench.profile("all", plan.linked, link=False)  # the CRM: every contact
        token = bench.baseline_token()

        def mine(profile: str, *args: str) -> dict[str, Any]:
            row = bench.mine(profile, *args)
            row["store_mb"] = round(store_mb(bench.home, profile), 2)
            return row

        rows["auto_link"] = {"xerolink": mine("all", "link", "--auto"),
                             "baseline": bench.theirs(token, "auto_link",
                                                      [plan.emails[c] for c in plan.linked])}
        cold_invoices = org.open_invoices
        every = bench.theirs(token, "contacts", plan.linked)
        rows["refresh_all_cold"] = {"xerolink": mine("all", "refresh", "--all"),
                                    "baseline": every}
        bench.profile("company", plan.company, company="big")
        company = bench.theirs(token, "contacts", plan.company)
        rows["company_cold"] = {"xerolink": mine("company", "refresh", "company:big"),
                                "baseline": company}
        rows["company_warm"] = {"xerolink": mine("company", "refresh", "company:big"),
                                "baseline": company}
        changed = change_documents(org, CHANGED_SHARE, bench.server.sandbox.lock)
        rows["refresh_all_warm"] = {"xerolink": mine("all", "refresh", "--all"),
                                    "baseline": every}
        rows["crm_list"] = {"xerolink": mine("all", "crm", "list")}
        rows["cached_summary"] = {"xerolink": mine("all", "summary", "b1")}
    finally:
        bench.close()
    for key, floor in floors(org, size, changed, rtt).items():
        rows[key]["floor"] = floor
    checks = targets(size, org, cold_invoices, changed, rows)
    return {"contacts": size, "documents": org.documents, "open_invoices": cold_invoices,
            "open_quotes": org.open_quotes, "changed": changed, "rows": to_json(rows),
            "targets": [{"target": name, "met": met} for name, met in checks]}


def run_warm_path(size: int, latency: int, cap: float, runs: int = 7) -> dict[str, Any]:
    """One contact's refresh in a process that is already running (the Python API),
    against the CLI in a process of its own, the baseline, and one round trip."""
    from benchmarks.bench import Bench

    org = build_org(size, seed=12)
    bench = Bench(org.plan, latency, cap)
    try:
        bench.profile("warm", org.plan.linked[:60])
        bench.xerolink("warm", "refresh", "--all")  # the organisation's quote copy exists
        api = bench.measure("api_warm", str(bench.home), "warm", "b1", str(runs))
        cli = bench.mine("warm", "refresh", "b1")
        token = bench.baseline_token()
        baseline = bench.theirs(token, "contacts", [org.plan.linked[1]])
    finally:
        bench.close()
    met = api["median_s"] <= api["rtt_s"] + 0.015
    return {"contacts": size, "runs": runs, "api": api, "cli": cli, "baseline": baseline,
            "target": {"target": "warm single-contact refresh within 15 ms of one round "
                                 "trip", "met": met}}

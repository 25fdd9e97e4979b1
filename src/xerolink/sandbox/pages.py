"""The sandbox's stand-ins for Xero's web pages behind "View in Xero" links, so that a
link xerolink prints for a sandbox connection opens the record it names."""

from __future__ import annotations

import html
import re
from typing import Any

from xerolink.sandbox.state import Response

_VIEW = re.compile(
    r"^/app/([^/]+)/(contacts/contact|invoicing/view|quotes/view)/([0-9a-fA-F-]{36})$")
_BILL = re.compile(r"InvoiceID=([0-9a-fA-F-]{36})")


def _page(status: int, title: str, rows: list[tuple[str, Any]]) -> Response:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<table>{cells}</table></body></html>")
    return status, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}


def view(tenants: dict[str, Any], path: str, query: dict[str, list[str]]) -> Response:
    from urllib.parse import unquote

    path = unquote(path)
    match = _VIEW.match(path)
    if match:
        short, section, record_id = match.group(1), match.group(2), match.group(3).lower()
    else:
        short = (query.get("shortcode") or [""])[0]
        found = _BILL.search((query.get("redirecturl") or [""])[0])
        section, record_id = "bill", found.group(1).lower() if found else ""
    tenant = next((t for t in tenants.values() if t.short_code == short), None)
    if tenant is None:
        return _page(404, "Organisation not found", [("Short code", short)])
    if section == "contacts/contact" and record_id in tenant.contacts:
        contact = tenant.contacts[record_id]
        return _page(200, f"Contact: {contact['Name']}", [
            ("Organisation", tenant.name), ("Email", contact.get("EmailAddress", "")),
            ("Status", contact["ContactStatus"])])
    if section == "quotes/view" and record_id in tenant.quotes:
        quote = tenant.quotes[record_id]
        return _page(200, f"Quote {quote['QuoteNumber']}", [
            ("Organisation", tenant.name), ("Status", quote["Status"]),
            ("Total", f"{quote['Total']} {quote['CurrencyCode']}")])
    invoice = tenant.invoices.get(record_id)
    wanted = "ACCPAY" if section == "bill" else "ACCREC"
    if section in ("invoicing/view", "bill") and invoice and invoice["Type"] == wanted:
        label = "Bill" if wanted == "ACCPAY" else "Invoice"
        return _page(200, f"{label} {invoice['InvoiceNumber']}", [
            ("Organisation", tenant.name), ("Status", invoice["Status"]),
            ("Total", f"{invoice['Total']} {invoice['CurrencyCode']}"),
            ("Amount due", f"{invoice['AmountDue']} {invoice['CurrencyCode']}")])
    return _page(404, "Not found", [("Id", record_id)])

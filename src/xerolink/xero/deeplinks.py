""""View in Xero" links. Real Xero's live on go.xero.com; a Xero-compatible server
(the sandbox) serves the same paths on its own host."""

from __future__ import annotations

from urllib.parse import quote

from xerolink.xero.endpoints import Endpoints

GO_XERO = "https://go.xero.com"


def _host(endpoints: Endpoints) -> str:
    return endpoints.base_url or GO_XERO


def contact(endpoints: Endpoints, short_code: str, contact_id: str) -> str:
    short = quote(short_code, safe="!")
    return f"{_host(endpoints)}/app/{short}/contacts/contact/{contact_id}"


def document(endpoints: Endpoints, short_code: str, kind: str, document_id: str) -> str:
    short = quote(short_code, safe="!")
    if kind == "quote":
        return f"{_host(endpoints)}/app/{short}/quotes/view/{document_id}"
    if kind == "bill":
        return (f"{_host(endpoints)}/organisationlogin/default.aspx?shortcode={short}"
                f"&redirecturl=/AccountsPayable/Edit.aspx?InvoiceID={document_id}")
    return f"{_host(endpoints)}/app/{short}/invoicing/view/{document_id}"

""""View in Xero" links. Real Xero's live on go.xero.com; a Xero-compatible server
(the sandbox) serves the same paths on its own host."""

from __future__ import annotations

from urllib.parse import quote

from xerolink.vocabulary import DocumentKind
from xerolink.xero.endpoints import Endpoints

GO_XERO = "https://go.xero.com"


def _host(endpoints: Endpoints) -> str:
    return endpoints.base_url or GO_XERO


def _app(endpoints: Endpoints, short_code: str) -> str:
    """``/app/{ShortCode}``; without a short code (a connection that cannot read the
    Organisation) the link has none and opens in the organisation last used."""
    short = quote(short_code, safe="!")
    return f"{_host(endpoints)}/app/{short}" if short else f"{_host(endpoints)}/app"


def contact(endpoints: Endpoints, short_code: str, contact_id: str) -> str:
    return f"{_app(endpoints, short_code)}/contacts/contact/{contact_id}"


def document(endpoints: Endpoints, short_code: str, kind: str, document_id: str) -> str:
    if kind == DocumentKind.QUOTE:
        return f"{_app(endpoints, short_code)}/quotes/view/{document_id}"
    if kind == DocumentKind.BILL:
        short = quote(short_code, safe="!")
        login = f"shortcode={short}&" if short else ""
        return (f"{_host(endpoints)}/organisationlogin/default.aspx?{login}"
                f"redirecturl=/AccountsPayable/Edit.aspx?InvoiceID={document_id}")
    return f"{_app(endpoints, short_code)}/invoicing/view/{document_id}"

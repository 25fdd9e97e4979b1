"""A typical integration, for comparison: the way Xero's own MCP server and most
integrations talk to Xero, written here on xero-python. Per contact, Invoices by
ContactIDs with pageSize 10 and no summaryOnly (paging through all of them), then
Quotes by ContactID; for linking, one searchTerm lookup per CRM contact. It honours
429 by sleeping Retry-After, like a decent client, and stops at a time cap. Its
calls are sequential, as most integrations' are."""

from __future__ import annotations

import time
from typing import Any

from xerolink.sandbox import PKCE_CLIENT_ID


class Capped(Exception):
    pass


class Baseline:
    def __init__(self, base: str, access_token: str, tenant: str, deadline: float) -> None:
        from xero_python.accounting import AccountingApi
        from xero_python.api_client import ApiClient, Configuration
        from xero_python.api_client.oauth2 import OAuth2Token

        configuration = Configuration()
        configuration.oauth2_token = OAuth2Token(client_id=PKCE_CLIENT_ID)
        token = {"access_token": access_token, "token_type": "Bearer", "expires_in": 1800,
                 "scope": "accounting.transactions"}
        client = ApiClient(configuration, oauth2_token_getter=lambda: token,
                           oauth2_token_saver=lambda t: None)
        # The SDK's default urllib3 pool silently sleeps through a 429's Retry-After; this
        # client handles 429 itself (below) so that the time cap can stop it.
        import urllib3

        client.rest_client.pool_manager = urllib3.PoolManager(retries=False, maxsize=1)
        self.api = AccountingApi(client, base_url=f"{base}/api.xro/2.0")
        self.tenant = tenant
        self.deadline = deadline
        self.done = 0  # items (contacts or emails) finished before any cap

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from xero_python.exceptions import ApiException

        while True:
            if time.monotonic() > self.deadline:
                raise Capped
            try:
                return fn(self.tenant, *args, **kwargs)
            except ApiException as exc:
                if exc.status != 429:
                    raise
                wait = float((exc.headers or {}).get("Retry-After") or 1)
                if time.monotonic() + wait > self.deadline:
                    raise Capped from None
                time.sleep(wait)

    def contact(self, contact_id: str) -> int:
        documents, page = 0, 1
        while True:
            found = self._call(self.api.get_invoices, contact_i_ds=[contact_id], page=page,
                               page_size=10).invoices
            documents += len(found)
            if len(found) < 10:
                break
            page += 1
        page = 1
        while True:
            quotes = self._call(self.api.get_quotes, contact_id=contact_id, page=page).quotes
            documents += len(quotes)
            if len(quotes) < 100:
                break
            page += 1
        self.done += 1
        return documents

    def contacts(self, contact_ids: list[str]) -> int:
        return sum(self.contact(c) for c in contact_ids)

    def auto_link(self, emails: list[str]) -> int:
        linked = 0
        for email in emails:
            found = self._call(self.api.get_contacts, search_term=email).contacts
            if len(found) == 1:
                linked += 1
            self.done += 1
        return linked

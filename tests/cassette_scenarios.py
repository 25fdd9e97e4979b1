"""The exchanges the gateway's cassettes hold: every call xerolink makes, and each
error shape real Xero gives. ``scripts/record_cassettes.py`` runs these against a
server (the sandbox, or a real organisation) to record them; ``tests/cassettes``
replays them with no server at all.

A scenario gets a ``Ctx``: a way to make a gateway with given tokens, the ids it
works on, and (sandbox only) the control API to provoke errors real Xero gives on
its own. Recorded URLs are rewritten to https://api.xero.com, and tokens, tenant
ids and email addresses are scrubbed, so replays use those placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

REAL_XERO = "https://api.xero.com"
TENANT = "00000000-0000-4000-8000-00000000000a"  # the scrubbed tenant id
MISSING_ID = "00000000-0000-4000-8000-000000000404"


class ScriptedTokens:
    """Hands out tokens in order: the next one each time Xero rejects the current.
    Counts the refreshes a real TokenManager would have made."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.index = 0
        self.refreshes = 0

    def access_token(self, rejected: str | None = None) -> str:
        if rejected is not None and rejected == self.tokens[self.index]:
            self.refreshes += 1
            self.index = min(self.index + 1, len(self.tokens) - 1)
        return self.tokens[self.index]


@dataclass
class Ctx:
    """What a scenario uses. ``tokens``: name -> token ("good", "expired", "bogus",
    "contacts_only"); in replays every token is a placeholder."""

    gateway: Callable[..., Any]  # (tokens provider, **gateway options) -> XeroGateway
    tokens: dict[str, str]
    contact_ids: list[str]
    search_term: str
    taken_name: str
    control: Callable[[str, dict[str, Any]], Any] | None = None  # sandbox only
    slept: list[float] = field(default_factory=list)
    # Documents the issue-27 calls work on: "authorised_invoice", "draft_invoice" (ids)
    # and "credit_note_number".
    documents: dict[str, str] = field(default_factory=dict)


def _gw(ctx: Ctx, *names: str, **options: Any) -> Any:
    provider = ScriptedTokens(*(ctx.tokens[n] for n in names or ("good",)))
    gateway = ctx.gateway(provider, **options)
    gateway.provider = provider
    return gateway


def _line_fields(contact_id: str) -> dict[str, Any]:
    return {"Contact": {"ContactID": contact_id}, "Date": date(2026, 11, 26).isoformat(),
            "LineAmountTypes": "NoTax",
            "LineItems": [{"Description": "Metered energy (kWh)", "Quantity": "1000",
                           "UnitAmount": "0.1648"}]}


# -- every call xerolink makes --------------------------------------------------------
def connections(ctx: Ctx) -> Any:
    return _gw(ctx).connections()


def organisation(ctx: Ctx) -> Any:
    return _gw(ctx).organisation()


def contacts_page(ctx: Ctx) -> Any:
    return _gw(ctx).contacts_page(1)


def search_contacts(ctx: Ctx) -> Any:
    return _gw(ctx).search_contacts(ctx.search_term)


def invoices_by_contact_ids(ctx: Ctx) -> Any:
    gateway = _gw(ctx)
    batch = ctx.contact_ids[:gateway.id_batch_size]
    return gateway.invoices_page(1, contact_ids=batch,
                                 statuses=("DRAFT", "SUBMITTED", "AUTHORISED"))


def quotes_for_contact(ctx: Ctx) -> Any:
    return _gw(ctx).quotes_page(1, contact_id=ctx.contact_ids[0])


def create_invoice(ctx: Ctx) -> Any:
    fields = {**_line_fields(ctx.contact_ids[0]), "Type": "ACCREC", "Status": "DRAFT"}
    return _gw(ctx).create_invoice(fields, "cassette-invoice-1")


def create_quote(ctx: Ctx) -> Any:
    fields = {**_line_fields(ctx.contact_ids[0]), "Status": "DRAFT"}
    fields["LineAmountTypes"] = "NOTAX"
    return _gw(ctx).create_quote(fields, "cassette-quote-1")


def create_contact(ctx: Ctx) -> Any:
    return _gw(ctx).create_contact({"Name": "Cassette Recording Ltd", "FirstName": "Cass",
                                    "LastName": "Ette"}, "cassette-contact-1")


def invoice_pdf(ctx: Ctx) -> Any:
    return _gw(ctx).document_pdf("invoice", ctx.documents["authorised_invoice"])


def online_invoice(ctx: Ctx) -> Any:
    return _gw(ctx).online_invoice_url(ctx.documents["authorised_invoice"])


def credit_note_by_number(ctx: Ctx) -> Any:
    return _gw(ctx).credit_note_by_number(ctx.documents["credit_note_number"])


def credit_note_pdf(ctx: Ctx) -> Any:
    gateway = _gw(ctx)
    note = gateway.credit_note_by_number(ctx.documents["credit_note_number"])
    return gateway.document_pdf("credit_note", note.credit_note_id)


# What was paid, and credit (issue 27): a fixed first day, so the recorded URL (its
# ``where`` on Date) is the one a replay asks for.
PAID_SINCE = date(2026, 11, 20)


def payments_since(ctx: Ctx) -> Any:
    return _gw(ctx).payments_page(1, since=PAID_SINCE, status="AUTHORISED")


def credit_notes_with_credit(ctx: Ctx) -> Any:
    return _gw(ctx).credits_page("credit_note", 1, status="AUTHORISED")


def overpayments_with_credit(ctx: Ctx) -> Any:
    return _gw(ctx).credits_page("overpayment", 1, status="AUTHORISED")


def prepayments_with_credit(ctx: Ctx) -> Any:
    return _gw(ctx).credits_page("prepayment", 1, status="AUTHORISED")


# -- each error shape ------------------------------------------------------------------
def long_id_list(ctx: Ctx) -> Any:
    """60 GUIDs: past 2,048 characters Xero answers a plain-text 404."""
    return _gw(ctx).invoices_page(1, contact_ids=ctx.contact_ids[:60])


def unknown_id(ctx: Ctx) -> Any:
    return _gw(ctx).get_quote(MISSING_ID)


def concurrent_429(ctx: Ctx) -> Any:
    """A 429 for the concurrent limit (no Retry-After), then the call goes through."""
    assert ctx.control is not None
    ctx.control("limits", {"concurrent": 0})

    def sleep(seconds: float) -> None:
        ctx.slept.append(seconds)
        ctx.control("limits", {"concurrent": 5})  # type: ignore[misc]

    return _gw(ctx, sleep=sleep).organisation()


def scope_missing(ctx: Ctx) -> Any:
    gateway = _gw(ctx, "contacts_only", scopes="offline_access accounting.contacts.read")
    try:
        return gateway.invoices_page(1, contact_ids=ctx.contact_ids[:1])
    finally:
        ctx.slept.append(float(gateway.provider.refreshes))


def payments_scope_missing(ctx: Ctx) -> Any:
    """A connection made before accounting.payments.read was asked for."""
    gateway = _gw(ctx, "contacts_only", scopes="offline_access accounting.contacts.read")
    try:
        return gateway.payments_page(1, since=PAID_SINCE, status="AUTHORISED")
    finally:
        ctx.slept.append(float(gateway.provider.refreshes))


def token_expired(ctx: Ctx) -> Any:
    gateway = _gw(ctx, "expired", "good")
    result = gateway.organisation()
    return result, gateway.provider.refreshes


def bad_token(ctx: Ctx) -> Any:
    gateway = _gw(ctx, "bogus", "good")
    result = gateway.organisation()
    return result, gateway.provider.refreshes


def query_parse(ctx: Ctx) -> Any:
    gateway = _gw(ctx)
    api = gateway.accounting_api()
    return gateway.call("GET Invoices", lambda: api.get_invoices(
        gateway.tenant_id, where='Status=="AUTHORISED', **gateway.raw), idempotent=True)


def validation(ctx: Ctx) -> Any:
    return _gw(ctx).create_contact({"Name": ctx.taken_name}, "cassette-contact-taken")


def online_invoice_of_a_draft(ctx: Ctx) -> Any:
    """Xero gives no online invoice for a draft: a 400 (its shape is undocumented)."""
    return _gw(ctx).online_invoice_url(ctx.documents["draft_invoice"])


def pdf_of_an_unknown_id(ctx: Ctx) -> Any:
    return _gw(ctx).document_pdf("invoice", MISSING_ID)


def email_invoice(ctx: Ctx) -> Any:
    """Xero emails an approved sales invoice: 204 and no body."""
    from xerolink.xero.sending import email_invoice as email

    return email(_gw(ctx), ctx.documents["authorised_invoice"], "cassette-email-1")


def email_of_a_draft(ctx: Ctx) -> Any:
    """Xero emails no draft: a 400 ValidationException."""
    from xerolink.xero.sending import email_invoice as email

    return email(_gw(ctx), ctx.documents["draft_invoice"], "cassette-email-draft")


def email_of_an_unknown_id(ctx: Ctx) -> Any:
    from xerolink.xero.sending import email_invoice as email

    return email(_gw(ctx), MISSING_ID, "cassette-email-missing")


def invoice_history(ctx: Ctx) -> Any:
    """When the history says an invoice was emailed (after email_invoice: it was)."""
    from xerolink.xero.sending import sent_when

    return sent_when(_gw(ctx), ctx.documents["authorised_invoice"])


SCENARIOS: dict[str, Callable[[Ctx], Any]] = {f.__name__: f for f in (
    connections, organisation, contacts_page, search_contacts, invoices_by_contact_ids,
    quotes_for_contact, create_invoice, create_quote, create_contact, long_id_list,
    unknown_id, concurrent_429, scope_missing, token_expired, bad_token, query_parse,
    validation, invoice_pdf, online_invoice, credit_note_by_number, credit_note_pdf,
    online_invoice_of_a_draft, pdf_of_an_unknown_id, email_invoice, email_of_a_draft,
    email_of_an_unknown_id, invoice_history, payments_since,
    credit_notes_with_credit, overpayments_with_credit, prepayments_with_credit,
    payments_scope_missing)}
# Errors that only the sandbox's control API can provoke on demand.
SANDBOX_ONLY = {"concurrent_429", "token_expired"}

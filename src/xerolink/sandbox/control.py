"""The sandbox's control API under ``/_sandbox/``: statistics, faults, limits, the
clock, its apps and a tenant's raw data, for tests and benchmarks to steer it."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xerolink.sandbox.accounting import Accounting
from xerolink.sandbox.salesmate import SalesmateSlice
from xerolink.sandbox.seed import Tenant
from xerolink.sandbox.state import (
    CUSTOM_CLIENT_ID,
    PKCE_CLIENT_ID,
    Faults,
    Identity,
    Limiter,
    Response,
    SandboxClock,
    SandboxOptions,
    Stats,
)
from xerolink.sandbox.webhooks import WebhookSender

BAD_REQUEST_BODIES = ("html", "empty", "xml")
_FORM_FLAGS = ("no_pagination", "no_currency_rate", "dates_without_offset", "compact_json",
               "xml_errors")


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise TypeError(f"{name} is true or false")
    return value


_EDITABLE = {"Status": str, "Reference": str, "EmailAddress": str, "SentToContact": bool,
             "Date": "date", "DueDate": "date", "ExpiryDate": "date",
             "FullyPaidOnDate": "date", "AmountDue": "money", "RemainingCredit": "money",
             "Total": "money", "ContactID": "id", "CurrencyCode": "currency",
             "CurrencyRate": "rate", "Type": "upper"}


def _edit_value(name: str, value: Any) -> Any:
    """A control-route field value in the books' own types."""
    from xerolink.sandbox.xerojson import parse_date

    kind = _EDITABLE[name]
    if kind == "date":
        return parse_date(value)
    if kind == "money":
        return Decimal(str(value))
    if kind == "rate":
        found = Decimal(str(value))
        if not found > 0:
            raise ValueError("CurrencyRate is above 0")
        return found
    if kind in ("id", "currency", "upper"):
        return str(value).lower() if kind == "id" else str(value).upper()
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} is true or false")
        return value
    return str(value).upper() if name == "Status" else str(value)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return status, json.dumps(data).encode("utf-8"), {
        "Content-Type": "application/json; charset=utf-8", **(headers or {})}


class Controls:
    """The control routes; the state they steer is the Sandbox's."""

    options: SandboxOptions
    clock: SandboxClock
    lock: threading.RLock
    tenants: dict[str, Tenant]
    identity: Identity
    stats: Stats
    limiter: Limiter
    faults: Faults
    accounting: Accounting
    rng: random.Random
    salesmate: SalesmateSlice | None
    webhooks: WebhookSender | None

    # -- control API ------------------------------------------------------------------
    def control(self, method: str, path: str, query: dict[str, list[str]], body: bytes
                ) -> Response:
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return json_response(400, {"error": "the body must be JSON"})
        if path.startswith("/_sandbox/salesmate"):
            slice_ = self.salesmate
            if slice_ is None:
                return json_response(404, {"error": "this sandbox serves no Salesmate slice "
                                                    "(start it with --crm salesmate)"})
            status, answer = slice_.control(method, path, data if isinstance(data, dict)
                                            else {}, datetime.fromtimestamp(self.clock.now(), UTC))
            return json_response(status, answer)
        if path == "/_sandbox/stats" and method == "GET":
            return json_response(200, self.stats.as_json())
        if path == "/_sandbox/stats/reset" and method == "POST":
            self.stats.reset()
            return json_response(200, self.stats.as_json())
        if path == "/_sandbox/faults" and method == "POST":
            return self._set_faults(data)
        if path == "/_sandbox/faults" and method == "GET":
            return json_response(200, vars(self.faults))
        if path == "/_sandbox/data" and method == "GET":
            return self._data((query.get("tenant") or [""])[0].lower(),
                              (query.get("only") or [""])[0])
        if path == "/_sandbox/apps" and method == "GET":
            return self._apps()
        if path == "/_sandbox/clock" and method == "POST":
            try:
                advance = float(data.get("advance_seconds", 0))
            except (TypeError, ValueError):
                return json_response(400, {"error": "advance_seconds must be a number"})
            self.clock.offset += advance
            return json_response(200, self._clock_json())
        if path == "/_sandbox/clock" and method == "GET":
            return json_response(200, self._clock_json())
        if path == "/_sandbox/limits" and method == "POST":
            return self._set_limits(data)
        if path.startswith("/_sandbox/webhooks"):
            return self._webhooks(method, path)
        if path == "/_sandbox/outbox" and method == "GET":
            return self._outbox((query.get("tenant") or [""])[0].lower())
        if path == "/_sandbox/edit" and method == "POST":
            return self._edit(data if isinstance(data, dict) else {})
        if path in ("/_sandbox/pay", "/_sandbox/credit") and method == "POST":
            return self._settle(path.rsplit("/", 1)[1], data if isinstance(data, dict)
                                else {})
        return json_response(404, {"error": f"no control route {method} {path}"})

    def _data(self, tenant: str, only: str = "") -> Response:
        """``GET /_sandbox/data?tenant=[&only=contacts,invoices]``: an organisation's raw
        records, as Xero's JSON; all of them, or just the parts named."""
        if tenant not in self.tenants:
            return json_response(404, {"error": "unknown tenant", "tenants": list(self.tenants)})
        parts = [part for part in only.split(",") if part] or None
        unknown = sorted(set(parts or ()) - set(self.accounting.RAW_PARTS))
        if unknown:
            return json_response(400, {"error": f"no part {', '.join(unknown)}",
                                       "parts": list(self.accounting.RAW_PARTS)})
        with self.lock:
            payload = self.accounting.raw(tenant, parts)
        from xerolink.sandbox.xerojson import dumps

        return 200, dumps(payload), {"Content-Type": "application/json; charset=utf-8"}

    def _apps(self) -> Response:
        """``GET /_sandbox/apps``: the registered apps and organisations."""
        custom = self.identity.apps[CUSTOM_CLIENT_ID]
        return json_response(200, {
            "pkce_client_id": PKCE_CLIENT_ID,
            "custom_connection": {"client_id": custom.client_id,
                                  "client_secret": custom.secret,
                                  "tenant_id": custom.custom_tenant_id},
            "tenants": [{"tenant_id": t.tenant_id, "name": t.name,
                         "short_code": t.short_code, "base_currency": t.base_currency,
                         "country_code": t.country_code, "timezone": t.timezone}
                        for t in self.tenants.values()],
        })

    def _webhooks(self, method: str, path: str) -> Response:
        sender = self.webhooks
        if sender is None:
            return json_response(404, {"error": "this sandbox sends no webhooks (start it "
                                                "with --webhook-url and --webhook-key)"})
        if path == "/_sandbox/webhooks" and method == "GET":
            return json_response(200, sender.as_json())
        if path == "/_sandbox/webhooks/intent" and method == "POST":
            sender.intent_to_receive()
            return json_response(200, sender.as_json()["intent"])
        return json_response(404, {"error": f"no control route {method} {path}"})

    def _settle(self, how: str, data: dict[str, Any]) -> Response:
        """Pay an authorised invoice or bill (``pay``) or credit it with a credit note
        allocated to it (``credit``): all that is due, or ``amount``. Its figures
        change as in Xero and, where webhooks are set up, an INVOICE UPDATE (a
        payment) or CREDITNOTE CREATE (a credit note) event follows."""
        tenant_id = str(data.get("tenant") or "").lower()
        invoice_id = str(data.get("invoice_id") or "").lower()
        with self.lock:
            tenant = self.tenants.get(tenant_id)
            invoice = tenant.invoices.get(invoice_id) if tenant else None
            if tenant is None or invoice is None:
                return json_response(404, {"error": "unknown tenant or invoice"})
            if invoice["Status"] != "AUTHORISED":
                return json_response(400, {"error": "only an AUTHORISED invoice is settled"})
            try:
                amount = Decimal(str(data.get("amount", invoice["AmountDue"])))
            except ArithmeticError:
                return json_response(400, {"error": "amount must be a number"})
            if not Decimal("0") < amount <= invoice["AmountDue"]:
                return json_response(400, {"error": "amount must be above 0 and at most "
                                                    "what is due"})
            answer: dict[str, Any] = {"invoice_id": invoice_id}
            if how == "credit":
                note = self.accounting.credit_invoice(tenant, invoice, amount)
                answer["credit_note_id"] = note["CreditNoteID"]
            else:
                self._pay(tenant, invoice, amount)
            return json_response(200, {**answer, "status": invoice["Status"],
                                       "amount_due": str(invoice["AmountDue"])})

    def _pay(self, tenant: Tenant, invoice: dict[str, Any], amount: Decimal) -> None:
        """A payment today into the bank account, as ``PUT /Payments`` makes one."""
        self.accounting.apply_payment(tenant, invoice, amount, self.accounting.today(tenant))

    def _outbox(self, tenant_id: str) -> Response:
        """Every email the sandbox has sent (``POST /Invoices/{id}/Email``), oldest
        first; ``?tenant=`` keeps one organisation's."""
        if tenant_id and tenant_id not in self.tenants:
            return json_response(404, {"error": "unknown tenant"})
        with self.lock:
            messages = [m for t in self.tenants.values() for m in t.outbox
                        if not tenant_id or t.tenant_id == tenant_id]
        return json_response(200, {"messages": sorted(messages, key=lambda m: m["sent_at"])})

    def _edit(self, data: dict[str, Any]) -> Response:
        """Set a document's or contact's fields directly, past Xero's rules (a test's
        way to make a state: an expired quote, a contact without an email, an invoice
        already sent, credit moved to another contact). Takes ``tenant``, one of
        ``invoice_id``, ``quote_id``, ``credit_note_id``, ``overpayment_id``,
        ``prepayment_id``, ``contact_id``, and ``fields``."""
        tenant = self.tenants.get(str(data.get("tenant") or "").lower())
        fields = data.get("fields")
        if tenant is None or not isinstance(fields, dict):
            return json_response(400, {"error": "edit takes tenant and fields"})
        books = {"invoice_id": tenant.invoices, "quote_id": tenant.quotes,
                 "credit_note_id": tenant.credit_notes, "contact_id": tenant.contacts,
                 "overpayment_id": tenant.overpayments, "prepayment_id": tenant.prepayments}
        key = next((k for k in books if data.get(k)), None)
        record = books[key].get(str(data[key]).lower()) if key else None
        if record is None:
            return json_response(404, {"error": "unknown record"})
        try:
            changes = {name: _edit_value(name, value) for name, value in fields.items()}
        except (KeyError, ValueError, ArithmeticError) as exc:
            return json_response(400, {"error": f"cannot set that field: {exc}"})
        with self.lock:
            record.update(changes)
            record["UpdatedDateUTC"] = self.accounting.now()
        return json_response(200, {"updated": sorted(changes)})

    def _set_faults(self, data: dict[str, Any]) -> Response:
        try:
            faults = Faults(
                latency_ms=int(data.get("latency_ms", 0)),
                error_rate=float(data.get("error_rate", 0)),
                drop_rate=float(data.get("drop_rate", 0)),
                commit_then_drop_rate=float(data.get("commit_then_drop_rate", 0)),
                retry_after=None if data.get("retry_after") is None
                else int(data["retry_after"]),
                garbage_rate=float(data.get("garbage_rate", 0)),
                methods=None if data.get("methods") is None
                else [str(m).upper() for m in data["methods"]],
                bad_request_rate=float(data.get("bad_request_rate", 0)),
                bad_request_body=str(data.get("bad_request_body", "html")),
                **{name: _flag(data, name) for name in _FORM_FLAGS},
            )
        except (TypeError, ValueError):
            return json_response(400, {"error": "faults take numbers"})
        if faults.bad_request_body not in BAD_REQUEST_BODIES:
            return json_response(400, {"error": "bad_request_body is one of "
                                                + ", ".join(BAD_REQUEST_BODIES)})
        for rate in (faults.error_rate, faults.drop_rate, faults.commit_then_drop_rate,
                     faults.garbage_rate, faults.bad_request_rate):
            if not 0 <= rate <= 1:
                return json_response(400, {"error": "rates are between 0 and 1"})
        if not 0 <= faults.latency_ms <= 60_000:
            return json_response(400, {"error": "latency_ms is between 0 and 60000"})
        self.faults = faults
        return json_response(200, vars(faults))

    def _clock_json(self) -> dict[str, Any]:
        """The sandbox's time, its speed, and what makes xerolink's clock follow it."""
        clock = self.clock
        return {"now": datetime.fromtimestamp(clock.now(), UTC).isoformat(),
                "speed": clock.speed, "offset_seconds": clock.offset,
                "xerolink_clock_speed": clock.described}

    def _set_limits(self, data: dict[str, Any]) -> Response:
        o = self.options
        try:
            o.minute_limit = int(data.get("minute", o.minute_limit))
            o.day_limit = int(data.get("day", o.day_limit))
            o.concurrent_limit = int(data.get("concurrent", o.concurrent_limit))
            if "without" in data:
                o.without = frozenset(str(w).lower() for w in data["without"])
            o.minute_window = float(data.get("minute_window", o.minute_window))
            o.rate_limits = bool(data.get("enabled", o.rate_limits))
            if data.get("reset"):
                self.limiter.reset()
        except (TypeError, ValueError):
            return json_response(400, {"error": "limits take whole numbers"})
        return json_response(200, {"minute": o.minute_limit, "minute_window": o.minute_window,
                           "day": o.day_limit, "concurrent": o.concurrent_limit,
                           "enabled": o.rate_limits, "without": sorted(o.without)})



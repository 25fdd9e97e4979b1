"""The sandbox sends webhooks like Xero (intent to receive, signed batched deliveries in
Xero's shape, growing retries), and the service re-reads only what they name."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from webhook_support import KEY, event, new_id, payload, signed

import xerolink
from support import api, connect_profile, control, running_sandbox, sandbox_token
from xerolink.services import documents
from xerolink.services.webhooks import process_events, wait_for_events
from xerolink.store.sqlite import SqliteStore
from xerolink.webhooks import start_receiver

EVENT_KEYS = {"resourceUrl", "resourceId", "eventDateUtc", "eventType", "eventCategory",
              "tenantId", "tenantType"}


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


class Recorder:
    """A stand-in receiver that keeps every request and answers from a script."""

    def __init__(self, answers: list[int]) -> None:
        from waitress.server import create_server

        self.answers, self.requests = list(answers), []
        self.server = create_server(self, host="127.0.0.1", port=0, threads=2)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}/"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.requests.append((time.monotonic(), environ.get("HTTP_X_XERO_SIGNATURE"), body))
        status = self.answers.pop(0) if self.answers else 200
        start_response(f"{status} X", [("Content-Length", "0")])
        return [b""]

    def stop(self) -> None:
        server = self.server
        server.trigger.pull_trigger(lambda: [d.close() for d in list(server._map.values())])
        self.thread.join(5)
        server.task_dispatcher.shutdown()


@pytest.fixture
def hooked(home, tmp_path, monkeypatch) -> Iterator[dict[str, Any]]:
    """A profile's store with a receiver over it, a sandbox sending to that receiver,
    and the profile connected to the sandbox's first organisation."""
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    folder = home / "profiles" / "default"
    folder.mkdir(parents=True)
    store, wake = SqliteStore(folder / "xerolink.db"), threading.Event()
    handle = start_receiver("127.0.0.1", 0, KEY, store, wake)
    with running_sandbox(webhook_url=handle.url, webhook_key=KEY, webhook_retry_base=0.05,
                         webhook_batch_seconds=0.3) as server:
        tenant = connect_profile(server, home)
        xl = xerolink.open(env=dict(os.environ))
        try:
            yield {"server": server, "handle": handle, "wake": wake, "tenant": tenant,
                   "deps": xl._wiring.deps(), "base": server.base_url}
        finally:
            xl.close()
            handle.stop()
            store.close()


def _open_invoice(server, tenant: str) -> dict[str, Any]:
    books = server.sandbox.tenants[tenant]
    return next(i for i in books.invoices.values()  # unpaid, so that Xero would void it
                if i["Status"] == "AUTHORISED" and i["Type"] == "ACCREC"
                and i["AmountPaid"] == 0)


def _deliveries(base: str) -> dict[str, Any]:
    return control(base, "GET", "webhooks")


def test_intent_to_receive_passes_against_xerolinks_receiver(hooked):
    assert wait_until(lambda: _deliveries(hooked["base"])["intent"]["status"] == "passed")
    answers = _deliveries(hooked["base"])["intent"]["answers"]
    assert [(a["signed"], a["status"]) for a in answers] == [(True, 200), (False, 401)]


def test_a_paid_invoice_is_delivered_signed_in_xeros_shape_and_reread(hooked):
    server, deps, tenant = hooked["server"], hooked["deps"], hooked["tenant"]
    invoice = _open_invoice(server, tenant)
    contact = invoice["ContactID"]
    documents.refresh_contacts(deps, [contact])
    assert invoice["InvoiceID"] in {d.document_id for d in
                                    deps.store.documents_for_contacts(tenant, [contact])}
    control(hooked["base"], "POST", "pay", {"tenant": tenant,
                                            "invoice_id": invoice["InvoiceID"]})
    assert wait_for_events(hooked["wake"], 10)
    assert wait_until(lambda: _deliveries(hooked["base"])["deliveries"][-1]["status"]
                      == "delivered")
    delivery = _deliveries(hooked["base"])["deliveries"][-1]
    [sent] = delivery["events"]
    assert set(sent) == EVENT_KEYS
    assert (sent["resourceId"], sent["eventCategory"], sent["eventType"], sent["tenantId"],
            sent["tenantType"]) == (invoice["InvoiceID"], "INVOICE", "UPDATE", tenant,
                                    "ORGANISATION")
    assert sent["resourceUrl"].endswith(f"/Invoices/{invoice['InvoiceID']}")
    before = server.sandbox.stats.as_json()["by_endpoint"].copy()
    stats = process_events(deps)
    after = server.sandbox.stats.as_json()["by_endpoint"]
    assert (stats.events, stats.invoices_read, stats.calls) == (1, 1, 1)
    assert after.get("GET /api.xro/2.0/Invoices", 0) - before.get(
        "GET /api.xro/2.0/Invoices", 0) == 1
    cached = {d.document_id for d in deps.store.documents_for_contacts(tenant, [contact])}
    assert invoice["InvoiceID"] not in cached  # paid: it left the open documents
    assert deps.store.pending_webhook_events() == []
    assert process_events(deps).calls == 0  # drained: nothing more to read


def test_the_payload_has_sequences_and_entropy_and_is_signed_over_its_raw_bytes():
    recorder = Recorder([200, 401])  # the intent to receive passes
    try:
        with running_sandbox(webhook_url=recorder.url, webhook_key=KEY,
                             webhook_batch_seconds=1.0) as server:
            tenant = next(iter(server.sandbox.tenants))
            for invoice in [i for i in server.sandbox.tenants[tenant].invoices.values()
                            if i["Status"] == "AUTHORISED"][:2]:
                control(server.base_url, "POST", "pay",
                        {"tenant": tenant, "invoice_id": invoice["InvoiceID"],
                         "amount": "1.00"})
            assert wait_until(lambda: len(recorder.requests) >= 3)
    finally:
        recorder.stop()
    _, sig, body = recorder.requests[2]  # after the intent's two
    expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest())
    assert sig.encode() == expected
    data = json.loads(body)
    assert set(data) == {"events", "firstEventSequence", "lastEventSequence", "entropy"}
    assert len(data["events"]) == 2  # two payments close together: one delivery
    assert data["lastEventSequence"] - data["firstEventSequence"] == 1
    assert data["entropy"] and isinstance(data["entropy"], str)


def test_a_delivery_answered_500_is_retried_with_growing_delays():
    recorder = Recorder([200, 401, 500, 500, 500, 200])  # intent, then 3 failures
    try:
        with running_sandbox(webhook_url=recorder.url, webhook_key=KEY,
                             webhook_retry_base=0.1, webhook_batch_seconds=0.05) as server:
            tenant = next(iter(server.sandbox.tenants))
            invoice = _open_invoice(server, tenant)
            control(server.base_url, "POST", "pay", {"tenant": tenant,
                                                     "invoice_id": invoice["InvoiceID"]})
            assert wait_until(lambda: _deliveries(server.base_url)["deliveries"] and
                              _deliveries(server.base_url)["deliveries"][-1]["status"]
                              == "delivered")
            delivery = _deliveries(server.base_url)["deliveries"][-1]
    finally:
        recorder.stop()
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    times = [t for t, _, _ in recorder.requests[2:]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4  # doubling from 0.1 s
    bodies = {body for _, _, body in recorder.requests[2:]}
    assert len(bodies) == 1  # the same delivery, byte for byte


def test_a_receiver_with_another_key_fails_the_intent_and_gets_no_events(tmp_path):
    store, wake = SqliteStore(tmp_path / "s.db"), threading.Event()
    handle = start_receiver("127.0.0.1", 0, "a-different-key", store, wake)
    try:
        with running_sandbox(webhook_url=handle.url, webhook_key=KEY,
                             webhook_batch_seconds=0.05) as server:
            tenant = next(iter(server.sandbox.tenants))
            invoice = _open_invoice(server, tenant)
            control(server.base_url, "POST", "pay", {"tenant": tenant,
                                                     "invoice_id": invoice["InvoiceID"]})
            assert wait_until(lambda: _deliveries(server.base_url)["deliveries"] and
                              _deliveries(server.base_url)["deliveries"][-1]["status"]
                              != "pending")
            listing = _deliveries(server.base_url)
        assert listing["intent"]["status"] == "failed"
        assert listing["deliveries"][-1]["status"].startswith("not sent")
        assert store.pending_webhook_events() == []
        assert handle.health.as_json()["rejected"] >= 2
    finally:
        handle.stop()
        store.close()


def test_contact_and_invoice_writes_through_the_api_fire_and_quotes_do_not(hooked):
    server, base, tenant = hooked["server"], hooked["base"], hooked["tenant"]
    token = sandbox_token(base, tenants=[tenant])
    status, _, created = api(base, token, tenant, "PUT", "/Contacts",
                             {"Contacts": [{"Name": "Webhook Test Ltd"}]})
    assert status == 200
    contact_id = created["Contacts"][0]["ContactID"]
    invoice = _open_invoice(server, tenant)
    status, _, _ = api(base, token, tenant, "POST", f"/Invoices/{invoice['InvoiceID']}",
                       {"Invoices": [{"InvoiceID": invoice["InvoiceID"],
                                      "Status": "VOIDED"}]})
    assert status == 200, _
    quote = next(iter(server.sandbox.tenants[tenant].quotes.values()))
    api(base, token, tenant, "POST", f"/Quotes/{quote['QuoteID']}",
        {"Quotes": [{"QuoteID": quote["QuoteID"], "Reference": "changed",
                     "Contact": {"ContactID": quote["ContactID"]},
                     "Date": "2026-11-01"}]})
    assert wait_until(lambda: sum(len(d["events"]) for d in _deliveries(base)["deliveries"]
                                  if d["status"] == "delivered") >= 2)
    time.sleep(0.5)  # a quote's event, were one sent, would have come by now
    sent = [(e["eventCategory"], e["eventType"], e["resourceId"])
            for d in _deliveries(base)["deliveries"] for e in d["events"]]
    assert sent == [("CONTACT", "CREATE", contact_id),
                    ("INVOICE", "UPDATE", invoice["InvoiceID"])]
    stats = process_events(hooked["deps"])
    assert (stats.events, stats.contacts_read, stats.invoices_read) == (2, 1, 1)
    copy = {c.contact_id: c for c in hooked["deps"].store.xero_contacts(tenant)}
    assert copy[contact_id].name == "Webhook Test Ltd"


def test_unknown_ids_another_tenants_and_replayed_events_are_handled(hooked):
    deps, handle, tenant = hooked["deps"], hooked["handle"], hooked["tenant"]
    server = hooked["server"]
    stranger = new_id()  # an organisation this store is not connected to
    unknown = new_id()
    body = payload(event(tenant, unknown), event(stranger, new_id()),
                   event(tenant, unknown, "CONTACT"), event(tenant, new_id(), "CREDITNOTE"))
    assert signed(handle, body) == 200
    assert signed(handle, body) == 200  # replayed
    stats = process_events(deps)
    assert (stats.events, stats.ignored, stats.invoices_read, stats.contacts_read,
            stats.credit_notes_read) == (3, 1, 0, 0, 0)
    assert stats.calls == 3  # invoices by IDs, contacts by IDs, the credit note by id
    assert deps.store.pending_webhook_events() == []
    assert deps.store.webhook_event_counts() == {"done": 3, "ignored": 1}
    assert signed(handle, body) == 200  # replayed after processing: nothing new
    assert process_events(deps).calls == 0
    assert server.sandbox.stats.status_429 == 0


def test_events_of_nearby_deliveries_are_reread_in_one_call(hooked):
    deps, handle, tenant = hooked["deps"], hooked["handle"], hooked["tenant"]
    server = hooked["server"]
    invoices = list(server.sandbox.tenants[tenant].invoices.values())[:30]
    for invoice in invoices:  # thirty deliveries of one event each
        assert signed(handle, payload(event(tenant, invoice["InvoiceID"]))) == 200
    stats = process_events(deps)
    assert (stats.events, stats.invoices_read, stats.calls) == (30, 30, 1)


def test_the_pay_control_route_checks_its_input(hooked):
    from support import request

    base, tenant, server = hooked["base"], hooked["tenant"], hooked["server"]
    invoice = _open_invoice(server, tenant)
    for body, status in [({"tenant": tenant, "invoice_id": new_id()}, 404),
                         ({"tenant": tenant, "invoice_id": invoice["InvoiceID"],
                           "amount": "-1"}, 400),
                         ({"tenant": tenant, "invoice_id": invoice["InvoiceID"],
                           "amount": "nope"}, 400)]:
        got, _, _ = request(base, "POST", "/_sandbox/pay", body=json.dumps(body).encode(),
                            headers={"Content-Type": "application/json"})
        assert got == status
    answer = control(base, "POST", "pay", {"tenant": tenant,
                                           "invoice_id": invoice["InvoiceID"]})
    assert (answer["status"], Decimal(answer["amount_due"])) == ("PAID", Decimal("0"))


def test_another_connected_organisations_backlog_waits_and_never_blocks_this_one(hooked):
    from dataclasses import replace

    deps, handle, tenant, server = (hooked["deps"], hooked["handle"], hooked["tenant"],
                                    hooked["server"])
    other = next(t for t in server.sandbox.tenants if t != tenant)
    deps.store.save_connection(replace(deps.connection, tenant_id=other, tenant_name="B"))
    deps.store.save_connection(deps.connection)  # this one active again
    assert signed(handle, payload(*[event(other, new_id()) for _ in range(10)])) == 200
    mine = [i["InvoiceID"] for i in server.sandbox.tenants[tenant].invoices.values()][:3]
    assert signed(handle, payload(*[event(tenant, i) for i in mine])) == 200
    stats = process_events(deps, limit=5)
    assert (stats.events, stats.ignored, stats.invoices_read) == (3, 0, 3)
    assert len(deps.store.pending_webhook_events(other)) == 10  # its own service's work


def test_a_credit_note_event_rereads_the_invoices_it_is_allocated_to(hooked):
    """The sandbox sends only the CREDITNOTE event (whether Xero also sends one for the
    invoice is undocumented): the credit note is read for its allocations."""
    server, deps, tenant, base = (hooked["server"], hooked["deps"], hooked["tenant"],
                                  hooked["base"])
    books = server.sandbox.tenants[tenant]
    partly, fully = [i for i in books.invoices.values()
                     if i["Status"] == "AUTHORISED" and i["AmountDue"] > 10][:2]
    documents.refresh_contacts(deps, [partly["ContactID"], fully["ContactID"]])
    due = partly["AmountDue"]
    notes = [control(base, "POST", "credit", {"tenant": tenant,
                                              "invoice_id": partly["InvoiceID"],
                                              "amount": "10.00"}),
             control(base, "POST", "credit", {"tenant": tenant,
                                              "invoice_id": fully["InvoiceID"]})]
    assert wait_until(lambda: sum(len(d["events"]) for d in _deliveries(base)["deliveries"]
                                  if d["status"] == "delivered") == 2)
    sent = [(e["eventCategory"], e["eventType"], e["resourceId"])
            for d in _deliveries(base)["deliveries"] for e in d["events"]]
    assert sent == [("CREDITNOTE", "CREATE", n["credit_note_id"]) for n in notes]
    stats = process_events(deps)
    assert (stats.events, stats.credit_notes_read, stats.invoices_read, stats.calls) == \
        (2, 2, 2, 3)  # two credit notes one by one, then both invoices in one call
    cached = {d.document_id: d for d in deps.store.documents_for_contacts(
        tenant, [partly["ContactID"], fully["ContactID"]])}
    assert cached[partly["InvoiceID"]].amount_due == due - Decimal("10.00")
    assert fully["InvoiceID"] not in cached  # fully credited: PAID, out of the cache


def test_events_answered_200_by_a_receiver_killed_at_once_are_processed_after(hooked):
    """SIGKILL the receiver's process right after its 200: the events are in the store,
    and the next process_events re-reads them."""
    import signal
    import subprocess
    import sys
    from types import SimpleNamespace

    deps, tenant, server = hooked["deps"], hooked["tenant"], hooked["server"]
    script = ("import sys, threading, time\n"
              "from pathlib import Path\n"
              "from xerolink.store.sqlite import SqliteStore\n"
              "from xerolink.webhooks import start_receiver\n"
              "h = start_receiver('127.0.0.1', 0, sys.argv[2], SqliteStore(Path(sys.argv[1])), "
              "threading.Event())\n"
              "print(h.port, flush=True)\n"
              "time.sleep(60)\n")
    db = deps.store.path
    proc = subprocess.Popen([sys.executable, "-c", script, str(db), KEY],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        other = _open_invoice(server, tenant)
        documents.refresh_contacts(deps, [other["ContactID"]])
        with server.sandbox.lock:  # voided in Xero without an event of the sandbox's own
            server.sandbox.tenants[tenant].invoices[other["InvoiceID"]]["Status"] = "VOIDED"
        remote = SimpleNamespace(host="127.0.0.1", port=port)
        assert signed(remote, payload(event(tenant, other["InvoiceID"]))) == 200
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    stats = process_events(deps)
    assert (stats.events, stats.invoices_read) == (1, 1)
    cached = {d.document_id for d in deps.store.documents_for_contacts(
        tenant, [other["ContactID"]])}
    assert other["InvoiceID"] not in cached  # voided in Xero: out of the cache


def test_the_scheduled_pass_catches_up_a_delivery_that_never_arrived(home, monkeypatch):
    """A receiver that answers 500 to everything: the sandbox gives up, and the next
    incremental refresh (If-Modified-Since) still sees the payment."""
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    recorder = Recorder([200, 401] + [500] * 20)
    try:
        with running_sandbox(webhook_url=recorder.url, webhook_key=KEY,
                             webhook_retry_base=0.01, webhook_batch_seconds=0.05) as server:
            tenant = connect_profile(server, home)
            with xerolink.open(env=dict(os.environ)) as xl:
                deps = xl._wiring.deps()
                invoice = _open_invoice(server, tenant)
                documents.refresh_contacts(deps, [invoice["ContactID"]])
                control(server.base_url, "POST", "pay",
                        {"tenant": tenant, "invoice_id": invoice["InvoiceID"]})
                assert wait_until(lambda: _deliveries(server.base_url)["deliveries"] and
                                  _deliveries(server.base_url)["deliveries"][-1]["status"]
                                  == "failed")
                assert deps.store.pending_webhook_events() == []
                documents.refresh_contacts(deps, [invoice["ContactID"]])
                cached = {d.document_id for d in deps.store.documents_for_contacts(
                    tenant, [invoice["ContactID"]])}
    finally:
        recorder.stop()
    assert invoice["InvoiceID"] not in cached

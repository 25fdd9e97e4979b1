"""`xerolink sandbox serve --webhook-url URL --webhook-key KEY` as a user runs it: the
intent to receive when it starts, then a signed delivery when an invoice is paid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from webhook_support import KEY

from support import control
from xerolink.store.sqlite import SqliteStore
from xerolink.webhooks import start_receiver


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xerolink", "sandbox", "serve", "--port", "0",
         "--contacts", "20", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"})


def test_serve_sends_the_intent_then_a_signed_delivery_for_a_payment(tmp_path):
    store, wake = SqliteStore(tmp_path / "r.db"), threading.Event()
    handle = start_receiver("127.0.0.1", 0, KEY, store, wake)
    proc = _serve("--webhook-url", handle.url, "--webhook-key", KEY, "--json")
    try:
        started = json.loads(proc.stdout.readline())
        base = started["base_url"]
        assert started["webhook_url"] == handle.url
        deadline = time.monotonic() + 10
        while control(base, "GET", "webhooks")["intent"]["status"] != "passed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        tenant = started["tenants"][0]["tenant_id"]
        raw = control(base, "GET", f"data?tenant={tenant}&only=invoices")
        invoice = next(i for i in raw["invoices"] if i["Status"] == "AUTHORISED")
        control(base, "POST", "pay", {"tenant": tenant, "invoice_id": invoice["InvoiceID"]})
        assert wake.wait(10)
        [stored] = store.pending_webhook_events()
        assert (stored.tenant_id, stored.category, stored.resource_id) == (
            tenant, "INVOICE", invoice["InvoiceID"])
        deadline = time.monotonic() + 10  # the sender notes it once it has the answer
        while control(base, "GET", "webhooks")["deliveries"][-1]["status"] != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        handle.stop()
        store.close()
    assert proc.returncode == 0, err
    assert KEY not in out + err


def test_serve_refuses_a_webhook_url_off_loopback_or_without_a_key():
    for args in (["--webhook-url", "http://example.com/hook", "--webhook-key", "k"],
                 ["--webhook-url", "http://127.0.0.1:9/"],
                 ["--webhook-url", "ftp://127.0.0.1/", "--webhook-key", "k"]):
        proc = _serve(*args)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 2, err
        assert "webhook" in err and "Traceback" not in err

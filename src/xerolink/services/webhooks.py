"""Acting on Xero's webhook events once they are stored: re-read, by IDs and in
batches, only the invoices, bills and contacts the events name, update the cache, and
mark the events done. Nothing in an event but its ids is trusted: the figures come
from Xero's own answer to the re-read.

Events for an organisation this store has no connection to are marked ``ignored``;
events of another connected organisation wait for that connection's service. An id
Xero no longer knows is simply absent from the re-read's answer. Credit notes are not
cached: each one named is read (one call: Xero's CreditNotes take no ``IDs``) for the
invoices and bills it is allocated to, which join the batched invoice re-read, since
whether Xero also sends an event for them is undocumented. The scheduled pass still
catches up whatever a missed delivery lost.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from xerolink.errors import NotFoundError
from xerolink.services import documents
from xerolink.services.context import Deps
from xerolink.store.models import CachedDocument
from xerolink.store.webhooks import WebhookEvent
from xerolink.vocabulary import OPEN_INVOICE_STATUSES
from xerolink.xero.gateway import EndpointUnavailable, ScopeMissing

SETTLE_SECONDS = 0.5  # events arriving this close together share one re-read
MAX_EVENTS = 5000  # one drain at most; a bigger backlog is drained over several
MAX_CREDIT_NOTES = 100  # read one by one; more in one drain are left to the schedule


@dataclass
class WebhookStats:
    events: int = 0
    ignored: int = 0
    invoices_read: int = 0
    credit_notes_read: int = 0
    contacts_read: int = 0
    calls: int = 0


def wait_for_events(wake: threading.Event, timeout: float,
                    settle: float = SETTLE_SECONDS) -> bool:
    """Wait up to ``timeout`` seconds for the receiver to store events, then a short
    settle so that the events of nearby deliveries are re-read together. True if
    events came. The caller's loop then calls ``process_events``."""
    if not wake.wait(timeout):
        return False
    time.sleep(settle)
    wake.clear()
    return True


def process_events(deps: Deps, *, limit: int = MAX_EVENTS) -> WebhookStats:
    """Drain the stored events of this connection's organisation (and ignore those of
    organisations not connected here)."""
    stats = WebhookStats(ignored=deps.store.ignore_unconnected_webhook_events(deps.now()))
    mine = deps.store.pending_webhook_events(deps.tenant, limit)
    if not mine:
        return stats
    calls_before = _calls(deps)
    credited, stats.credit_notes_read = _allocated_invoices(deps, _ids(mine, "CREDITNOTE"))
    invoice_ids = list(dict.fromkeys(_ids(mine, "INVOICE") + credited))
    contact_ids = _ids(mine, "CONTACT")
    stats.invoices_read = _reread_invoices(deps, invoice_ids)
    stats.contacts_read = _reread_contacts(deps, contact_ids)
    deps.store.finish_webhook_events(mine, "done", deps.now())
    stats.events = len(mine)
    stats.calls = _calls(deps) - calls_before
    return stats


def _ids(events: list[WebhookEvent], category: str) -> list[str]:
    return list(dict.fromkeys(e.resource_id for e in events if e.category == category))


def _calls(deps: Deps) -> int:
    if deps._gateway is None:
        return 0
    return int(deps.gateway.log.total)


def _reread_invoices(deps: Deps, ids: list[str]) -> int:
    """Invoices and bills by IDs: the open ones of contacts the cache keeps current
    are cached, the rest (paid, voided, deleted) leave the cache."""
    if not ids:
        return 0
    read: list[CachedDocument] = []
    for batch in documents.batches_of(deps, ids):
        read += documents.split_on_too_long(deps, "ids", batch)
    known = set(deps.store.contact_refresh_times(deps.tenant))
    opened = [d for d in read if d.status in OPEN_INVOICE_STATUSES
              and d.xero_contact_id in known]
    closed = [d.document_id for d in read if d.status not in OPEN_INVOICE_STATUSES]
    deps.store.apply_document_changes(deps.tenant, opened, closed)
    return len(read)


def _allocated_invoices(deps: Deps, ids: list[str]) -> tuple[list[str], int]:
    """The invoices and bills these credit notes are allocated to, and how many credit
    notes were read. An unknown id is skipped; a connection that cannot read credit
    notes (scope, endpoint) leaves them to the scheduled pass."""
    invoices: list[str] = []
    read = 0
    for credit_note_id in ids[:MAX_CREDIT_NOTES]:
        try:
            allocated = deps.gateway.allocated_invoices(credit_note_id)
        except NotFoundError:
            continue
        except (ScopeMissing, EndpointUnavailable):
            break
        read += 1
        invoices += allocated
    return invoices, read


def _reread_contacts(deps: Deps, ids: list[str]) -> int:
    """Contacts by IDs, into the local copy used for suggestions and auto-linking."""
    if not ids:
        return 0
    contacts = []
    for batch in documents.batches_of(deps, ids):
        contacts += deps.gateway.contacts(batch)
    deps.store.upsert_xero_contacts(deps.tenant, contacts)
    return len(contacts)

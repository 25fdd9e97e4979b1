"""Ids as people type them: a full Xero id, a unique prefix of at least six of its
characters (tables show the first eight, as git shows commits), or, for a document,
its number (``INV-0042``, ``QU-0007``). Ambiguous input is refused with the candidates;
it is never guessed."""

from __future__ import annotations

import re

from xerolink import validation
from xerolink.errors import NotFoundError, UsageError
from xerolink.formats import is_guid
from xerolink.services.context import Deps
from xerolink.store.models import CachedDocument

MIN_PREFIX = 6
_PREFIX = re.compile(r"^[0-9a-fA-F][0-9a-fA-F-]{5,34}$")
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,49}$")
_XERO_NUMBER = re.compile(r"^[A-Za-z]{1,10}-[0-9]{1,10}$")  # INV-0042, QU-0007: ask Xero


def is_xero_id(text: str) -> bool:
    """A Xero id (ContactID, InvoiceID, QuoteID): a GUID."""
    return is_guid(text)


def looks_like_prefix(text: str) -> bool:
    return bool(_PREFIX.match(text.strip()))


def looks_like_xero_number(text: str) -> bool:
    """A number as Xero makes them (``INV-0042``, ``CN-0007``): worth asking Xero."""
    return bool(_XERO_NUMBER.match(text.strip()))


def check_contact_text(text: str) -> str:
    """Refuse, before anything else, what cannot be a ContactID or a prefix of one."""
    typed = text.strip()
    if not (is_xero_id(typed) or looks_like_prefix(typed)):
        raise UsageError(f"{validation.shown(typed)} is not a Xero ContactID: give the id, "
                         f"or at least its first {MIN_PREFIX} characters")
    return typed


def contact_id(deps: Deps, text: str) -> str:
    """A Xero ContactID from a full id or a unique prefix of the known contacts'."""
    typed = check_contact_text(text)
    if is_xero_id(typed):
        return typed.lower()
    found = deps.store.xero_contact_ids_with_prefix(deps.tenant, typed.lower())
    if not found:
        raise NotFoundError(f"no known Xero contact id starts with {typed}; find it with "
                            "`xerolink suggest` or `xerolink search`")
    if len(found) > 1:
        raise UsageError(f"{typed} matches several Xero contacts: " + "; ".join(
            f"{cid[:12]} {name}" for cid, name in found) + "; give more of the id")
    return found[0][0]


def document_id(deps: Deps, text: str) -> str:
    """A document's Xero id from a full id, a unique prefix of a cached document's id,
    or its number (looked up in Xero when not cached: at most two calls)."""
    typed = text.strip()
    if is_xero_id(typed):
        return typed.lower()
    candidates: list[CachedDocument] = []
    if looks_like_prefix(typed):
        candidates = deps.store.documents_with_id_prefix(deps.tenant, typed.lower())
    if not candidates and _NUMBER.match(typed):
        candidates = deps.store.documents_by_number(deps.tenant, typed)
        if not candidates and _XERO_NUMBER.match(typed):
            candidates = _by_number(deps, typed)
    if not candidates:
        if not (looks_like_prefix(typed) or _NUMBER.match(typed)):
            raise UsageError(f"{validation.shown(typed)} is not a document id or number")
        raise NotFoundError(f"no quote, invoice or bill has the id or number {typed}")
    if len(candidates) > 1:
        raise UsageError(f"{typed} matches several documents: " + "; ".join(
            f"{d.document_id[:12]} {d.kind} {d.number}".rstrip() for d in candidates[:10])
            + "; give more of the id")
    return candidates[0].document_id


def _by_number(deps: Deps, number: str) -> list[CachedDocument]:
    """A document number Xero knows but the cache does not: invoices and bills by
    InvoiceNumbers, then quotes by QuoteNumber. Found documents are cached."""
    now, base = deps.now(), deps.connection.base_currency
    found = deps.gateway.numbered(number, now, base)
    if found:
        deps.store.apply_document_changes(deps.tenant, found, [])
    return found

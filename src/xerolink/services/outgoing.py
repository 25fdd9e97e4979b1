"""Documents out of the door: a document's PDF, written where the user says and never
over a file without ``force``, and a sales invoice's online link for the customer.

A document is named as ``view`` names it (an id, a unique prefix of a cached one's,
or its number); credit notes, which the cache does not hold, by id or number, asked of
Xero when nothing else has that id or number. A cached document costs one call.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from xerolink import validation
from xerolink.errors import NotFoundError, UsageError, XeroRefusedError
from xerolink.fileutil import publish
from xerolink.results import Result
from xerolink.services import documents, ids
from xerolink.services.context import Deps
from xerolink.vocabulary import DocumentKind, Status
from xerolink.xero.outgoing import CREDIT_NOTE

LABELS: dict[str, str] = {**{kind: str(kind) for kind in DocumentKind}, CREDIT_NOTE: "credit note"}
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Target:
    """The document a command names: its kind and number, and its status as last read
    (``read_at``) from Xero."""

    document_id: str
    kind: str  # quote, invoice, bill or credit_note
    number: str
    status: str
    read_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.number or self.document_id

    @property
    def title(self) -> str:
        return f"{LABELS[self.kind]} {self.name}"


@dataclass(frozen=True)
class PdfSaved(Result):
    """A PDF written to a file: where, of which document, how many bytes."""

    path: str
    document: str
    bytes: int


@dataclass(frozen=True)
class Pdf:
    """A PDF in memory (``-o -``): which document, and its bytes."""

    document: str
    data: bytes


@dataclass(frozen=True)
class OnlineInvoice(Result):
    """The customer's online invoice link of a sales invoice."""

    url: str
    document: str


# -- naming the document ---------------------------------------------------------------
def resolve(deps: Deps, typed_text: str) -> Target:
    """The document ``typed_text`` names: the cache first, then Xero's invoices and
    quotes (as ``view``), then its credit notes."""
    typed = typed_text.strip()
    if ":" in typed:
        raise UsageError(f"{validation.shown(typed)} is a CRM reference; give a document's "
                         "number or id (as `xerolink details` lists them)")
    try:
        document_id = ids.document_id(deps, typed)
        doc = documents.find(deps, [document_id])[document_id]
    except NotFoundError:
        found = _credit_note(deps, typed)
        if found is None:
            raise NotFoundError(f"no quote, invoice, bill or credit note has the id or "
                                f"number {typed}") from None
        return found
    return Target(doc.document_id, doc.kind, doc.number, doc.status, doc.fetched_at)


def _credit_note(deps: Deps, typed: str) -> Target | None:
    if ids.is_xero_id(typed):
        try:
            note = deps.gateway.credit_note(typed.lower())
        except NotFoundError:
            return None
    elif ids.looks_like_xero_number(typed):
        found = deps.gateway.credit_note_by_number(typed)
        if found is None:
            return None
        note = found
    else:
        return None
    return Target(note.credit_note_id, CREDIT_NOTE, note.number, note.status, deps.now())


# -- PDFs ------------------------------------------------------------------------------
def pdf(deps: Deps, typed: str) -> Pdf:
    """The document's PDF in memory."""
    target = resolve(deps, typed)
    return Pdf(target.name, _fetch(deps, target))


def save_pdf(deps: Deps, typed: str, output: Path | None, *, force: bool, cwd: Path
             ) -> PdfSaved:
    """Write the document's PDF to ``output`` (a file, or a folder for its default
    name; default: ``NUMBER.pdf`` in ``cwd``). An existing file is refused before any
    call unless ``force``; the file appears whole or not at all."""
    named = _explicit_file(output, cwd)
    if named is not None:
        _check_writable(named, force)
    target = resolve(deps, typed)
    path = named or _folder(output, cwd) / file_name(target)
    if named is None:
        _check_writable(path, force)
    data = _fetch(deps, target)
    try:
        publish(path, data, replace=force)
    except FileExistsError:
        raise UsageError(f"{path} appeared while the PDF was fetched; nothing was written "
                         "(--force replaces it)") from None
    except OSError as exc:
        raise UsageError(f"could not write {path}: {exc.strerror or exc}; nothing was "
                         "written") from None
    return PdfSaved(str(path), target.name, len(data))


def file_name(target: Target) -> str:
    """``INV-0042.pdf``: the number with anything but letters, digits, ``.``, ``_`` and
    ``-`` made ``_`` (a number is Xero's data, never a path); no number, the kind and
    the id's first 8 characters."""
    safe = _UNSAFE_IN_NAME.sub("_", target.number).strip("._")[:100]
    return f"{safe or f'{target.kind}-{target.document_id[:8]}'}.pdf"


def _fetch(deps: Deps, target: Target) -> bytes:
    try:
        return deps.gateway.document_pdf(target.kind, target.document_id)
    except NotFoundError:
        raise NotFoundError(f"Xero has no {target.title} any more (it answered 404 for its "
                            "PDF): it may have been deleted since it was read; `xerolink "
                            "refresh` updates the cache") from None


def _explicit_file(output: Path | None, cwd: Path) -> Path | None:
    """The file ``output`` names, or None when it is absent or an existing folder."""
    if output is None:
        return None
    path = output if output.is_absolute() else cwd / output
    return None if path.is_dir() else path


def _folder(output: Path | None, cwd: Path) -> Path:
    if output is None:
        return cwd
    return output if output.is_absolute() else cwd / output


def _check_writable(path: Path, force: bool) -> None:
    if os.path.lexists(path):
        if path.is_dir():
            raise UsageError(f"{path} is a folder")
        if not force:
            raise UsageError(f"{path} exists; nothing was written (--force replaces it)")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"there is no folder {folder}; nothing was written")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write in {folder} (permission denied); nothing was written")


# -- online invoices -------------------------------------------------------------------
def online_invoice(deps: Deps, typed: str) -> OnlineInvoice:
    """The online invoice link (one call for a cached invoice). A quote, a bill or a
    draft (as last read) is refused before any call: Xero has no link for them."""
    target = resolve(deps, typed)
    _check_online(deps, target)
    return OnlineInvoice(deps.gateway.online_invoice_url(target.document_id), target.name)


def _check_online(deps: Deps, target: Target) -> None:
    if target.kind != DocumentKind.INVOICE:
        offer = "; `xerolink pdf` gives its PDF" if target.kind != DocumentKind.BILL else ""
        raise XeroRefusedError(f"{target.name} is a {LABELS[target.kind]}: Xero has online "
                               f"invoice links only for sales invoices{offer}")
    if target.status == Status.DRAFT:
        when = f" (read {target.read_at:%Y-%m-%d %H:%M} UTC)" if target.read_at else ""
        raise XeroRefusedError(
            f"{target.name} is a draft{when}: Xero has no online invoice link for a draft "
            f"invoice, only once it is approved: `xerolink approve {target.name}` approves "
            "it (if it was approved since, `xerolink refresh` on its contact updates the "
            "cache)")

"""Documents as PDFs, the way Xero answers ``Accept: application/pdf``: one page per
document with its number, contact, lines and totals, rendered by fpdf2 (a maintained,
pure-Python PDF library) so that any PDF reader can open it and extract its text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a PDF is first asked for, not at every start
    from fpdf import FPDF

PDF_HEADERS = {"Content-Type": "application/pdf"}


@dataclass(frozen=True)
class PdfLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PdfDocument:
    """What the page shows; built by the resource from its own record."""

    title: str  # "TAX INVOICE", "BILL", "QUOTE", "CREDIT NOTE"
    number: str
    organisation: str
    contact: str
    issued: date
    currency: str
    lines: tuple[PdfLine, ...]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    updated: datetime  # the file's creation date: the same document gives the same bytes
    dates: tuple[tuple[str, date], ...] = ()  # e.g. ("Due Date", ...)
    balance: tuple[str, Decimal] | None = None  # e.g. ("Amount Due", ...)
    reference: str = ""


def _text(value: object) -> str:
    """The core fonts hold Latin-1; anything else is shown as '?', never dropped."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def render(doc: PdfDocument) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(doc.updated.astimezone(UTC))
    pdf.set_title(_text(f"{doc.title} {doc.number}"))
    pdf.set_author(_text(doc.organisation))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _text(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    rows = [("From", doc.organisation), ("To", doc.contact), ("Number", doc.number),
            ("Date", doc.issued.isoformat()),
            *((label, when.isoformat()) for label, when in doc.dates)]
    if doc.reference:
        rows.append(("Reference", doc.reference))
    for label, value in rows:
        pdf.cell(30, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _lines(pdf, doc)
    pdf.ln(2)
    totals = [("Subtotal", doc.sub_total), ("Total tax", doc.total_tax),
              (f"Total {doc.currency}", doc.total)]
    if doc.balance is not None:
        totals.append((f"{doc.balance[0]} {doc.currency}", doc.balance[1]))
    for label, amount in totals:
        pdf.cell(140, 6, _text(label), align="R")
        pdf.cell(0, 6, f"{amount:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _lines(pdf: FPDF, doc: PdfDocument) -> None:
    pdf.set_font("Helvetica", "B", 10)
    for heading, width, align in (("Description", 95, "L"), ("Quantity", 20, "R"),
                                  ("Unit price", 25, "R"), ("Amount", 0, "R")):
        pdf.cell(width, 7, heading, border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in doc.lines:
        pdf.cell(95, 6, _text(line.description)[:60])
        pdf.cell(20, 6, f"{line.quantity.normalize():f}", align="R")
        pdf.cell(25, 6, f"{line.unit_amount:,.2f}", align="R")
        pdf.cell(0, 6, f"{line.amount:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")

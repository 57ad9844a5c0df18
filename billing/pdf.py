"""Invoice PDF rendering with ReportLab (pure Python: nothing to install on the system)."""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice


def _money(value: object, currency: str) -> str:
    return f"{value} {currency}"


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """One A4 document: who, what period, the lines, subtotal, tax and total — exactly as stored."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    # Uncompressed page streams keep the text searchable by simple tools (and by our tests).
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=str(invoice), leftMargin=20 * mm, rightMargin=20 * mm, pageCompression=0
    )
    client = invoice.client
    issued = timezone.localtime(invoice.issued_at, invoice.workspace.tzinfo).date() if invoice.issued_at else None
    story = [
        Paragraph(invoice.workspace.name, styles["Title"]),
        Paragraph(f"Invoice {invoice.number}" if invoice.number else "Draft invoice", styles["Heading2"]),
        Paragraph(f"Issued {issued:%Y-%m-%d}" if issued else "Not issued", styles["Normal"]),
        Paragraph(f"Period {invoice.period_start:%Y-%m-%d} – {invoice.period_end:%Y-%m-%d}", styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph(f"<b>{client.name}</b>", styles["Normal"]),
        *[Paragraph(line, styles["Normal"]) for line in client.address.splitlines() if line.strip()],
        *([Paragraph(f"VAT ID {client.vat_id}", styles["Normal"])] if client.vat_id else []),
        Spacer(1, 8 * mm),
    ]
    rows: list[list[str]] = [["Description", "Quantity", "Unit price", "Amount"]]
    rows += [
        [
            line.description,
            str(line.quantity),
            _money(line.unit_price, invoice.currency),
            _money(line.amount, invoice.currency),
        ]
        for line in invoice.lines.all()
    ]
    rows += [
        ["", "", "Subtotal", _money(invoice.subtotal, invoice.currency)],
        ["", "", f"Tax {invoice.tax_rate}%", _money(invoice.tax, invoice.currency)],
        ["", "", "Total", _money(invoice.total, invoice.currency)],
    ]
    table = Table(rows, colWidths=[85 * mm, 22 * mm, 30 * mm, 33 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEABOVE", (2, -3), (-1, -3), 0.5, colors.grey),
                ("FONTNAME", (2, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story.append(table)
    if invoice.notes:
        story += [Spacer(1, 6 * mm), Paragraph(invoice.notes, styles["Normal"])]
    doc.build(story)
    return buffer.getvalue()

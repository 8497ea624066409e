"""The report as a PDF, from pip-installed libraries alone (reportlab and pypdf).

It prints the blocks of :func:`studies.analysis.report_content.build_document`, the same as
the HTML. Text and tables are set by reportlab in DejaVu Sans (the TrueType fonts matplotlib
ships), embedded as subsets; each figure is matplotlib's own vector PDF of it
(:func:`studies.analysis.figures.pdf_bytes`), laid onto the space reportlab reserved for it
with pypdf, so figures stay vectors and their fonts are embedded too. A4 or US Letter.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from studies.analysis.report_content import (
    Facts,
    FigureBlock,
    Heading,
    TableBlock,
    Text,
    build_document,
)
from studies.analysis.results import StudyResults
from studies.errors import OptionError

PAGE_SIZES = {"a4": A4, "letter": LETTER}
FONT = "DejaVuSans"
MARGIN = 16 * mm
GREY = colors.Color(0.45, 0.45, 0.45)
CELL_SIZE = 6.8


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (
        (FONT, "DejaVuSans.ttf"),
        (f"{FONT}-Bold", "DejaVuSans-Bold.ttf"),
        (f"{FONT}-Oblique", "DejaVuSans-Oblique.ttf"),
        (f"{FONT}-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, os.fspath(folder / file)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=f"{FONT}-Bold", italic=f"{FONT}-Oblique",
        boldItalic=f"{FONT}-BoldOblique",
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, bulletFontName=FONT, fontSize=9, leading=12,
                          spaceAfter=5)
    return {
        "body": base,
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10, textColor=GREY),
        "reference": ParagraphStyle("ref", parent=base, fontSize=7.5, leading=9.5, spaceAfter=2,
                                    leftIndent=12, firstLineIndent=-12),
        "h1": ParagraphStyle("h1", parent=base, fontName=f"{FONT}-Bold", fontSize=15, leading=19,
                             spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontName=f"{FONT}-Bold", fontSize=11.5, leading=15,
                             spaceBefore=8, spaceAfter=4),
        "title": ParagraphStyle("tt", parent=base, fontName=f"{FONT}-Bold", fontSize=8.5,
                                leading=11, spaceBefore=6, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base, fontSize=CELL_SIZE, leading=8.2, spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontName=f"{FONT}-Bold", fontSize=CELL_SIZE,
                               leading=8.2, spaceAfter=0),
        "sim": ParagraphStyle("sim", parent=base, fontName=f"{FONT}-Oblique", fontSize=CELL_SIZE,
                              leading=8.2, spaceAfter=0, textColor=GREY),
        "caption": ParagraphStyle("cap", parent=base, fontSize=7.5, leading=9.5, textColor=GREY,
                                  spaceAfter=8),
    }


@dataclass
class _Slot:
    name: str
    scale: float
    width: float
    height: float
    page: int = -1
    x: float = 0.0
    y: float = 0.0


class FigureSlot(Flowable):
    """Reserves a figure's space; records the page and position where it lands."""

    def __init__(self, slot: _Slot) -> None:
        super().__init__()
        self.slot = slot
        self.width, self.height = slot.width, slot.height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def drawOn(self, canvas, x, y, _sW=0):  # noqa: N802 (reportlab's name)
        self.slot.page = canvas.getPageNumber() - 1
        self.slot.x, self.slot.y = x, y
        super().drawOn(canvas, x, y, _sW)

    def draw(self) -> None:  # the figure is laid here afterwards
        pass


def _col_widths(columns: list[str], rows: list[list[str]], width: float) -> list[float]:
    """Column widths: each at least its longest word (header included), the rest of
    ``width`` shared in proportion to how much wider each column's longest cell is."""
    pad = 5.5

    def w(text: str, bold: bool = False) -> float:
        return pdfmetrics.stringWidth(text, f"{FONT}-Bold" if bold else FONT, CELL_SIZE) + pad

    least, want = [], []
    for c, head in enumerate(columns):
        cells = [_unbroken(str(r[c])) for r in rows]
        words = [x for cell in cells for x in cell.split(" ")] or [""]
        least.append(max(max(w(x) for x in words), max(w(x, True) for x in head.split() or [""])))
        want.append(max([w(cell) for cell in cells] + [least[-1]]))
    if sum(want) <= width:
        return want
    spare = max(width - sum(least), 0.0)
    extra = [b - a for a, b in zip(least, want, strict=True)]
    total = sum(extra) or 1.0
    return [a + spare * e / total for a, e in zip(least, extra, strict=True)]


def _unbroken(text: str) -> str:
    """``text`` with no-break spaces where a line must not break: "< 0.001", "r1 (simulated)"."""
    return text.replace("< ", "<\u00a0").replace(" (simulated)", "\u00a0(simulated)")


def _cell(text: str) -> str:
    """A cell's markup: indents kept, "< 0.001" and "(simulated)" never split from their word."""
    return escape(_unbroken(text)).replace("  ", "&nbsp;&nbsp;")


def _table(block: TableBlock, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    t = block.table
    data = [[Paragraph(escape(c), st["head"]) for c in t.columns]]
    for i, row in enumerate(t.rows):
        style = st["sim"] if i in t.simulated_rows else st["cell"]
        data.append([Paragraph(_cell(c), style) for c in row])
    table = Table(data, colWidths=_col_widths(t.columns, t.rows, width), repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LINEABOVE", (0, 0), (-1, 0), 1.0, colors.black),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 1.0, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
    ]))
    out: list[Flowable] = [Paragraph(escape(t.title), st["title"]), table]
    out += [Paragraph(escape(n), st["note"]) for n in t.notes]
    return [KeepTogether(out[:2]), *out[2:], Spacer(1, 4)]


@dataclass
class _Layout:
    flowables: list[Flowable] = field(default_factory=list)
    slots: list[_Slot] = field(default_factory=list)


def _layout(results: StudyResults, figs: dict[str, Figure], width: float, height: float) -> _Layout:
    st = _styles()
    out = _Layout()
    for b in build_document(results, list(figs)):
        if isinstance(b, Heading):
            out.flowables.append(Paragraph(escape(b.text), st[f"h{min(b.level, 2)}"]))
        elif isinstance(b, Facts):
            rows = [[Paragraph(f"<b>{escape(k)}</b>", st["cell"]), Paragraph(escape(v), st["cell"])]
                    for k, v in b.rows]
            facts = Table(rows, colWidths=[0.3 * width, 0.7 * width], hAlign="LEFT")
            facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                       ("FONTNAME", (0, 0), (-1, -1), FONT),
                                       ("TOPPADDING", (0, 0), (-1, -1), 1),
                                       ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
            out.flowables += [facts, Spacer(1, 6)]
        elif isinstance(b, Text):
            out.flowables.append(Paragraph(escape(b.text), st[b.style]))
        elif isinstance(b, TableBlock):
            out.flowables += _table(b, st, width)
        elif isinstance(b, FigureBlock):
            fw, fh = (v * 72 for v in figs[b.name].get_size_inches())
            scale = min(width / fw, 0.62 * height / fh, 1.0)
            slot = _Slot(b.name, scale, fw * scale, fh * scale)
            out.slots.append(slot)
            out.flowables.append(KeepTogether([FigureSlot(slot), Spacer(1, 3),
                                               Paragraph(escape(b.caption), st["caption"])]))
    return out


def render_pdf(results: StudyResults, figs: dict[str, Figure], paper: str = "a4") -> bytes:
    """The report as PDF bytes; ``figs``: figure name -> matplotlib figure; ``paper``:
    "a4" or "letter"."""
    from pypdf import PdfReader, PdfWriter, Transformation

    from studies.analysis.figures import pdf_bytes

    if paper not in PAGE_SIZES:
        raise OptionError("paper", f"one of {', '.join(PAGE_SIZES)}", paper)
    _register_fonts()
    size = PAGE_SIZES[paper]
    width, height = size[0] - 2 * MARGIN, size[1] - 2 * MARGIN
    layout = _layout(results, figs, width, height)
    s = results.summary
    footer = str(s.get("title") or "Reader study results") + (
        f" - study {s['study_id']}" if s.get("study_id") else ""
    )

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, MARGIN / 2, footer)
        canvas.drawRightString(size[0] - MARGIN, MARGIN / 2, f"page {doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=str(s.get("title") or "Reader study results"),
        subject=f"study {s.get('study_id', '')}", creator="knee-reader-study", invariant=1,
        initialFontName=FONT,
    )
    doc.build(layout.flowables, onFirstPage=on_page, onLaterPages=on_page)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    for slot in layout.slots:
        if slot.page < 0:
            raise RuntimeError(f"the figure {slot.name} was not placed on any page")
        fig_page = PdfReader(io.BytesIO(pdf_bytes(figs[slot.name]))).pages[0]
        move = Transformation().scale(slot.scale).translate(slot.x, slot.y)
        writer.pages[slot.page].merge_transformed_page(fig_page, move)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

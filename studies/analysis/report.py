"""The report as one self-contained HTML page (figures embedded as base64 PNG).

It renders the blocks of :func:`studies.analysis.report_content.build_document`, the same
blocks :mod:`studies.analysis.report_pdf` prints, so the HTML and the PDF say the same.
"""

from __future__ import annotations

import base64
import html

from studies.analysis.report_content import (
    Facts,
    FigureBlock,
    Heading,
    TableBlock,
    Text,
    build_document,
)
from studies.analysis.results import StudyResults

STYLE = """body{font-family:'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}
table{border-collapse:collapse;font-size:12px;margin:0.3em 0 0.3em}td,th{padding:2px 8px;text-align:left;vertical-align:top}
table.paper{border-top:2px solid #222;border-bottom:2px solid #222}table.paper th{border-bottom:1px solid #222}
table.facts th{font-weight:bold;padding-right:1em}tr.simulated td{color:#888;font-style:italic}
caption{caption-side:top;text-align:left;font-weight:bold;font-size:13px;padding:0.2em 0}
h1{font-size:22px}h2{font-size:17px;margin-top:1.5em}img{max-width:100%}figure{margin:1.2em 0}
figcaption,.note,.tnote{color:#555;font-size:12px}.tnote{margin:0 0 1.5em}.reference{font-size:12px;margin:0.2em 0}"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(block: TableBlock) -> str:
    t = block.table
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    sim = " class='simulated'"
    body = "".join(
        f"<tr{sim if i in t.simulated_rows else ''}>"
        + "".join(f"<td>{_e(c)}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(t.rows)
    )
    notes = "".join(f"<p class='tnote'>{_e(n)}</p>" for n in t.notes)
    return (
        f"<table class='paper' id='{_e(t.key)}'><caption>{_e(t.title)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"
    )


def render_html(results: StudyResults, pngs: dict[str, bytes]) -> str:
    """The report as one HTML string (no external files); ``pngs``: figure name -> PNG."""
    doc = build_document(results, list(pngs))
    title = next((b.text for b in doc if isinstance(b, Heading)), "Reader study results")
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
    ]
    for b in doc:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{_e(b.text)}</h{b.level}>")
        elif isinstance(b, Facts):
            parts.append(
                "<table class='facts'>"
                + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in b.rows)
                + "</table>"
            )
        elif isinstance(b, Text):
            parts.append(f"<p class='{b.style}'>{_e(b.text)}</p>")
        elif isinstance(b, TableBlock):
            parts.append(_table(b))
        elif isinstance(b, FigureBlock):
            b64 = base64.b64encode(pngs[b.name]).decode("ascii")
            parts.append(
                f"<figure><img alt='{_e(b.name)}' src='data:image/png;base64,{b64}'>"
                f"<figcaption>{_e(b.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)

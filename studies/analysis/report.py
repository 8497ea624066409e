"""One self-contained HTML report (figures embedded as base64 PNG, tables inline), and a PDF
of it when a converter is installed (wkhtmltopdf, weasyprint, chromium/google-chrome
headless, or LibreOffice); otherwise the PDF is skipped and the caller is told why.
"""

from __future__ import annotations

import base64
import html
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from studies.analysis.results import StudyResults
from studies.atomic import write_bytes_atomic

TABLE_TITLES = {
    "readers": "Readers: proportion correct (= pairwise AUC), 95% intervals, d', reading time",
    "ai": "The AI: on the same pairs (ties count 1/2) and full AUC over all progressor x non-progressor pairs",
    "reader_vs_ai": "Each reader vs the AI: exact McNemar, Newcombe and bootstrap 95% intervals of the difference",
    "mrmc_vs_ai": "Readers (random) vs the standalone AI: Obuchowski-Rockette, pairs as cases",
    "aided_vs_unaided": "Aided vs unaided reading: Obuchowski-Rockette, pairs as cases",
    "sequential_vs_first": "Sequential reading: final (with AI) vs locked first answers",
    "switching": "Sequential reading: switching to the AI's choice",
    "agreement": "Agreement between readers",
    "strata": "Accuracy per stratum (Wilson 95% interval)",
}
STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee}h1{font-size:22px}h2{font-size:16px;margin-top:1.5em}img{max-width:100%}
.note{color:#555;font-size:12px}"""


def _fmt(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)


def render_html(results: StudyResults, pngs: dict[str, bytes]) -> str:
    """The report as one HTML string (no external files)."""
    s = results.summary
    title = html.escape(str(s.get("title", "Reader study results")))
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
    ]
    facts = [
        ("Study", s.get("study_id")),
        ("Question", s.get("question")),
        ("Scored pairs", s.get("n_pairs")),
        ("Readers", ", ".join(map(str, s.get("readers", [])))),
        ("Conditions", ", ".join(s.get("conditions", []))),
        ("Key SHA-256 (verified against the manifest)", s.get("key_sha256_verified")),
        ("Decisions files (audit chains verified)", ", ".join(s.get("decision_files", []))),
    ]
    parts.append(
        "<table>"
        + "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
            f"{html.escape(str(v))}</td></tr>"
            for k, v in facts
            if v is not None
        )
        + "</table>"
    )
    for note in s.get("notes", []):
        parts.append(f"<p class='note'>Note: {html.escape(note)}</p>")
    for name, png in pngs.items():
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<h2>{html.escape(name.removesuffix('.png').replace('_', ' '))}</h2>"
            f"<img alt='{html.escape(name)}' src='data:image/png;base64,{b64}'>"
        )
    for name, heading in TABLE_TITLES.items():
        if name in results.tables:
            parts.append(f"<h2>{html.escape(heading)}</h2>{_fmt(results.tables[name])}")
    parts.append(
        "<p class='note'>Methods: see docs/statistics.md. Flagged pairs are reported and left out of "
        "that reader's figures; practice pairs never count.</p></body></html>"
    )
    return "\n".join(parts)


def _converters(html_path: Path, pdf_path: Path) -> list[list[str]]:
    cmds = []
    if shutil.which("wkhtmltopdf"):
        cmds.append(["wkhtmltopdf", "--quiet", str(html_path), str(pdf_path)])
    if shutil.which("weasyprint"):
        cmds.append(["weasyprint", str(html_path), str(pdf_path)])
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(exe):
            cmds.append(
                [
                    exe,
                    "--headless",
                    "--disable-gpu",
                    "--no-sandbox",
                    f"--print-to-pdf={pdf_path}",
                    html_path.as_uri(),
                ]
            )
    for exe in ("soffice", "libreoffice"):
        if shutil.which(exe):
            cmds.append(
                [
                    exe,
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(pdf_path.parent),
                    str(html_path),
                ]
            )
    return cmds


def write_pdf(html_text: str, pdf_path: str | Path, timeout: float = 120) -> str:
    """Convert the report to PDF with the first converter that works; returns what happened."""
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        out = Path(tmp) / "report.pdf"
        cmds = _converters(src, out)
        if not cmds:
            return (
                "PDF skipped: no converter (wkhtmltopdf, weasyprint, chromium, libreoffice) on PATH"
            )
        for cmd in cmds:
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
            except (subprocess.SubprocessError, OSError):
                continue
            if out.is_file() and out.stat().st_size > 0:
                write_bytes_atomic(pdf_path, out.read_bytes())
                return f"PDF written with {Path(cmd[0]).name}"
        return (
            "PDF skipped: every converter found failed ("
            + ", ".join(Path(c[0]).name for c in cmds)
            + ")"
        )

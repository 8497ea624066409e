"""Benchmark: ``analyze`` of 10 readers x 150 pairs, every file of it included (figures,
XLSX, HTML and the PDF report): goal < 5 s on 2 cores."""

from __future__ import annotations

import time

from bench_stats import synthetic_scored
from pypdf import PdfReader

from studies.analysis import analyze_scored, write_outputs


def test_bench_analyze_with_figures_and_pdf_10_readers_150_pairs(tmp_path):
    scored, key, scores = synthetic_scored()
    warm = analyze_scored(scored.head(600), key, scores, n_boot=100)  # imports, fonts, caches
    write_outputs(warm, tmp_path / "warm")
    t0 = time.perf_counter()
    res = analyze_scored(scored, key, scores, n_boot=10_000)
    t1 = time.perf_counter()
    info = write_outputs(res, tmp_path / "out")
    t2 = time.perf_counter()
    pdf = tmp_path / "out" / "report.pdf"
    pages = len(PdfReader(pdf).pages)
    print(
        f"\nbench_report: analyze, 10 readers x 2 conditions x 150 pairs, 10,000 bootstrap "
        f"resamples: analysis {t1 - t0:.2f} s + {len(info['files'])} files (4 figures, XLSX, "
        f"HTML, PDF of {pages} pages, {pdf.stat().st_size / 1024:.0f} KiB) {t2 - t1:.2f} s "
        f"= {t2 - t0:.2f} s"
    )
    assert "report.pdf" in info["files"] and pages >= 4
    assert t2 - t0 < 5.0

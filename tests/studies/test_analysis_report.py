"""Report and exports from an in-memory analysis: PDF converters, atomic output folder."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from studies.analysis import analyze_scored, exports, report
from studies.analysis.exports import write_outputs


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    n = 24
    key = pd.DataFrame(
        {
            "pair_id": [f"P{i:02d}" for i in range(n)],
            "progressor": [f"A{i:02d}" for i in range(n)],
            "non_progressor": [f"B{i:02d}" for i in range(n)],
            "stratum": np.array(["almost_certain", "likely", "doubtful"])[np.arange(n) % 3],
            "jsn_mm": -0.7,
        }
    )
    rows = []
    for r in ("r1", "r2", "r3"):
        right = rng.random(n) < 0.7
        for i in range(n):
            rows.append(
                {
                    "reader": r,
                    "pair_id": f"P{i:02d}",
                    "condition": "unaided",
                    "mode": "unaided",
                    "phase": "final",
                    "case_left": f"A{i:02d}",
                    "case_right": f"B{i:02d}",
                    "chosen_case": f"A{i:02d}" if right[i] else f"B{i:02d}",
                    "confidence": pd.NA,
                    "active_seconds": float(rng.uniform(5, 50)),
                    "flagged": False,
                    "correct": float(right[i]),
                }
            )
    scored = pd.DataFrame(rows).merge(key, on="pair_id")
    scores = pd.Series(
        np.r_[rng.normal(0.6, 0.2, n), rng.normal(0.4, 0.2, n)],
        index=[*key["progressor"], *key["non_progressor"]],
    )
    scores.iloc[0] = scores.iloc[n] = 0.5  # one AI tie
    return analyze_scored(scored, key, scores, n_boot=500)


def test_ai_tie_counts_one_half(results):
    assert results.ai_pairs["correct"].iloc[0] == 0.5
    assert results.summary["ai"]["pairs"]["n_ties"] == 1
    assert results.tables["reader_vs_ai"]["n_ai_ties"].eq(1).all()


def test_strata_rows_in_paper_order(results):
    s = results.tables["strata"]
    assert list(s[s.reader == "r1"]["stratum"]) == ["almost_certain", "likely", "doubtful"]
    assert (s.groupby(["reader", "condition"])["n"].sum() == 24).all()


def fake_converter(bin_dir, name, ok=True):
    script = bin_dir / name
    body = (
        'for a in "$@"; do out="$a"; done\nprintf "%%PDF-1.4 fake" > "$out"\n' if ok else "exit 3\n"
    )
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_pdf_with_a_converter_and_skipped_without(results, tmp_path, monkeypatch):
    html = report.render_html(results, {})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    msg = report.write_pdf(html, tmp_path / "a.pdf")
    assert msg.startswith("PDF skipped: no converter") and not (tmp_path / "a.pdf").exists()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_converter(bin_dir, "wkhtmltopdf", ok=False)
    fake_converter(bin_dir, "weasyprint")
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + "/bin:/usr/bin")
    msg = report.write_pdf(html, tmp_path / "b.pdf")
    assert msg == "PDF written with weasyprint"
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")


def test_a_failure_midway_leaves_no_output_folder(results, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "imrmc_text", boom)
    with pytest.raises(RuntimeError):
        write_outputs(results, tmp_path / "out", pdf=False)
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_report_html_has_tables_and_escapes_text(results):
    results.summary["title"] = "Knees <script>alert(1)</script>"
    html = report.render_html(results, {"x.png": b"\x89PNG"})
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "Each reader vs the AI" in html and "Agreement between readers" in html

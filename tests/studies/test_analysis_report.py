"""Report and exports from an in-memory analysis: PDF converters, atomic output folder."""

from __future__ import annotations

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


def test_pdf_needs_no_external_program(results, tmp_path, monkeypatch):
    """No converter on PATH (a fresh machine): the PDF is still written, by pip libraries."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    info = write_outputs(results, tmp_path / "out")
    assert info["pdf"] == "PDF written: report.pdf (A4)"
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")


def test_an_unknown_paper_size_is_refused_before_writing(results, tmp_path):
    from studies.errors import OptionError

    with pytest.raises(OptionError, match="paper.*a4, letter.*'legal'"):
        write_outputs(results, tmp_path / "out", paper="legal")
    assert not (tmp_path / "out").exists()


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
    assert "Table 3. Each reader against the AI" in html and "Agreement between readers" in html
    assert "wilson_lo" not in html and "mcnemar_exact_p" not in html  # no raw column names

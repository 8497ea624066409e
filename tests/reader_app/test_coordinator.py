"""The coordinator view: progress, merging files from two workstations, results drawn from the
same analysis as ``knee-study analyze``, exports."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from study_factory import make_study

from reader_app.domain.coordination import reader_statuses
from studies.analysis.chart_data import strata_chart
from studies.cli import main as knee_study
from studies.decisions.simulate import simulate_reader


def test_statuses_report_progress_and_broken_chains(two_workstations, tmp_path):
    import sqlite3

    tiny, files = two_workstations
    (tiny.study / "decisions").mkdir()
    shutil.copy(files[0], tiny.study / "decisions" / "r1.sqlite")
    bad = tiny.study / "decisions" / "r2.sqlite"
    shutil.copy(files[1], bad)
    with sqlite3.connect(bad) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET ts = 'x' WHERE id = 3")
    statuses = {s.reader_id: s for s in reader_statuses(tiny.study)}
    assert statuses["r1"].answered == 8 and statuses["r1"].complete and statuses["r1"].chain_ok
    assert not statuses["r2"].chain_ok and "row 3" in statuses["r2"].chain_reason


def test_coordinator_merges_two_readers_and_draws_what_analyze_writes(qtbot, two_workstations, tmp_path):
    from reader_app.controllers.coordinator import CoordinatorController
    from reader_app.ui.coordinator import CoordinatorView

    tiny, files = two_workstations
    view = CoordinatorView("test")
    qtbot.addWidget(view)
    controller = CoordinatorController(tiny.study, tiny.key, view, n_boot=200)
    controller.refresh(force=True)
    assert controller.results is None and not view.export_button.isEnabled()

    items = controller.collect(files)
    assert [i.status for i in items] == ["new", "new"]
    assert view.readers_table.rowCount() == 2
    assert view.readers_table.item(0, 1).text() == "8 / 8"
    assert view.export_button.isEnabled()

    # knee-study analyze on the same study and key writes the figures' data in summary.json.
    out = tmp_path / "analysis"
    assert knee_study(["analyze", "--study", str(tiny.study), "--key", str(tiny.key), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    ai_auc = summary["ai"]["auc"]["auc"]
    x, y = view.roc_curve.getData()
    np.testing.assert_allclose(x, controller.results.roc["ai"]["fpr"])
    np.testing.assert_allclose(y, controller.results.roc["ai"]["tpr"])
    assert controller.results.roc["ai"]["auc"] == pytest.approx(ai_auc)
    # Each reader is a point (1 - PC, PC), PC as in the analysis' readers table.
    readers = {r["reader"]: r["pc"] for r in summary["tables"]["readers"]}
    drawn = {}
    for item in view.reader_points:
        px, py = item.getData()
        drawn[item.name().split(" ")[0]] = (px[0], py[0])
    assert set(drawn) == set(readers) == {"r1", "r2"}
    for reader, pc in readers.items():
        assert drawn[reader] == pytest.approx((1 - pc, pc))
    # Per-stratum bars: the analysis' strata table.
    strata = summary["tables"]["strata"]
    heights = sorted(h for bar in view.strata_bars for h in bar.opts["height"])
    assert heights == pytest.approx(sorted(r["pc"] for r in strata))
    # ... drawn from the plot data the report's matplotlib figure draws too.
    chart = strata_chart(controller.results)
    assert [bar.opts["name"] for bar in view.strata_bars] == [g.label for g in chart.groups]
    for bar, group in zip(view.strata_bars, chart.groups, strict=True):
        np.testing.assert_allclose(bar.opts["x"], group.x)

    # Exports: the same files as knee-study analyze.
    info = controller.export(tmp_path / "export")
    assert sorted(info["files"]) == sorted(p.name for p in out.iterdir())


def test_a_key_from_another_study_is_refused(two_workstations, tmp_path):
    from reader_app.controllers.coordinator import CoordinatorController
    from reader_app.ui.coordinator import CoordinatorView
    from studies.errors import StudyError

    tiny, _ = two_workstations
    other = make_study(tmp_path / "other", n_pairs=2, with_images=False, seed=3)
    view = CoordinatorView("test")
    try:
        with pytest.raises(StudyError, match="does not match this study"):
            CoordinatorController(tiny.study, other.key, view)
    finally:
        view.close()
        view.deleteLater()


def test_results_tab_shows_the_reports_formatted_tables_and_marks_simulated_readers(
    qtbot, two_workstations, tmp_path
):
    """r1 and r2 come from simulate-reader: marked in the Readers tab and in every table;
    the tables are the report's (titles, rounded cells), and Export writes the PDF."""
    from pypdf import PdfReader
    from PySide6.QtCore import Qt

    from reader_app.controllers.coordinator import CoordinatorController
    from reader_app.ui.coordinator import CoordinatorView
    from studies.analysis import formatting

    tiny, files = two_workstations
    view = CoordinatorView("test")
    qtbot.addWidget(view)
    controller = CoordinatorController(tiny.study, tiny.key, view, n_boot=200)
    controller.collect(files)
    assert view.readers_table.item(0, 0).text() == "r1 (simulated)"
    assert not view.readers_table.item(0, 4).text().startswith("1970")  # epoch seconds read as such
    titles = [view.table_choice.itemText(i) for i in range(view.table_choice.count())]
    assert view.table_choice.currentText().startswith("Table 2.")
    assert any(t.startswith("Table 1.") for t in titles) and any(t.startswith("Table 3.") for t in titles)
    table = view.results_table
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header[:4] == ["Reader", "Reading", "Pairs", "Pairwise AUC (95 % Wilson CI)"]
    r1 = controller.results.tables["readers"].set_index("reader").loc["r1"]
    assert table.item(0, 0).text() == "r1 (simulated)"
    assert table.item(0, 3).text() == formatting.estimate_ci(r1["pc"], r1["wilson_lo"], r1["wilson_hi"])
    assert table.item(0, 0).foreground().color().name() == "#8a8a8a"
    assert table.item(table.rowCount() - 1, 0).text() == "AI"  # people and AI rows stay black
    assert table.item(table.rowCount() - 1, 0).foreground().style() == Qt.BrushStyle.NoBrush
    assert "left out of the pooled analyses" in view.results_summary.text()
    assert all("(simulated)" in item.name() for item in view.reader_points)
    assert sorted(b.opts["name"] for b in view.strata_bars) == ["AI (standalone)", "r1 (simulated) (unaided)", "r2 (simulated) (unaided)"]
    # the strata legend lists every bar and sits outside the plot area (it covered the bars)
    legend, vb = view.strata_legend, view.strata_plot.plotItem.vb
    assert len(legend.items) == 3
    view.resize(1400, 800)
    view.show()
    qtbot.waitExposed(view)
    view.tabs.setCurrentIndex([view.tabs.tabText(i) for i in range(view.tabs.count())].index("Results"))
    qtbot.wait(50)
    legend_rect = legend.mapRectToScene(legend.boundingRect())
    plot_rect = vb.mapRectToScene(vb.boundingRect())
    assert legend_rect.width() > 50 and legend_rect.left() >= plot_rect.right() - 1  # right of the bars
    view.hide()

    info = controller.export(tmp_path / "export")
    assert "report.pdf" in info["files"] and "PDF written: report.pdf (A4)" in view.export_status.text()
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "export" / "report.pdf").pages)
    assert "r1 (simulated)" in text.replace("\xa0", " ")


def test_results_show_the_cross_validated_auc_and_mark_simulated_readers(qtbot, tmp_path):
    from reader_app.controllers.coordinator import CoordinatorController
    from reader_app.ui.coordinator import CoordinatorView

    tiny = make_study(tmp_path, n_pairs=8, with_images=False, with_ai=True)
    cv = {"auc": 0.643, "ci": [0.575, 0.711], "n": 265, "folds": 5, "n_positive": 115, "n_negative": 150}
    (tiny.study / "ai" / "run.json").write_text(json.dumps({"run_id": "run-test", "cross_validation": cv,
                                                            "models_used": {"fold_2": 16}}))
    simulate_reader(tiny.study, tiny.key, "sim-1", 0.7)
    view = CoordinatorView("test")
    qtbot.addWidget(view)
    controller = CoordinatorController(tiny.study, tiny.key, view, n_boot=200)
    controller.refresh(force=True)
    assert view.readers_table.item(0, 0).text() == "sim-1 (simulated)"
    text = view.results_summary.text()
    ai = controller.results.summary["ai"]
    assert f"AI on the study's 8 pairs: picks the progressor in {ai['pairs']['pc']:.3f}" in text
    assert f"combinations {ai['auc']['auc']:.3f} (95 % CI {ai['auc']['ci'][0]:.3f}–" in text
    assert "(265 knees, 5 folds): AUC 0.643 (95 % CI 0.575–0.711)" in text
    assert "±0.35" in text and "Simulated readers (sim-1)" in text and "never saw it" in text

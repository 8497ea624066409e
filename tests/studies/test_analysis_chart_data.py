"""The strata and ROC charts' plot data, and the report's matplotlib figures drawn from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.analysis.chart_data import GROUP_WIDTH, roc_chart, strata_chart
from studies.analysis.figures import roc_figure, strata_figure
from studies.analysis.results import StudyResults


def results(strata: pd.DataFrame | None = None, roc: dict | None = None) -> StudyResults:
    tables = {} if strata is None else {"strata": strata}
    return StudyResults(summary={}, tables=tables, roc=roc or {"ai": None, "readers": []},
                        decisions=pd.DataFrame())


STRATA = pd.DataFrame(
    [
        # reader, condition, stratum, pc, Wilson interval, simulated
        ("r1", "unaided", "jsn_0_1", 0.75, 0.41, 0.93, False),
        ("r1", "unaided", "jsn_2_3", 0.50, 0.19, 0.81, False),
        ("sim", "aided", "jsn_0_1", 1.00, 0.57, 1.00, True),  # read no pair of jsn_2_3
        ("AI", "standalone", "jsn_0_1", 0.60, 0.31, 0.83, False),
        ("AI", "standalone", "jsn_2_3", 0.40, 0.17, 0.69, False),
    ],
    columns=["reader", "condition", "stratum", "pc", "wilson_lo", "wilson_hi", "simulated"],
)


def test_strata_chart_one_group_of_bars_per_reader_and_condition():
    chart = strata_chart(results(STRATA))
    assert chart.strata == ("jsn_0_1", "jsn_2_3") and chart.tick_labels == ("jsn 0 1", "jsn 2 3")
    assert chart.width == pytest.approx(GROUP_WIDTH / 3) and chart.chance == 0.5
    r1, sim, ai = chart.groups
    assert [g.label for g in chart.groups] == ["r1 (unaided)", "sim (simulated) (aided)", "AI (standalone)"]
    assert [g.index for g in chart.groups] == [0, 1, 2] and ai.ai and not r1.ai
    assert sim.simulated and not r1.simulated
    np.testing.assert_allclose(r1.pc, [0.75, 0.50])
    np.testing.assert_allclose(r1.err_low, [0.34, 0.31])
    np.testing.assert_allclose(r1.err_high, [0.18, 0.31])
    assert np.isnan(sim.pc[1]) and np.isnan(sim.err_low[1]) and sim.err_high[0] == 0
    # side by side within each stratum, the groups in order, never overlapping
    np.testing.assert_allclose(r1.x, [-0.4 + chart.width / 2, 0.6 + chart.width / 2])
    np.testing.assert_allclose(ai.x - sim.x, chart.width)


def test_no_answers_no_strata_chart():
    assert strata_chart(results()) is None
    assert strata_chart(results(STRATA.iloc[0:0])) is None


ROC = {
    "ai": {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.75, 1.0], "auc": 0.69, "ci": [0.5, 0.85]},
    "readers": [
        {"reader": "r2", "condition": "unaided", "pc": 0.7, "fpr": 0.3, "tpr": 0.7},
        {"reader": "r1", "condition": "aided", "pc": 0.8, "fpr": 0.2, "tpr": 0.8, "simulated": True},
        {"reader": "r1", "condition": "unaided", "pc": None, "fpr": None, "tpr": None},
    ],
}


def test_roc_chart_the_ai_curve_and_a_point_per_answered_reading():
    chart = roc_chart(results(roc=ROC))
    assert chart.readers == ("r1", "r2") and chart.conditions == ("aided", "unaided")
    np.testing.assert_allclose(chart.ai.tpr, [0.0, 0.75, 1.0])
    assert chart.ai.auc == 0.69 and chart.ai.ci == (0.5, 0.85)
    assert [p.label for p in chart.points] == ["r2 (unaided): PC 0.700", "r1 (simulated) (aided): PC 0.800"]
    assert [(p.reader_index, p.condition_index) for p in chart.points] == [(1, 1), (0, 0)]
    assert not chart.empty and roc_chart(results()).empty


def test_the_report_figures_draw_the_chart_data():
    chart = strata_chart(results(STRATA))
    ax = strata_figure(results(STRATA)).axes[0]
    handles, labels = ax.get_legend_handles_labels()
    assert labels == [g.label for g in chart.groups]
    for container, group in zip(handles, chart.groups, strict=True):
        heights = [bar.get_height() for bar in container.patches]
        np.testing.assert_allclose(heights, group.pc)
        np.testing.assert_allclose([bar.get_x() + bar.get_width() / 2 for bar in container.patches], group.x)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(chart.tick_labels)

    roc = roc_chart(results(roc=ROC))
    ax = roc_figure(results(roc=ROC)).axes[0]
    _, labels = ax.get_legend_handles_labels()
    assert labels[1:] == [p.label for p in roc.points] and labels[0].startswith("AI: AUC 0.690")
    points = [line.get_xydata()[0].tolist() for line in ax.get_lines() if line.get_label() in labels[1:]]
    assert points == [[p.fpr, p.tpr] for p in roc.points]

"""The coordinator's controller with a mock view specified by its protocol: no window, no
QApplication. What it shows, enables, collects and exports, over a real study."""

from __future__ import annotations

import sqlite3
from unittest.mock import MagicMock

import numpy as np
import pytest

from reader_app.controllers.coordinator import (
    NO_FILES,
    NO_RESULTS,
    READER_COLUMNS,
    REFRESH_MS,
    CoordinatorController,
    CoordinatorViewLike,
    ResultsDisplay,
)
from reader_app.controllers.messages import ErrorMessage
from studies.analysis.chart_data import roc_chart, strata_chart


def make(tiny):
    view = MagicMock(spec=CoordinatorViewLike)
    view.choose_decisions_files.return_value = []
    view.choose_export_folder.return_value = None
    return CoordinatorController(tiny.study, tiny.key, view, n_boot=200), view


def last(mock_method):
    return mock_method.call_args.args[0]


def actions(view):
    return view.bind_actions.call_args.kwargs


def test_starts_with_export_disabled_and_refreshes_on_a_timer(two_workstations):
    tiny, _ = two_workstations
    ctl, view = make(tiny)
    assert set(actions(view)) == {"refresh", "collect", "export", "choose_table"}
    view.set_export_enabled.assert_called_once_with(False, NO_RESULTS)
    ctl.start()
    view.repeat.assert_called_once_with(REFRESH_MS, ctl.refresh)
    readers = last(view.show_readers)
    assert readers.header == READER_COLUMNS and readers.rows == () and readers.summary == NO_FILES
    assert last(view.show_results) == ResultsDisplay(summary="No answers yet.")
    assert view.set_export_enabled.call_args.args == (False, NO_RESULTS)
    view.show_error.assert_not_called()


def test_collect_asks_for_files_merges_them_and_shows_the_analysis(two_workstations):
    tiny, files = two_workstations
    ctl, view = make(tiny)
    ctl.start()
    actions(view)["collect"]()  # the user cancels the file dialog: nothing happens
    view.show_merge_report.assert_not_called()

    view.choose_decisions_files.return_value = files
    actions(view)["collect"]()
    assert "<b>new</b> r1" in last(view.show_merge_report) and "<b>new</b> r2" in last(view.show_merge_report)
    rows = last(view.show_readers).rows
    assert [r.cells[:2] for r in rows] == [("r1 (simulated)", "8 / 8"), ("r2 (simulated)", "8 / 8")]
    assert all(r.tooltip.startswith("Written by simulate-reader") and not r.broken for r in rows)
    assert last(view.show_readers).summary == "2 reader(s); 2 finished all 8 pairs."
    view.set_export_enabled.assert_called_with(True, "")

    shown = last(view.show_results)
    assert shown.summary.startswith("2 reader(s), 8 pairs.") and "left out of the pooled analyses" in shown.summary
    # The charts are the analysis' own plot data: the AI's curve, each reader at (1 - PC, PC).
    np.testing.assert_allclose(shown.roc.ai.fpr, ctl.results.roc["ai"]["fpr"])
    pcs = ctl.results.tables["readers"].set_index("reader")["pc"]
    assert {p.reader: (p.fpr, p.tpr) for p in shown.roc.points} == {
        r: pytest.approx((1 - pc, pc)) for r, pc in pcs.items()
    }
    assert [g.label for g in shown.strata.groups] == [g.label for g in strata_chart(ctl.results).groups]
    assert [p.label for p in shown.roc.points] == [p.label for p in roc_chart(ctl.results).points]
    # The report's tables, Table 2 first.
    assert shown.title.startswith("Table 2.") and shown.table.title == shown.title
    assert any(t.startswith("Table 1.") for t in shown.titles)
    view.show_error.assert_not_called()


def test_the_chosen_table_is_shown_and_kept_when_the_results_refresh(two_workstations):
    tiny, files = two_workstations
    ctl, view = make(tiny)
    ctl.collect(files)
    table1 = next(t for t in last(view.show_results).titles if t.startswith("Table 1."))
    actions(view)["choose_table"](table1)
    assert last(view.show_table).title == table1
    actions(view)["refresh"]()  # the Refresh button re-runs the analysis
    assert last(view.show_results).title == table1 and last(view.show_results).table.title == table1


def test_export_asks_for_a_folder_and_reports_what_it_wrote(two_workstations, tmp_path):
    tiny, files = two_workstations
    ctl, view = make(tiny)
    assert ctl.export(tmp_path / "nothing") is None  # no results: nothing to export
    ctl.collect(files)
    actions(view)["export"]()  # cancelled
    view.show_export_status.assert_not_called()
    view.choose_export_folder.return_value = tmp_path / "out"
    actions(view)["export"]()
    view.choose_export_folder.assert_called_with(tiny.study.parent)
    out = tmp_path / "out" / f"results-{tiny.manifest.study_id}"
    assert (out / "report.pdf").is_file() and (out / "summary.json").is_file()
    assert last(view.show_export_status).startswith(f"Wrote {len(list(out.iterdir()))} files to {out}")


def test_errors_go_to_the_view_as_messages(two_workstations, tmp_path):
    tiny, files = two_workstations
    ctl, view = make(tiny)
    ctl.collect(files)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert ctl.export(blocker / "results") is None
    message = last(view.show_error)
    assert isinstance(message, ErrorMessage) and message.text.startswith("Exporting the results: ")


def test_a_broken_audit_chain_is_shown_and_left_out_of_the_analysis(two_workstations):
    tiny, files = two_workstations
    ctl, view = make(tiny)
    ctl.collect(files)
    with sqlite3.connect(tiny.study / "decisions" / "r2.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET ts = 'x' WHERE id = 3")
    ctl.refresh()
    rows = last(view.show_readers).rows
    assert [r.broken for r in rows] == [False, True] and rows[1].cells[-1].startswith("BROKEN: ")
    shown = last(view.show_results)
    assert shown.summary.count("Left out (broken audit chain): r2.") == 1
    assert {p.reader for p in shown.roc.points} == {"r1"}
    assert ctl.results.summary["readers"] == ["r1"]

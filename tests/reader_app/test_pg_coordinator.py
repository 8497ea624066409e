"""The coordinator's window with its decisions from a server (``knee-reader --coordinator
--store URL STUDY --key KEY``): the controller with a mock view specified by its protocol over a
real server, and the Qt window once, offscreen."""

from __future__ import annotations

import functools
import shutil
import time
from unittest.mock import MagicMock

import pytest
from pg_cluster import register
from study_factory import make_study

from reader_app.controllers.coordinator import (
    NO_SERVER_ROWS,
    PROGRESS_MS,
    REFRESH_MS,
    SERVER_COLLECT_TIP,
    CoordinatorController,
    CoordinatorViewLike,
)
from reader_app.domain.server_decisions import NotOnServer, ServerDecisions
from reader_app.domain.server_progress import ProgressPoller
from studies.analysis import analyze_study
from studies.cli import main as knee_study
from studies.decisions.backend import open_backend
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path


@pytest.fixture()
def site(pg_server, tmp_path):
    """A registered study; the coordinator's copy holds no decisions files; r1 and r2 read on
    two workstations and send; a coordinator role's URL."""
    tiny = make_study(tmp_path / "central", n_pairs=8, with_images=False, with_ai=True)
    urls = register(pg_server, tiny, ("r1", "r2", "r3"), tmp_path)
    stations = {}
    for i, reader in enumerate(("r1", "r2", "r3")):
        stations[reader] = tmp_path / f"ws{i}" / "study"
        shutil.copytree(tiny.study, stations[reader])
    for i, reader in enumerate(("r1", "r2")):
        simulate_reader(stations[reader], tiny.key, reader, 0.7, seed=i)
        assert open_backend(urls[reader]).after_write(decisions_path(stations[reader], reader)) == "sent"
    assert knee_study(["server", "add-coordinator", "coord_view", "--out", str(tmp_path / "coord.pgpass"),
                       "--store", pg_server.admin_url]) == 0
    coord = pg_server.url("coord_view", tmp_path / "coord.pgpass")
    return tiny, urls, stations, coord


def controller_for(tiny, coord):
    view = MagicMock(spec=CoordinatorViewLike)
    progress = ProgressPoller(coord, tiny.manifest.study_id)  # polled by hand: no thread
    ctl = CoordinatorController(tiny.study, tiny.key, view, n_boot=200,
                                server=ServerDecisions(coord, tiny.study), progress=progress)
    return ctl, view, progress


def last(method):
    return method.call_args.args[0]


def test_the_controller_shows_the_servers_decisions_and_live_progress(site):
    tiny, urls, stations, coord = site
    ctl, view, progress = controller_for(tiny, coord)
    try:
        view.set_collect_enabled.assert_called_once_with(False, SERVER_COLLECT_TIP)
        progress.poll_once()
        ctl.start()
        assert [c.args[0] for c in view.repeat.call_args_list] == [REFRESH_MS, PROGRESS_MS]
        readers = last(view.show_readers)
        assert [r.cells[0] for r in readers.rows] == ["r1 (simulated)", "r2 (simulated)"]
        assert [r.cells[1] for r in readers.rows] == ["8 / 8", "8 / 8"]
        assert all(r.cells[-1] == "intact" for r in readers.rows)
        assert not (tiny.study / "decisions").exists()  # nothing came from the study's folder
        # the results are those of the analysis of the readers' own files
        local = [decisions_path(stations[r], r) for r in ("r1", "r2")]
        expected = analyze_study(tiny.study, tiny.key, local, n_boot=200).summary
        assert ctl.results.summary["readers"] == expected["readers"]
        view.set_export_enabled.assert_called_with(True, "")
        shown = last(view.show_server_progress)
        assert [row[1:3] for row in shown.rows] == [("r1", "8/8"), ("r2", "8/8"), ("r3", "0/8")]
        assert "updated" in shown.status

        # unchanged server: no new analysis on the timer's refresh
        analyses = view.show_results.call_count
        ctl.refresh()
        assert view.show_results.call_count == analyses
        # r3 reads and sends: the next refresh shows and analyses three readers
        simulate_reader(stations["r3"], tiny.key, "r3", 0.9, seed=3)
        open_backend(urls["r3"]).after_write(decisions_path(stations["r3"], "r3"))
        ctl.refresh()
        assert [r.cells[0] for r in last(view.show_readers).rows][-1] == "r3 (simulated)"
        assert view.show_results.call_count == analyses + 1
        assert len(ctl.results.summary["readers"]) == 3
        progress.poll_once()
        ctl.show_progress()
        assert [row[2] for row in last(view.show_server_progress).rows] == ["8/8", "8/8", "8/8"]

        ctl.choose_and_collect()  # Collect does nothing with a server
        view.choose_decisions_files.assert_not_called()
    finally:
        ctl.close()
    assert ctl.progress is None


def test_a_study_not_on_the_server_is_reported_and_an_empty_one_says_so(site, tmp_path):
    tiny, _, _, coord = site
    other = make_study(tmp_path / "other", n_pairs=3, with_images=False, seed=8)
    view = MagicMock(spec=CoordinatorViewLike)
    ctl = CoordinatorController(other.study, other.key, view, n_boot=50, server=ServerDecisions(coord, other.study))
    ctl.refresh(force=True)
    message = last(view.show_error)
    assert "not registered" in str(message) and "server add-study" in str(message)
    view.show_readers.assert_not_called()
    ctl.close()
    server = ServerDecisions(coord, other.study)
    try:
        with pytest.raises(NotOnServer):
            server.fetch()
    finally:
        server.close()  # its snapshot folder goes too


def test_an_unreachable_server_keeps_the_last_snapshot(site):
    tiny, _, _, coord = site
    ctl, view, progress = controller_for(tiny, coord)
    try:
        ctl.refresh(force=True)
        first = [r.cells for r in last(view.show_readers).rows]
        ctl.server._conn.close()
        ctl.server.backend.address.params["host"] = "/nonexistent-socket-dir"
        ctl.refresh()
        assert [r.cells for r in last(view.show_readers).rows] == first
        view.show_error.assert_not_called()
        ctl.show_progress()
        assert "did not answer" in last(view.show_server_progress).status
    finally:
        ctl.close()


def test_the_window_from_the_server_offscreen(qtbot, site, monkeypatch):
    import reader_app.ui.coordinator as ui

    tiny, _, _, coord = site
    monkeypatch.setattr(ui, "CoordinatorController", functools.partial(CoordinatorController, n_boot=200))
    view, ctl = ui.open_coordinator(tiny.study, tiny.key, store=coord)
    qtbot.addWidget(view)
    assert view.windowTitle().endswith(ctl.server.backend.address.shown) and "coord_view" in view.windowTitle()
    assert view.readers_table.rowCount() == 2 and not view.collect_button.isEnabled()
    assert view.export_button.isEnabled() and view.reader_points
    deadline = time.monotonic() + 10
    while not ctl.progress.snapshot.fetched_at and time.monotonic() < deadline:
        time.sleep(0.05)
    ctl.show_progress()
    assert view.server_table.isVisibleTo(view) and view.server_table.rowCount() == 3
    assert view.server_table.item(2, 1).text() == "r3"
    poller = ctl.progress
    view.close()
    assert ctl.progress is None and not poller._thread.is_alive()


def test_knee_reader_routes_the_coordinator_with_a_key_to_the_full_window(monkeypatch, site):
    import reader_app.main as app_main
    import reader_app.ui.coordinator as ui
    import reader_app.ui.server_progress as progress_only

    tiny, _, _, coord = site
    seen = []
    monkeypatch.setattr(ui, "main", lambda args: seen.append(("full", args.store)) or 0)
    monkeypatch.setattr(progress_only, "main", lambda args: seen.append(("progress", args.store)) or 0)
    assert app_main.main(["--coordinator", str(tiny.study), "--key", str(tiny.key), "--store", coord]) == 0
    assert app_main.main(["--coordinator", str(tiny.study), "--store", coord]) == 0
    assert seen == [("full", coord), ("progress", coord)]


def test_an_empty_study_on_the_server(pg_server, tmp_path):
    tiny = make_study(tmp_path / "c", n_pairs=3, with_images=False)
    register(pg_server, tiny, ("r1",), tmp_path)
    view = MagicMock(spec=CoordinatorViewLike)
    ctl = CoordinatorController(tiny.study, tiny.key, view, n_boot=50,
                                server=ServerDecisions(pg_server.admin_url, tiny.study))
    ctl.refresh(force=True)
    assert last(view.show_readers).summary == NO_SERVER_ROWS
    ctl.close()

"""``knee-reader --demo``: what is missing gets built, in order, with progress; a ready demo
opens at once; without a display the first pair is written to a PNG."""

from __future__ import annotations

import sys
import types

import pytest
from study_factory import make_study

from reader_app import demo
from studies.progress import LatestProgress, Progress


def _fake_pipeline(monkeypatch, calls):
    """Stand-ins for the two heavy stages that write what the real ones write."""

    def build_demo(root, *, force, progress):
        calls.append(("build", force))
        for i in range(5):
            progress.update(i + 1, 5)
        make_study(root, n_pairs=2, with_images=True, with_ai=False)

    def train_and_infer(cohort, study, key, run, *, input_size, progress):
        """Stages the demo has never heard of, with their own weights."""
        assert input_size == fake.DEMO_INPUT_SIZE  # the demo's, not the default for real data
        calls.append(("model", study.name, key.name))
        for stage, weight in (("alpha features", 0.7), ("beta cross-validation", 0.2), ("gamma scores", 0.1)):
            with progress.stage(stage, weight=weight) as st:
                st.update(1, 2)
                st.update(2, 2)
        make_study(study.parent, n_pairs=2, with_images=True, with_ai=True)

    monkeypatch.setattr("studies.builder.build_demo", build_demo)
    fake = types.ModuleType("model.pipeline")
    fake.train_and_infer = train_and_infer
    fake.DEMO_INPUT_SIZE = 320
    monkeypatch.setitem(sys.modules, "model.pipeline", fake)


def test_prepare_builds_the_missing_parts_in_order_with_rising_progress(tmp_path, monkeypatch):
    calls, seen = [], []
    _fake_pipeline(monkeypatch, calls)
    paths = demo.DemoPaths(tmp_path / "demo")
    demo.prepare_demo(paths, Progress(seen.append))
    assert calls == [("build", True), ("model", "study", "key.json")]
    fractions = [s.fraction for s in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen[-1].finished
    assert paths.ready()
    # A second call finds everything in place and does nothing.
    calls.clear()
    demo.prepare_demo(paths)
    assert calls == []


def test_the_models_own_stages_and_weights_fill_the_demos_bar(tmp_path, monkeypatch):
    _fake_pipeline(monkeypatch, [])
    latest, shown = LatestProgress(), {}
    task = Progress(latest, lambda state: shown.setdefault(state.text, state.fraction))
    demo.prepare_demo(demo.DemoPaths(tmp_path / "demo"), task)
    model_text, model_share = demo.MODEL_STAGE
    start = demo.BUILD_STAGE[1]
    assert shown[f"{model_text}: alpha features"] == pytest.approx(start)
    assert shown[f"{model_text}: beta cross-validation"] == pytest.approx(start + 0.7 * model_share)
    assert shown[f"{model_text}: gamma scores"] == pytest.approx(start + 0.9 * model_share)
    assert latest.state.finished and demo._shown_text(latest.state) == "Ready"


def test_the_terminal_shows_each_stage_with_the_time_left(tmp_path, monkeypatch, capsys):
    _fake_pipeline(monkeypatch, [])
    demo.prepare_demo(demo.DemoPaths(tmp_path / "demo"), Progress(demo._terminal_sink()))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[  0%] Building the synthetic cohort and the demo study (0 s, estimating the time left)"
    at = demo.BUILD_STAGE[1] + 0.7 * demo.MODEL_STAGE[1]  # where the fake pipeline's second stage starts
    assert f"[{at:4.0%}] Training the model and scoring the study: beta cross-validation (0 s, estimating the time left)" in lines
    assert lines[-1].startswith("[100%] Ready (") and lines[-1].endswith(" s, less than 10 s left)")


def test_the_dialog_polls_the_worker_and_shows_the_models_stages(tmp_path, monkeypatch, qapp):
    from PySide6.QtWidgets import QProgressDialog

    _fake_pipeline(monkeypatch, [])
    labels = []
    real_set = QProgressDialog.setLabelText
    monkeypatch.setattr(QProgressDialog, "setLabelText", lambda self, text: labels.append(text) or real_set(self, text))
    demo._prepare_with_dialog(demo.DemoPaths(tmp_path / "demo"))
    assert labels[-1].startswith("Ready…\n100% — ")


def test_a_built_study_without_ai_only_runs_the_model(tmp_path, monkeypatch):
    calls = []
    _fake_pipeline(monkeypatch, calls)
    paths = demo.DemoPaths(tmp_path)
    make_study(tmp_path, n_pairs=2, with_ai=False)
    assert paths.study_ready() and not paths.ai_ready()
    demo.prepare_demo(paths)
    assert [c[0] for c in calls] == ["model"]


def test_ready_demo_without_display_writes_the_first_pair(tmp_path, monkeypatch, qapp, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    make_study(tmp_path, n_pairs=2, n_practice=1, with_ai=True)
    assert not demo.has_display() and demo.gui_problem() == "no display"
    assert demo.run_demo(tmp_path) == 0
    png = tmp_path / "first-pair.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--mode sequential" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False), ({"DISPLAY": ":0"}, True), ({}, False)],
)
def test_display_detection(monkeypatch, env, expected):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys, "platform", "linux")
    assert demo.has_display() is expected


def test_a_run_folder_from_another_cohort_is_trained_again(tmp_path, monkeypatch):
    from studies.errors import OptionError

    calls = []
    _fake_pipeline(monkeypatch, calls)
    real = sys.modules["model.pipeline"].train_and_infer

    def picky(cohort, study, key, run, *, input_size, progress):
        if (run / "stale").exists():
            raise OptionError("out", "a run folder of the same cohort", str(run))
        real(cohort, study, key, run, input_size=input_size, progress=progress)

    monkeypatch.setattr(sys.modules["model.pipeline"], "train_and_infer", picky)
    paths = demo.DemoPaths(tmp_path)
    make_study(tmp_path, n_pairs=2, with_ai=False)
    paths.run.mkdir()
    (paths.run / "stale").write_text("")
    demo.prepare_demo(paths)
    assert paths.ai_ready() and not (paths.run / "stale").exists()


def test_a_window_qt_cannot_open_names_the_missing_packages(monkeypatch):
    from studies.doctor import qt

    monkeypatch.setattr(demo, "has_display", lambda: True)
    monkeypatch.setattr(demo.subprocess, "run", lambda *a, **k: types.SimpleNamespace(
        returncode=134, stderr='qt.qpa.plugin: Could not load the Qt platform plugin "xcb"\nAborted\n'))
    monkeypatch.setattr(qt.sys, "platform", "linux")
    monkeypatch.setattr(qt, "loadable", lambda soname: soname != "libxcb-keysyms.so.1")
    problem = demo.gui_problem()
    assert 'plugin "xcb"' in problem and "sudo apt install libxcb-keysyms1" in problem
    assert "sudo dnf install xcb-util-keysyms" in problem


def test_prepare_adds_simulated_readers_marked_as_such(tmp_path, monkeypatch):
    from reader_app.domain.coordination import reader_statuses

    _fake_pipeline(monkeypatch, [])
    paths = demo.DemoPaths(tmp_path / "demo")
    demo.prepare_demo(paths)
    statuses = {s.reader_id: s for s in reader_statuses(paths.study)}
    assert set(statuses) == {r for r, _ in demo.SIMULATED_READERS}
    assert all(s.simulated and s.complete and s.chain_ok and s.modes == ("unaided",) for s in statuses.values())
    mtimes = {p: p.stat().st_mtime_ns for p in (paths.study / "decisions").glob("*.sqlite")}
    demo.prepare_demo(paths)  # ready: nothing is answered twice
    assert {p: p.stat().st_mtime_ns for p in (paths.study / "decisions").glob("*.sqlite")} == mtimes


def test_the_printed_summary_and_the_coordinators_view_of_the_demo(tmp_path, monkeypatch, qapp, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    make_study(tmp_path, n_pairs=6, n_practice=1, with_ai=True)
    assert demo.run_demo(tmp_path, coordinator=True) == 0
    err = capsys.readouterr().err
    assert "Demo study: 6 pairs." in err and "sim-2 (unaided): proportion correct" in err
    assert "AI on the study's 6 pairs" in err and "±0.40" in err and "Simulated readers (sim-1, sim-2, sim-3)" in err
    assert (tmp_path / "coordinator.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "first-pair.png").exists()

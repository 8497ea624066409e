"""``knee-reader``: --screenshot (the issue's done-when on heatmap pixels), cold start without
torch, invalid packages and AI modes refused with a clear message, the start dialog."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from study_factory import make_study
from uihelpers import coloured, pixels, qimage_rgb

from reader_app.main import main
from reader_app.ui.errors import describe
from reader_app.ui.start_dialog import StartDialog, check_start
from studies.errors import InputFileError
from studies.package import MANIFEST_NAME


def png_rgb(path) -> np.ndarray:
    img = QImage(str(path))
    assert not img.isNull(), f"{path} is not a readable PNG"
    return qimage_rgb(img)


def view_rects(study, mode, qtbot):
    """Where the image areas lie in a screenshot of ``mode`` (same size, same layout), and
    where the yellow text labels drawn over them lie (to leave out)."""
    from reader_app.ui.launch import open_reading
    from reader_app.ui.screenshot import widget_png

    screen = open_reading(study, f"geom-{mode}", mode)
    try:
        widget_png(screen.window)
        areas, labels = [], []
        for view in screen.window.views.values():
            if not view.isVisible():  # the DESS coronal reformat, hidden until chosen
                continue
            w = view.graphics
            p = w.mapTo(screen.window, w.rect().topLeft())
            areas.append((p.y(), p.y() + w.height(), p.x(), p.x() + w.width()))
            viewport = w.viewport()
            for r in view.texts.rects(viewport.width(), viewport.height()).values():
                p = viewport.mapTo(screen.window, r.topLeft())
                labels.append((p.y(), p.y() + r.height(), p.x(), p.x() + r.width()))
        return areas, labels
    finally:
        screen.window.close()


def test_screenshot_aided_shows_heatmap_over_the_knee_and_unaided_none(tmp_path, qtbot):
    t = make_study(tmp_path, n_pairs=2, with_ai=True)
    counts = {}
    for mode in ("aided", "unaided"):
        out = tmp_path / f"{mode}.png"
        assert main([str(t.study), "--reader", "r1", "--mode", mode, "--screenshot", str(out)]) == 0
        rgb = png_rgb(out)
        assert rgb.shape[:2] == (1000, 1600)
        areas, labels = view_rects(t.study, mode, qtbot)
        for y0, y1, x0, x1 in labels:
            rgb[y0:y1, x0:x1] = 0
        counts[mode] = sum(coloured(rgb[y0:y1, x0:x1]) for y0, y1, x0, x1 in areas)
    assert counts["unaided"] == 0
    assert counts["aided"] > 2000


def test_cli_cold_start_writes_png_without_torch(tmp_path):
    t = make_study(tmp_path, n_pairs=2, with_ai=True)
    out = tmp_path / "shot.png"
    code = (
        "import sys\nimport reader_app.ui.launch\n"
        "assert 'PySide6' not in sys.modules, 'preparing a session must not wait for Qt'\n"
        "from reader_app.main import main\n"
        f"rc = main([{str(t.study)!r}, '--reader', 'r1', '--screenshot', {str(out)!r}])\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)\n"
    )
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    assert "NO-TORCH 0" in res.stdout
    assert out.stat().st_size > 10_000
    assert elapsed < 20  # generous here; tests/benchmarks measures the 3 s budget


def _break_manifest(study):
    data = json.loads((study / MANIFEST_NAME).read_text())
    data["pairs"][0]["cases"][1] = "K_NOPE"
    data["reading_modez"] = ["unaided"]
    del data["key_sha256"]
    (study / MANIFEST_NAME).write_text(json.dumps(data))


def test_invalid_package_lists_every_problem_without_traceback(tmp_path, capsys):
    t = make_study(tmp_path, n_pairs=2)
    _break_manifest(t.study)
    rc = main([str(t.study), "--reader", "r1", "--screenshot", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    for needle in ("missing field 'key_sha256'", "unknown case 'K_NOPE'", "Did you mean 'reading_modes'"):
        assert needle in err
    assert not (tmp_path / "x.png").exists()
    # The GUI shows the same list (see reader_app.ui.errors.describe).
    from studies.package import load_manifest

    with pytest.raises(InputFileError) as info:
        load_manifest(t.study)
    msg = describe(info.value, "Opening the study")
    assert "unknown case 'K_NOPE'" in msg.text and msg.title == "Problem with a study file"


def test_ai_mode_without_ai_outputs_is_refused_with_the_reason(tmp_path, capsys):
    t = make_study(tmp_path, n_pairs=2, with_ai=False)
    rc = main([str(t.study), "--reader", "r1", "--mode", "aided", "--screenshot", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "no AI outputs" in err and "unaided" in err


def test_unexpected_errors_keep_their_traceback_in_the_details():
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as exc:
        msg = describe(exc, "Drawing")
    assert msg.title == "Unexpected error" and "boom" in msg.text and "Traceback" in msg.details


def test_start_dialog_guides_until_study_and_reader_are_valid(tmp_path, qtbot):
    t = make_study(tmp_path, n_pairs=2, reading_modes=("unaided", "sequential"))
    assert "Choose the study folder" in check_start("", "r1")[0]
    assert "not a study folder" in check_start(str(tmp_path), "r1")[0]
    dialog = StartDialog()
    qtbot.addWidget(dialog)
    assert not dialog.start_button.isEnabled()
    dialog.study.setText(str(t.study))
    assert not dialog.start_button.isEnabled() and "reader id" in dialog.start_button.toolTip()
    assert [dialog.mode.itemText(i) for i in range(dialog.mode.count())] == ["Unaided", "Sequential"]
    assert dialog.mode_description.text() == "The AI is never shown."
    dialog.reader.setText("bad id!")
    assert not dialog.start_button.isEnabled()
    dialog.reader.setText("r7")
    assert dialog.start_button.isEnabled()
    c = dialog.choice()
    assert (c.study, c.reader_id, c.mode) == (t.study, "r7", "unaided")


def test_a_registered_mode_is_offered_by_its_label_and_description(tmp_path, qtbot):
    from studies.decisions.modes import Phase, ReadingMode, register, unregister

    second_look = ReadingMode("second_look", "Second look", "the AI is shown once the pair has been studied",
                              (Phase("final", False, "second_look", "second look"),))
    register(second_look)
    try:
        t = make_study(tmp_path, n_pairs=2, reading_modes=("unaided", "second_look", "aided"))
        dialog = StartDialog(str(t.study), "r1")
        qtbot.addWidget(dialog)
        items = [(dialog.mode.itemText(i), dialog.mode.itemData(i)) for i in range(dialog.mode.count())]
        assert items == [("Unaided", "unaided"), ("Second look", "second_look"), ("Aided", "aided")]
        dialog.mode.setCurrentIndex(1)
        assert dialog.mode_description.text() == "The AI is shown once the pair has been studied."
        assert dialog.mode.itemData(1, Qt.ItemDataRole.ToolTipRole) == second_look.description
        assert dialog.choice().mode == "second_look"
    finally:
        unregister("second_look")


def test_window_pixels_helper_reads_what_is_drawn(qtbot):
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    label.setStyleSheet("background-color: rgb(200, 30, 40);")
    label.resize(20, 10)
    qtbot.addWidget(label)
    rgb = pixels(label)
    assert rgb.shape == (10, 20, 3) and tuple(rgb[5, 10]) == (200, 30, 40)


def test_gui_start_dialog_then_polite_refusal_then_reading(tmp_path, qtbot, monkeypatch):
    """``knee-reader`` without arguments: the dialog, a locked reader refused with a message
    (no traceback), the dialog again, then the reading window on the first pair."""
    import reader_app.ui.app as app_module
    import reader_app.ui.errors as errors_module
    from reader_app.main import main as knee_reader
    from reader_app.ui.launch import open_reading
    from reader_app.ui.reading_window import ReadingWindow

    t = make_study(tmp_path, n_pairs=2)
    holder = open_reading(t.study, "busy", "unaided")  # another instance holds reader "busy"
    answers = iter([("busy", "unaided"), ("r2", "unaided")])
    shown_errors, shown_windows = [], []

    def fake_dialog_exec(dialog):
        reader, mode = next(answers)
        dialog.study.setText(str(t.study))
        dialog.reader.setText(reader)
        dialog.mode.setCurrentText(mode)
        assert dialog.start_button.isEnabled()
        return StartDialog.DialogCode.Accepted

    class FakeApp:
        def exec(self):
            from PySide6.QtWidgets import QApplication

            for w in QApplication.topLevelWidgets():
                if isinstance(w, ReadingWindow) and w.isVisible():
                    shown_windows.append(w.progress.text())
                    w.close()
            return 0

    monkeypatch.setattr(StartDialog, "exec", fake_dialog_exec)
    monkeypatch.setattr(errors_module, "show_error", lambda parent, msg: shown_errors.append(msg))
    monkeypatch.setattr(app_module, "create_app", lambda *a, **k: FakeApp())
    import sys as _sys

    hook = _sys.excepthook
    try:
        assert knee_reader([]) == 0
    finally:
        _sys.excepthook = hook
        holder.close()
    assert len(shown_errors) == 1 and shown_errors[0].title == "Decisions file in use"
    assert "Traceback" not in shown_errors[0].text + shown_errors[0].details
    assert shown_windows == ["Pair 1 / 2"]


def test_screenshot_records_nothing_in_the_study(tmp_path):
    t = make_study(tmp_path, n_pairs=2, with_ai=True)
    decisions = t.study / "decisions" / "r1.sqlite"
    assert main([str(t.study), "--reader", "r1", "--screenshot", str(tmp_path / "new.png")]) == 0
    assert not decisions.exists() and (tmp_path / "new.png").stat().st_size > 10_000
    # a reader with answers, reading right now (holding the file's lock): their file is untouched
    from reader_app.domain.session import ReadingSession

    session = ReadingSession.open(t.study, "r1", "unaided")
    session.choose("left")
    if session.confidence_range:
        session.set_confidence(session.confidence_range[0])
    session.confirm()

    def files():  # the -shm index is SQLite's shared memory, which any reader updates
        return {p.name: p.read_bytes() for p in decisions.parent.iterdir() if not p.name.endswith("-shm")}

    before = files()
    assert main([str(t.study), "--reader", "r1", "--screenshot", str(tmp_path / "busy.png")]) == 0
    assert files() == before
    session.close()
    with sqlite3.connect(decisions) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM audit ORDER BY id")]
    assert kinds == ["session_start", "decision", "session_stop"]  # the reader's own session only

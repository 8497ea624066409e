"""Caliper measurements: the domain (mm, voxels, refusals, per pair), the hanging
controller with mock views, the decisions file (audit, export, format 1 files), the window's pixels."""

from __future__ import annotations

import json
import sqlite3
from unittest.mock import MagicMock

import numpy as np
import pytest
from study_factory import make_study
from uihelpers import shown_slice_view

from reader_app.controllers.hanging import HangingController, ImageViewLike
from reader_app.domain.measure import MeasurementBook, MeasurementError, measure, voxel_of
from reader_app.domain.volumes import DisplayVolume, KneeImages, to_display
from reader_app.domain.windowing import Window
from studies.decisions import DecisionStore, export_decisions, read_decisions, verify_file
from studies.package import decisions_path

COR, SAG = "cor_iw_tse", "sag_3d_dess"


# -- domain -------------------------------------------------------------------------------
def test_length_uses_the_physical_spacing_of_non_square_pixels():
    # 10 rows of 0.5 mm, 20 columns of 0.25 mm: the view is 5 mm x 5 mm
    m = measure("left", COR, 3, (0.0, 0.0), (3.0, 4.0), (0.5, 0.25), (8, 10, 20))
    assert m.length_mm == pytest.approx(5.0) and m.label == "5.0 mm"
    assert m.p1_px == pytest.approx((8.0, 12.0))  # (row, col): 4 mm / 0.5, 3 mm / 0.25
    vertical = measure("left", COR, 3, (1.0, 0.0), (1.0, 5.0), (0.5, 0.25), (8, 10, 20))
    assert vertical.length_mm == pytest.approx(5.0)  # 10 rows of 0.5 mm, not 10 "pixels"


@pytest.mark.parametrize("seq", [COR, SAG])
def test_voxel_coordinates_point_back_into_the_ras_volume(seq):
    ras = np.zeros((6, 7, 8), np.int16)
    ijk = (4, 2, 5)
    ras[ijk] = 1000
    vol = to_display(ras, (0.5, 0.6, 0.7), seq)
    k, r, c = (int(i[0]) for i in np.nonzero(vol.data))
    centre = (c + 0.5, r + 0.5)  # (col, row) of the pixel centre in display pixels
    p = (centre[0] * vol.pixel_mm[1], centre[1] * vol.pixel_mm[0])
    m = measure("right", seq, k, p, p, vol.pixel_mm, vol.data.shape)
    assert m.p0_voxel == pytest.approx(ijk) and m.length_mm == 0.0
    assert voxel_of(seq, k, r + 0.5, c + 0.5, vol.data.shape) == pytest.approx(ijk)


@pytest.mark.parametrize("spacing", [(0.0, 0.5), (float("nan"), 0.5), (0.5, -1.0), (0.5, float("inf"))])
def test_a_volume_without_valid_spacing_is_refused_with_a_message(spacing):
    with pytest.raises(MeasurementError, match="no valid pixel spacing"):
        measure("left", COR, 0, (0.0, 0.0), (0.0, 0.0), spacing, (4, 4, 4))


def test_points_off_the_image_are_refused():
    with pytest.raises(MeasurementError, match="on the image"):
        measure("left", COR, 0, (0.0, 0.0), (3.0, 1.0), (0.5, 0.5), (4, 4, 4))  # 4 px * 0.5 = 2 mm wide


def test_book_keeps_measurements_per_pair_and_records_them_with_the_case():
    book = MeasurementBook()
    a = measure("left", COR, 1, (0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (4, 4, 4))
    b = measure("right", SAG, 2, (0.0, 0.0), (0.0, 1.5), (0.5, 0.5), (4, 4, 4))
    book.add("P1", a)
    book.add("P1", b)
    book.add("P2", a)
    assert book.of("P1", "right") == [b] and len(book.of("P2")) == 1
    recs = book.records("P1", {"left": "c-left", "right": "c-right"})
    assert [(r["case"], r["sequence"], r["slice"], r["length_mm"]) for r in recs] == [
        ("c-left", COR, 1, 1.0), ("c-right", SAG, 2, 1.5)]
    assert book.remove_last("P1") == b and book.of("P1") == [a]
    book.clear("P1")
    assert book.of("P1") == [] and book.of("P2") == [a]


# -- hanging controller, mock views ---------------------------------------------------------
def _knee(spacing=(0.5, 0.5)):
    vols = {s: DisplayVolume(np.zeros((9, 8, 8), np.int16), spacing, 1.0) for s in (COR, SAG)}
    return KneeImages("x", vols, {}, {s: Window(500, 400) for s in (COR, SAG)}, {}, {})


def test_hanging_controller_measures_draws_on_its_slice_lists_and_removes():
    views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in (COR, SAG)}
    h = HangingController(views)
    lists = []
    h.on_measurements_changed = lists.append
    kept = []
    h.load({"left": _knee(), "right": _knee()}, heatmaps=False, measurements=kept)
    m = h.measure(("right", SAG), (0.5, 0.5), (0.5, 3.5))
    assert m.length_mm == pytest.approx(3.0) and kept == [m]  # the pair's list: kept by the caller
    views[("right", SAG)].show_measurements.assert_called_with([((0.5, 0.5), (0.5, 3.5), "3.0 mm")])
    assert lists[-1]["right"] == ["3.0 mm · SAG 3D DESS, slice 5"] and lists[-1]["left"] == []
    h.scroll(("right", SAG), 1)  # another slice: the line is not drawn there
    views[("right", SAG)].show_measurements.assert_called_with([])
    assert h.remove_measurement(("right", SAG)) == m and kept == [] and lists[-1]["right"] == []
    h.set_inverted(True)
    for v in views.values():
        v.set_inverted.assert_called_with(True)


def test_hanging_controller_refuses_a_volume_without_spacing():
    views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in (COR, SAG)}
    h = HangingController(views)
    h.load({"left": _knee((0.0, 0.0)), "right": _knee()}, heatmaps=False)
    with pytest.raises(MeasurementError):
        h.measure(("left", COR), (0.0, 0.0), (0.0, 0.0))
    assert h.measurements == []


# -- decisions file -------------------------------------------------------------------------
def test_measurements_are_recorded_with_the_decision_exported_and_verified(tmp_path):
    from reader_app.domain.session import ReadingSession

    s = make_study(tmp_path, n_pairs=2, with_images=False)
    session = ReadingSession.open(s.study, "r1", "unaided", write_behind=True)
    st = session.current
    rec = measure("left", COR, 4, (1.0, 1.0), (1.0, 4.5), (0.5, 0.5), (9, 20, 20)).record(st.left.case_id)
    session.choose("left")
    session.confirm([rec])
    session.settle()
    assert session.last_saved.measurements == (rec,)
    session.choose("right")
    session.confirm()
    session.close()
    path = decisions_path(s.study, "r1")
    assert verify_file(path).ok
    payloads = [json.loads(p) for (p,) in sqlite3.connect(path).execute(
        "SELECT payload_json FROM audit WHERE kind='decision' ORDER BY id")]
    assert payloads[0]["measurements"] == [rec] and "measurements" not in payloads[1]
    df = read_decisions(path)
    assert list(df["n_measurements"]) == [1, 0]
    out = export_decisions([path], tmp_path / "export.csv")
    first = out.set_index("pair_id").loc[st.pair_id]
    assert json.loads(first["measurements"])[0]["length_mm"] == 3.5 and first["n_measurements"] == 1


def test_a_measurement_naming_another_case_is_refused(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False)
    store = DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest)
    p = store.order[0]
    with pytest.raises(ValueError, match="not one of its knees"):
        store.commit_decision(p.pair_id, p.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0,
                              measurements=[{"case": "someone-else", "length_mm": 1.0}])
    store.close()


def test_format_1_files_stay_readable_and_verifiable_and_take_measurements(tmp_path, monkeypatch):
    """Migration: a file written before measurements existed (format 1) opens, resumes and
    verifies; answers recorded now may carry measurements; its header stays format 1."""
    import studies.decisions.store as store_mod

    s = make_study(tmp_path, n_pairs=2, with_images=False)
    path = decisions_path(s.study, "r1")
    monkeypatch.setattr(store_mod, "FORMAT_VERSION", 1)
    old = DecisionStore.open(path, "r1", s.manifest)
    p0, p1 = old.order[0], old.order[1]
    old.commit_decision(p0.pair_id, p0.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
    old.close()
    monkeypatch.undo()
    assert store_mod.FORMAT_VERSION == 2
    new = DecisionStore.open(path, "r1", s.manifest)
    assert new.meta["format_version"] == "1" and new.answer(p0.pair_id).measurements == ()
    rec = {"case": p1.right_case, "sequence": SAG, "slice": 3, "length_mm": 2.5}
    new.commit_decision(p1.pair_id, p1.right_case, started_at=0.0, decided_at=1.0, active_seconds=1.0,
                        measurements=[rec])
    new.close()
    assert verify_file(path).ok
    df = read_decisions(path)
    assert list(df["n_measurements"]) == [0, 1]


# -- widget pixels --------------------------------------------------------------------------
def test_caliper_line_and_inversion_in_the_view_pixels(qapp, qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    from reader_app.ui.slice_view import MEASURE_COLOR

    view = shown_slice_view(qtbot, COR, "A · COR")
    data = np.full((3, 100, 100), 100, np.int16)
    view.set_volume(data, (0.5, 0.5))  # 50 mm x 50 mm
    view.show_slice(1, (0.0, 1000.0))
    qtbot.wait(20)

    def pixel_at_mm(x, y):
        img = view.graphics.viewport().grab().toImage()
        pt = view.viewbox.mapViewToScene(QPointF(x, y))
        pos = view.graphics.mapFromScene(pt)
        return QColor(img.pixel(pos.x(), pos.y()))

    dark = pixel_at_mm(10, 40)
    assert dark.value() < 60  # 100 of 0..1000: dark grey
    view.set_inverted(True)
    qtbot.wait(20)
    assert pixel_at_mm(10, 40).value() > 200
    view.set_inverted(False)
    view.show_measurements([((5.0, 25.0), (45.0, 25.0), "40.0 mm")])
    qtbot.wait(20)
    c = pixel_at_mm(25, 25)
    target = QColor(MEASURE_COLOR)
    assert abs(c.red() - target.red()) < 40 and abs(c.green() - target.green()) < 40 and abs(c.blue() - target.blue()) < 40
    assert pixel_at_mm(25, 40).value() < 60  # away from the line: the image
    view.close()


def test_window_keys_invert_measure_and_a_measurement_goes_with_the_answer(tmp_path, qapp, qtbot):
    from PySide6.QtCore import Qt
    from uihelpers import reading_window

    t = make_study(tmp_path, n_pairs=2)
    with reading_window(qtbot, t.study) as screen:
        w = screen.window
        qtbot.keyClick(w, Qt.Key.Key_I)
        assert w.invert_button.isChecked() and all(v.image.inverted for v in w.views.values())
        qtbot.keyClick(w, Qt.Key.Key_M)
        assert all(v.measuring for v in w.views.values())
        view = w.views[("left", COR)]
        ext = view.extent
        view.measured.emit(ext.width * 0.2, ext.height * 0.5, ext.width * 0.8, ext.height * 0.5)
        assert "mm" in w.panels["left"].measure_list.text() and w.panels["right"].measure_list.text() == " "
        shown = []
        w.show_error = shown.append  # instead of a modal box
        view.measured.emit(-5.0, -5.0, 1.0, 1.0)  # off the image: refused with a message, nothing kept
        assert len(screen.hanging.measurements) == 1 and "on the image" in shown[0].text
        pid = screen.session.current.pair_id
        qtbot.keyClick(w, Qt.Key.Key_F)
        qtbot.keyClick(w, Qt.Key.Key_Return)
        screen.session.settle()
        rec = screen.store.answer(pid).measurements
        assert len(rec) == 1 and rec[0]["length_mm"] == pytest.approx(ext.width * 0.6, abs=1e-3)
        assert w.panels["left"].measure_list.text() == " "  # the next pair has none yet


def test_measurement_payloads_are_checked_against_the_declared_schema():
    """A caliper measurement in a decisions file is validated like the rest of the payload:
    a sound one passes, a forged length or a non-finite point is a problem."""
    from studies.decisions.audit import payload_problem

    base = {"pair_id": "P001", "phase": "first", "case_left": "KAAAAAA", "case_right": "KBBBBBB",
            "chosen_case": "KAAAAAA", "mode": "unaided", "ai_shown": False, "practice": False,
            "started_at": "2026-01-01T10:00:00Z", "decided_at": "2026-01-01T10:00:09Z", "active_seconds": 9.0}
    good = {"case": "KAAAAAA", "sequence": "dess_cor", "slice": 3, "p0_mm": [0.0, 1.0], "p1_mm": [0.0, 4.5],
            "length_mm": 3.5}
    assert payload_problem("decision", {**base, "measurements": [good]}) is None
    assert payload_problem("decision", {**base, "measurements": [{**good, "length_mm": 1e9}]}) is not None
    assert payload_problem("decision", {**base, "measurements": [{**good, "slice": "3"}]}) is not None
    assert payload_problem("decision", {**base, "measurements": "3.5 mm"}) is not None

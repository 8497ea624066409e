"""Cross-reference lines: geometry in the domain, the hanging controller with mock
views (lines follow the slices, Shift+click moves the other sequence, linked to the other
knee), and the line's pixels in a view."""

from __future__ import annotations

from unittest.mock import MagicMock

import numpy as np
import pytest
from uihelpers import shown_slice_view

from reader_app.controllers.hanging import HangingController, ImageViewLike
from reader_app.domain.crossref import cross_line, display_to_world, slice_through
from reader_app.domain.volumes import KneeImages, to_display
from reader_app.domain.windowing import Window
from reader_app.ui.slice_view import REFERENCE_COLOR

COR, SAG = "cor_iw_tse", "sag_3d_dess"


def _vol(seq, shape, zooms, affine=None):
    return to_display(np.zeros(shape, np.int16), zooms, seq, affine if affine is not None else np.diag([*zooms, 1.0]))


COR_VOL = _vol(COR, (40, 12, 40), (0.5, 3.0, 0.5))  # x, y, z: 20 x 36 x 20 mm
SAG_VOL = _vol(SAG, (20, 50, 30), (1.0, 0.72, 0.7))  # 20 x 36 x 21 mm


def test_the_coronal_slice_is_a_vertical_line_on_the_sagittal_view_at_its_y():
    k = 7  # coronal slice: world y = 7 * 3 mm = 21 mm
    line = cross_line(SAG_VOL, SAG, 10, COR_VOL, COR, k)
    (x0, y0), (x1, y1) = line
    # sagittal columns run +y -> -y: column c has world y = (50 - 0.5 - c) * 0.72
    col = 50 - 0.5 - 21.0 / 0.72
    assert x0 == pytest.approx(col * 0.72) and x1 == pytest.approx(col * 0.72)
    assert sorted([y0, y1]) == pytest.approx([0.0, 30 * 0.7])  # top to bottom of the image
    world = display_to_world(SAG_VOL, SAG, 10, 5.0, col)
    assert world[1] == pytest.approx(21.0) and slice_through(COR_VOL, COR, world) == k


def test_parallel_planes_and_planes_outside_the_image_give_no_line():
    assert cross_line(COR_VOL, COR, 3, COR_VOL, COR, 5) is None
    far = _vol(COR, (40, 12, 40), (0.5, 3.0, 0.5), np.array(
        [[0.5, 0, 0, 0], [0, 3.0, 0, 500.0], [0, 0, 0.5, 0], [0, 0, 0, 1]]))
    assert cross_line(SAG_VOL, SAG, 10, far, COR, 5) is None


def test_oblique_geometry_the_line_lies_in_both_slices():
    angle = np.deg2rad(12)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([1.0, 0.72, 0.7])
    aff[:3, 3] = [-3.0, 2.0, 0.0]
    sag = _vol(SAG, (20, 50, 30), (1.0, 0.72, 0.7), aff)
    line = cross_line(sag, SAG, 9, COR_VOL, COR, 6)
    assert line is not None
    normal = COR_VOL.affine[:3, 1]
    plane_point = display_to_world(COR_VOL, COR, 6, 0.0, 0.0)
    for x, y in line:
        p = display_to_world(sag, SAG, 9, y / sag.pixel_mm[0], x / sag.pixel_mm[1])
        assert float(normal @ (p - plane_point)) == pytest.approx(0.0, abs=1e-6)


def _knee():
    return KneeImages("x", {COR: COR_VOL, SAG: SAG_VOL}, {}, {COR: Window(1, 2), SAG: Window(1, 2)}, {}, {})


def test_hanging_controller_lines_follow_slices_and_shift_click_moves_the_other_sequence():
    views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in (COR, SAG)}
    h = HangingController(views)
    h.load({"left": _knee(), "right": _knee()}, heatmaps=False)
    sag_line = views[("left", SAG)].show_reference_line.call_args.args[0]
    assert sag_line is not None and sag_line[0][0] == pytest.approx(sag_line[1][0])  # vertical
    h.scroll(("left", COR), 2)  # the coronal slice moves: the line on the sagittal view moves
    moved = views[("left", SAG)].show_reference_line.call_args.args[0]
    assert moved[0][0] < sag_line[0][0]  # +y is anterior, on the left of the sagittal view
    # Shift+click on the sagittal view: coronal slice through that point, knee B's coronal linked
    x = SAG_VOL.pixel_mm[1] * (50 - 0.5 - 9.0 / 0.72)  # world y = 9 mm -> coronal slice 3
    h.locate(("left", SAG), x, 5.0)
    assert h.slices[("left", COR)] == 3 and h.slices[("right", COR)] == 3
    h.set_cross_reference(False)
    for v in views.values():
        v.show_reference_line.assert_called_with(None)


def test_reference_line_pixels(qapp, qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    view = shown_slice_view(qtbot, SAG, "A · SAG", size=(300, 300))
    view.set_volume(np.zeros((3, 100, 100), np.int16), (0.5, 0.5))
    view.show_slice(1, (0.0, 100.0))
    view.show_reference_line(((20.0, 0.0), (20.0, 50.0)))
    qtbot.wait(20)
    img = view.graphics.viewport().grab().toImage()

    def at(x, y):
        pos = view.graphics.mapFromScene(view.viewbox.mapViewToScene(QPointF(x, y)))
        return QColor(img.pixel(pos.x(), pos.y()))

    on_line = [at(20.0, y).name() for y in np.arange(5.0, 45.0, 0.25)]  # a dashed line
    assert on_line.count(QColor(REFERENCE_COLOR).name()) > len(on_line) // 4
    assert at(35.0, 25.0).value() < 30
    view.close()

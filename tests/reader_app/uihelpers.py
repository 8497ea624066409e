"""Helpers for the reader app's widget tests: open a tiny study, read pixels of a widget."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from PySide6.QtGui import QImage


def qimage_rgb(img: QImage) -> np.ndarray:
    """A QImage as a uint8 array (height, width, 3) RGB (a copy: Qt owns the buffer)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def shown_slice_view(qtbot, sequence: str, title: str, size=(400, 400)):
    """A lone :class:`reader_app.ui.slice_view.SliceView` of ``sequence``, shown at ``size``
    (closed with the test by ``qtbot``)."""
    from reader_app.ui.slice_view import SliceView

    view = SliceView(sequence, title)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def image_item_pixels(view) -> np.ndarray:
    """The uint32 RGB32 pixels a slice view's image item hands Qt (rendered first if a paint
    would render it), read back from its QImage: (height, width)."""
    item = view.image
    if item._renderRequired:
        item.render()
    q = item.qimage
    assert q.format() == QImage.Format.Format_RGB32
    return np.array(q.constBits(), copy=True).view(np.uint32).reshape(q.height(), q.width())


def pixels(widget) -> np.ndarray:
    """The widget as drawn now: uint8 array (height, width, 3) RGB."""
    return qimage_rgb(widget.grab().toImage())


def image_area_pixels(view) -> np.ndarray:
    """A slice view's image area as drawn now (height, width, 3) RGB, with the texts it draws
    over the image (title, slice number, orientation letters) blacked out."""
    viewport = view.graphics.viewport()
    rgb = pixels(viewport)
    for r in view.texts.rects(viewport.width(), viewport.height()).values():
        rgb[max(r.top(), 0):r.bottom() + 1, max(r.left(), 0):r.right() + 1] = 0
    return rgb


#: The cross-reference lines' colour (drawn unblended, without antialiasing): not a heatmap.
REFERENCE_RGB = (0xE8, 0xC5, 0x47)


def coloured(rgb: np.ndarray, spread: int = 60) -> int:
    """How many pixels are clearly coloured (not grey): max - min channel > ``spread``;
    the cross-reference lines' own colour does not count."""
    c = rgb[..., :3].astype(np.int16)
    line = (np.abs(c - np.array(REFERENCE_RGB, np.int16)) <= 8).all(axis=2)
    return int((((c.max(axis=2) - c.min(axis=2)) > spread) & ~line).sum())


def show(qtbot, screen, size=(1400, 900)):
    """Show a reading screen's window and let layouts and pyqtgraph settle."""
    w = screen.window
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.wait(20)
    return w


@contextmanager
def reading_window(qtbot, study, reader="r1", mode="unaided"):
    """A reading screen on ``study``, shown (see :func:`show`); its window closed afterwards."""
    from reader_app.ui.launch import open_reading

    screen = open_reading(study, reader, mode)
    try:
        show(qtbot, screen)
        yield screen
    finally:
        screen.window.close()

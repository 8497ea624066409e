"""One image view: a slice of one sequence of one knee, with overlay, letters and slice number.

A thin view: it draws what it is given and reports what the reader does (wheel, right-drag,
pan/zoom, click) through signals; the hanging controller decides what happens.

Mouse: wheel scrolls slices; Ctrl+wheel zooms; left-drag pans (measures, in measure mode);
right-drag changes window/level; double-click resets the view. The image is placed in millimetres so
non-square pixels keep their true aspect.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsLineItem, QLabel, QVBoxLayout, QWidget

from reader_app.domain.linking import Rect
from reader_app.domain.volumes import orientation_letters
from reader_app.ui.app import VIEW_BACKGROUND
from reader_app.ui.view_texts import ViewTexts
from reader_app.ui.windowed_image import WindowedImage

#: Colour of cross-reference lines (where the other sequence's slice cuts this one).
REFERENCE_COLOR = "#e8c547"
#: Colour of caliper lines and their lengths.
MEASURE_COLOR = "#4fd1c5"
#: Heatmap values below this fraction of the maximum are fully transparent.
HEAT_THRESHOLD = 0.2


@functools.lru_cache(maxsize=16)
def heat_lut(cmap: str) -> np.ndarray:
    """(256, 4) uint8 RGBA lookup table for heatmaps: ``cmap`` colours, alpha rising with value.

    Cached and read-only (it is rebuilt on every pair otherwise)."""
    rgb = pg.colormap.get(cmap).getLookupTable(0.0, 1.0, 256, alpha=False)
    v = np.linspace(0.0, 1.0, 256)
    alpha = np.clip((v - HEAT_THRESHOLD) / (0.6 - HEAT_THRESHOLD), 0.0, 1.0) * 255
    lut = np.column_stack([rgb[:, :3], alpha]).astype(np.uint8)
    lut.flags.writeable = False
    return lut


class _SliceViewBox(pg.ViewBox):
    """ViewBox whose wheel scrolls slices, right-drag windows, left-drag pans."""

    def __init__(self, owner: SliceView) -> None:
        super().__init__(invertY=True, lockAspect=True, enableMenu=False, defaultPadding=0.0)
        self._owner = owner

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            self._owner.activated.emit()
            return
        delta = ev.delta()
        if delta:
            self._owner.scrolled.emit(-1 if delta > 0 else 1)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            d = ev.screenPos() - ev.lastScreenPos()
            self._owner.windowDragged.emit(float(d.x()), float(d.y()))
            return
        if ev.button() == Qt.MouseButton.LeftButton and self._owner.measuring:
            ev.accept()
            p0 = self.mapSceneToView(ev.buttonDownScenePos())
            p1 = self.mapSceneToView(ev.scenePos())
            if ev.isFinish():
                self._owner.preview.hide()
                self._owner.measured.emit(float(p0.x()), float(p0.y()), float(p1.x()), float(p1.y()))
            else:
                self._owner.preview.setData([p0.x(), p1.x()], [p0.y(), p1.y()])
                self._owner.preview.show()
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            p = self.mapSceneToView(ev.scenePos())
            self._owner.located.emit(float(p.x()), float(p.y()))
        self._owner.activated.emit()
        if ev.double():
            self._owner.resetRequested.emit()
        ev.accept()


class _ImageGraphics(pg.GraphicsView):
    """The view's graphics: the image and its items, then the view's texts over them, in one
    paint of the viewport (:class:`ViewTexts`)."""

    def __init__(self, texts: ViewTexts) -> None:
        super().__init__(background=VIEW_BACKGROUND)
        self.texts = texts

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802 (Qt naming)
        painter.save()
        painter.resetTransform()  # viewport pixels, not the image's millimetres
        viewport = self.viewport()
        self.texts.paint(painter, viewport.width(), viewport.height())
        painter.restore()


class SliceView(QWidget):
    """Draws ``image[k]`` of a display volume with window levels, an optional heatmap overlay,
    orientation letters at the edges and "slice k / n" in a corner.

    Signals: ``scrolled(int steps)``, ``windowDragged(dx, dy)`` in screen pixels,
    ``rectChanged()`` after the reader pans or zooms, ``activated()`` on click or zoom,
    ``resetRequested()`` on double-click, ``measured(x0, y0, x1, y1)`` in mm after a left-drag
    in measure mode (:attr:`measuring`), ``located(x, y)`` in mm on Shift+click.
    """

    scrolled = Signal(int)
    windowDragged = Signal(float, float)
    rectChanged = Signal()
    activated = Signal()
    resetRequested = Signal()
    measured = Signal(float, float, float, float)
    located = Signal(float, float)

    def __init__(self, sequence: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sequence = sequence
        self.setObjectName("sliceView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # draws the active frame
        self.setProperty("active", "false")
        self.setMinimumSize(160, 160)
        self.ensurePolished()  # the style sheet's font, which the texts are drawn in
        #: Title, slice number and orientation letters, drawn by the viewport over the image.
        self.texts = ViewTexts(title, orientation_letters(sequence), self.font())
        self.graphics = _ImageGraphics(self.texts)
        # the view fills its whole viewport itself: Qt need not paint the panels beneath it
        # first (on a pair switch, the window, its pages and both knee panels)
        self.graphics.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.viewbox = _SliceViewBox(self)
        self.graphics.setCentralItem(self.viewbox)
        self.image = WindowedImage()  # windows int16 slices straight into RGB32 (fast to draw)
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(10)
        self.viewbox.addItem(self.image)
        self.viewbox.addItem(self.overlay)
        #: Left-drag measures instead of panning.
        self.measuring = False
        self.preview = pg.PlotDataItem(pen=pg.mkPen(MEASURE_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self.preview.setZValue(30)
        self.preview.hide()
        self.viewbox.addItem(self.preview, ignoreBounds=True)
        self._lines: list = []
        self._shown_lines: list = []
        # a plain Qt line: moved on every scroll of the other sequence, and pyqtgraph's data
        # items recompute bounds and emit signals on every change
        self.reference = QGraphicsLineItem()
        self.reference.setPen(pg.mkPen(REFERENCE_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self.reference.setZValue(20)
        self.reference.hide()
        self.viewbox.addItem(self.reference, ignoreBounds=True)
        self._reference_line = None
        self.viewbox.sigRangeChangedManually.connect(lambda *_: self.rectChanged.emit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.graphics)

        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.hide()
        self._extent = Rect(0, 0, 1, 1)
        self._rect = QRectF(0, 0, 1, 1)
        self._placed: tuple | None = None  # (rows, cols), rect in mm of the image last placed
        self._fitted: QRectF | None = None  # the view's range right after fitting the image
        self._volume: np.ndarray | None = None
        self._heat: np.ndarray | None = None
        self._lut = heat_lut("inferno")
        self._overlay_on = True
        self._problem: str | None = None  # the placeholder's text while it is shown
        self._active = False  # framed as the view the keys act on

    # -- content ------------------------------------------------------------------------
    def set_volume(self, data: np.ndarray | None, pixel_mm: tuple[float, float] = (1.0, 1.0), problem: str = "") -> None:
        """Show ``data`` (n_slices, rows, cols) with pixels of ``pixel_mm`` (row, col) in mm,
        or, when ``data`` is None, a placeholder saying ``problem``. The image appears with
        the next :meth:`show_slice` (the view is fitted to it now)."""
        if data is None and self._volume is None and self._problem == (problem or "No image"):
            return  # the same placeholder (a hidden view without its image, pair after pair)
        self._volume = data
        self._heat = None
        self.image.keep_prepared_within(data)
        if self.overlay.image is not None:  # clearing an empty item still costs a bounds update
            self.overlay.clear()
        self.overlay.hide()
        if data is None:
            self._placed = None
            self.image.clear()
            self.image.hide()
            self._problem = problem or "No image"
            self.placeholder.setText(self._problem)
            self.placeholder.show()
            self._set_slice_text("")
            self._show_letters(False)
            self._place_placeholder()
            return
        self._problem = None
        if self.placeholder.isVisibleTo(self):
            self.placeholder.hide()
        if not self.image.isVisible():
            self.image.show()
        self._show_letters(True)
        h = data.shape[1] * pixel_mm[0]
        w = data.shape[2] * pixel_mm[1]
        self._extent = Rect(0.0, 0.0, w, h)
        rect = QRectF(0.0, 0.0, w, h)
        placed = (data.shape[1:], rect.getRect())
        if placed != self._placed:  # the image's transform depends on its pixels and its mm
            # pyqtgraph places an image's rect only once it has pixels of that shape
            self.image.setImage(data[data.shape[0] // 2], autoLevels=False, levels=(0, 1))
            self.image.setRect(rect)
            self._placed = placed
        # a new pair shows the whole image (unless the view still shows it, as fitted last)
        if rect != self._rect or self._fitted is None or self.viewbox.viewRect() != self._fitted:
            self.viewbox.setRange(rect, padding=0.0)
            self._fitted = self.viewbox.viewRect()
        self._rect = rect

    def set_active(self, active: bool) -> None:
        """Frame the view the keys act on."""
        if active != self._active:
            self._active = active
            self.setProperty("active", "true" if active else "false")
            self.style().unpolish(self)
            self.style().polish(self)

    @property
    def has_image(self) -> bool:
        return self._volume is not None

    @property
    def extent(self) -> Rect:
        """The image's rectangle in mm (x, y, width, height)."""
        return self._extent

    def set_heatmap(self, heat: np.ndarray | None) -> None:
        """Heatmap volume (n_slices, rows, cols) uint8 on this image's grid, or None."""
        self._heat = heat if self._volume is not None else None
        if self._heat is None:
            if self.overlay.image is not None:  # clearing an empty item still costs a bounds update
                self.overlay.clear()
            self.overlay.hide()

    def set_overlay_style(self, visible: bool, opacity: float, cmap: str) -> None:
        """Overlay on/off, opacity in [0, 1] and colour map name (pyqtgraph's)."""
        lut = heat_lut(cmap)
        if lut is not self._lut or float(opacity) != self.overlay.opacity():
            self.overlay.setOpacity(float(opacity))
            self.overlay.setLookupTable(lut)
        self._overlay_on = visible
        self._lut = lut
        self.overlay.setVisible(visible and self._heat is not None)

    def show_slice(self, index: int, levels: tuple[float, float]) -> None:
        """Draw slice ``index`` with ``levels`` (black, white) and its heatmap slice if any."""
        if self._volume is None:
            return
        n = self._volume.shape[0]
        self.image.setImage(self._volume[index], autoLevels=False, levels=levels)
        if self._heat is not None:
            placed = self.overlay.image is not None
            self.overlay.setImage(self._heat[index], autoLevels=False, levels=(0, 255), lut=self._lut)
            if not placed:  # pyqtgraph places an image's rect only once it has pixels
                self.overlay.setRect(self._rect)
            self.overlay.setVisible(self._overlay_on)
        self._set_slice_text(f"Slice {index + 1} / {n}")

    @property
    def slice_text(self) -> str:
        """The slice number drawn in the corner ("Slice k / n"; "" without an image)."""
        return self.texts.slice_text

    def _set_slice_text(self, text: str) -> None:
        viewport = self.graphics.viewport()
        dirty = self.texts.set_slice_text(text, viewport.width(), viewport.height())
        if dirty is not None:  # the image around it may be unchanged (a letterboxed view)
            viewport.update(dirty)

    def _show_letters(self, shown: bool) -> None:
        if shown != self.texts.letters_shown:
            self.texts.letters_shown = shown
            self.graphics.viewport().update()

    def prepare_slice(self, data: np.ndarray, index: int, levels: tuple[float, float]) -> None:
        """Window slice ``index`` of a volume (n_slices, rows, cols) to be shown later with
        ``levels``, now (idle time): the :meth:`show_slice` that shows it then draws at once."""
        self.image.prepare(data[index], levels)

    def set_inverted(self, inverted: bool) -> None:
        """Draw the image inverted (black and white swapped)."""
        self.image.set_inverted(inverted)

    def show_reference_line(self, line: tuple[tuple[float, float], tuple[float, float]] | None) -> None:
        """Where the other sequence's slice cuts this one: ((x0, y0), (x1, y1)) in mm, or None."""
        if line == self._reference_line:
            return
        self._reference_line = line
        if line is None:
            self.reference.hide()
            return
        (x0, y0), (x1, y1) = line
        self.reference.setLine(float(x0), float(y0), float(x1), float(y1))
        self.reference.show()

    def show_measurements(self, lines: list[tuple[tuple[float, float], tuple[float, float], str]]) -> None:
        """Caliper lines on this slice: ((x0, y0), (x1, y1)) in mm and the text drawn by each."""
        if lines == self._shown_lines:
            return
        self._shown_lines = list(lines)
        for item in self._lines:
            self.viewbox.removeItem(item)
        self._lines = []
        pen = pg.mkPen(MEASURE_COLOR, width=2)
        for (x0, y0), (x1, y1), text in lines:
            line = pg.PlotDataItem([x0, x1], [y0, y1], pen=pen, symbol="o", symbolSize=5,
                                   symbolBrush=MEASURE_COLOR, symbolPen=None)
            label = pg.TextItem(text, color=MEASURE_COLOR, fill=pg.mkBrush(0, 0, 0, 160), anchor=(0, 1))
            label.setPos(max(x0, x1), min(y0, y1))
            for item in (line, label):
                item.setZValue(30)
                self.viewbox.addItem(item, ignoreBounds=True)
                self._lines.append(item)

    def set_levels(self, levels: tuple[float, float]) -> None:
        """Change window levels without changing the slice."""
        if self._volume is not None:
            self.image.setLevels(levels)

    # -- zoom / pan -----------------------------------------------------------------------
    def view_rect(self) -> Rect:
        r = self.viewbox.viewRect()
        return Rect(r.x(), r.y(), r.width(), r.height())

    def set_view_rect(self, rect: Rect) -> None:
        self.viewbox.setRange(QRectF(rect.x, rect.y, rect.width, rect.height), padding=0.0)

    def reset_view(self) -> None:
        """Fit the whole image."""
        e = self._extent
        self.viewbox.setRange(QRectF(e.x, e.y, e.width, e.height), padding=0.0)

    def zoom(self, factor: float) -> None:
        """Zoom about the centre (factor > 1 magnifies)."""
        self.viewbox.scaleBy((1.0 / factor, 1.0 / factor))

    # -- the placeholder's place ----------------------------------------------------------
    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        self._place_placeholder()

    def _place_placeholder(self) -> None:
        w, h = self.width(), self.height()
        pw = min(int(w * 0.8), 420)
        self.placeholder.setFixedWidth(pw)
        self.placeholder.adjustSize()
        self.placeholder.move((w - pw) // 2, (h - self.placeholder.height()) // 2)

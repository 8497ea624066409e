"""An image item that windows a slice straight into 32-bit RGB pixels.

pyqtgraph's :class:`~pyqtgraph.ImageItem` turns a 16-bit slice with levels into ARGB32 through
float arithmetic, and Qt's raster engine then converts that format again on every scaled
draw. :class:`WindowedImage` instead looks every pixel up in a cached table
(:func:`reader_app.domain.windowing.window_rgb32`) and hands Qt ``Format_RGB32``, which it
draws without converting. It also draws the image inverted (white bone, black fluid) when asked.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6.QtGui import QImage

from reader_app.domain.windowing import window_rgb32


class WindowedImage(pg.ImageItem):
    """A grey image item for 2D slices with window ``levels`` (black, white); ``inverted``."""

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self.inverted = False
        self._pixels: np.ndarray | None = None  # keeps the QImage's buffer alive

    def set_inverted(self, inverted: bool) -> None:
        if bool(inverted) != self.inverted:
            self.inverted = bool(inverted)
            self._renderRequired = True
            self.update()

    def render(self) -> None:
        image, levels = self.image, self.levels
        if image is None or image.ndim != 2 or image.size == 0 or levels is None or np.ndim(levels) != 1:
            super().render()
            return
        if self._pixels is None or self._pixels.shape != image.shape:
            self._pixels = np.empty(image.shape, dtype=np.uint32)
        # into the same buffer every time: a new 0.6 MB array per slice costs the kernel
        # fresh zeroed pages, more than the look-up itself
        window_rgb32(image, (float(levels[0]), float(levels[1])), inverted=self.inverted, out=self._pixels)
        self.qimage = fn.ndarray_to_qimage(self._pixels, QImage.Format.Format_RGB32)
        self._renderRequired = False
        self._unrenderable = False

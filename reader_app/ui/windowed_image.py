"""An image item that windows a slice straight into 32-bit RGB pixels.

pyqtgraph's :class:`~pyqtgraph.ImageItem` turns a 16-bit slice with levels into ARGB32 through
float arithmetic, and Qt's raster engine then converts that format again on every scaled
draw. :class:`WindowedImage` instead looks every pixel up in a cached table
(:func:`reader_app.domain.windowing.window_rgb32`) and hands Qt ``Format_RGB32``, which it
draws without converting. It also draws the image inverted (white bone, black fluid) when asked.

:meth:`WindowedImage.prepare` windows a slice ahead of time (while the reader reads the pair
before): a later :meth:`~pyqtgraph.ImageItem.setImage` of that same slice with the same levels
then draws at once, without windowing on the way to the screen.
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
        #: A slice windowed ahead (:meth:`prepare`): its key and its pixels.
        self._ready_key: tuple | None = None
        self._ready: np.ndarray | None = None
        self._ready_source: np.ndarray | None = None  # held: its memory cannot be reused meanwhile
        #: The QImage over each of the two buffers (made once per buffer: the buffer is
        #: windowed into in place, and the QImage reads it where it lies).
        self._qimages: dict[int, QImage] = {}

    def set_inverted(self, inverted: bool) -> None:
        if bool(inverted) != self.inverted:
            self.inverted = bool(inverted)
            self._renderRequired = True
            self.update()

    def _key(self, image: np.ndarray, levels) -> tuple:
        """What a windowed slice depends on: the pixels' memory, layout and type, the levels, inversion."""
        return (image.__array_interface__["data"][0], image.shape, image.strides, image.dtype.str,
                float(levels[0]), float(levels[1]), self.inverted)

    def prepare(self, image: np.ndarray, levels: tuple[float, float]) -> None:
        """Window the 2D ``image`` with ``levels`` (black, white) now, into a spare buffer, so
        that showing that same slice (the same array memory) with the same levels later costs
        no windowing. One slice is kept ready; another call replaces it."""
        if image.ndim != 2 or image.size == 0:
            return
        key = self._key(image, levels)
        if key == self._ready_key:
            return
        self._ready = self._window_into(self._ready, image, levels)
        self._ready_key, self._ready_source = key, image

    def _window_into(self, buffer: np.ndarray | None, image: np.ndarray, levels) -> np.ndarray:
        """``image`` windowed into RGB32 in ``buffer`` (a new one when it has another shape).
        The same buffer every time: a new 0.6 MB array per slice costs the kernel fresh
        zeroed pages, more than the look-up itself."""
        if buffer is None or buffer.shape != image.shape:
            buffer = np.empty(image.shape, dtype=np.uint32)
        window_rgb32(image, (float(levels[0]), float(levels[1])), inverted=self.inverted, out=buffer)
        return buffer

    def keep_prepared_within(self, volume: np.ndarray | None) -> None:
        """Forget a slice windowed ahead unless it lies in ``volume``'s memory (a new volume
        shown instead of the readied one: its pixels, and the volume it held, are let go)."""
        if self._ready_source is not None and (volume is None or not np.may_share_memory(self._ready_source, volume)):
            self._ready_key = self._ready_source = None

    @property
    def prepared(self) -> bool:
        """Whether a slice windowed ahead is waiting to be shown."""
        return self._ready_key is not None

    def render(self) -> None:
        image, levels = self.image, self.levels
        if image is None or image.ndim != 2 or image.size == 0 or levels is None or np.ndim(levels) != 1:
            super().render()
            return
        if self._ready_key is not None and self._ready_key == self._key(image, levels):
            # windowed ahead: its buffer becomes the one drawn, the old one the spare
            self._pixels, self._ready = self._ready, self._pixels
            self._ready_key = self._ready_source = None
        else:
            self._pixels = self._window_into(self._pixels, image, levels)
        self.qimage = self._qimage(self._pixels)
        self._renderRequired = False
        self._unrenderable = False

    def _qimage(self, pixels: np.ndarray) -> QImage:
        """The QImage over ``pixels`` (one of the two buffers), made when the buffer is new."""
        q = self._qimages.get(id(pixels))
        if q is None or q.data is not pixels:
            q = fn.ndarray_to_qimage(pixels, QImage.Format.Format_RGB32)  # no copy: over the buffer
            self._qimages = {id(b): self._qimages[id(b)] for b in (self._ready,)
                             if b is not None and id(b) in self._qimages and self._qimages[id(b)].data is b}
            self._qimages[id(pixels)] = q
        return q

"""Render a widget to a PNG file (for ``knee-reader --screenshot``, docs and bug reports)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QApplication, QWidget

from studies.atomic import write_bytes_atomic

#: Default window size of screenshots, in pixels (width, height).
SCREENSHOT_SIZE = (1600, 1000)
#: Qt's PNG "quality" (zlib effort; PNG is lossless at any value): 80 encodes a 1600 x 1000
#: window ~2x faster than Qt's default, to a file no larger.
PNG_QUALITY = 80


def widget_png(widget: QWidget, size: tuple[int, int] | None = SCREENSHOT_SIZE) -> bytes:
    """PNG bytes of ``widget`` laid out at ``size`` (shown first, so layouts settle)."""
    if size is not None:
        widget.resize(*size)
    widget.show()
    app = QApplication.instance()
    for _ in range(3):  # layouts, then pyqtgraph's range updates, then paint
        app.processEvents()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buf, "PNG", PNG_QUALITY):
        raise OSError("Qt could not encode the screenshot as PNG")
    buf.close()
    return bytes(data.data())


def save_screenshot(widget: QWidget, path: str | Path, size: tuple[int, int] | None = SCREENSHOT_SIZE) -> Path:
    """Write ``widget`` as a PNG to ``path`` atomically and return the path."""
    path = Path(path)
    write_bytes_atomic(path, widget_png(widget, size))
    return path

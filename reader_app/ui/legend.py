"""A horizontal colour bar for the heatmap's colour map, labelled from "low" to "high" attention."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from reader_app.ui.slice_view import heat_lut


class ColorLegend(QWidget):
    """Paints the heatmap LUT (with its transparent low end shown against the view background)."""

    def __init__(self, cmap: str = "inferno", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(26)
        self.setMinimumWidth(120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setToolTip("Heatmap colours: where the AI looked, from low (transparent) to high attention")
        self.set_cmap(cmap)

    def set_cmap(self, cmap: str) -> None:
        self.cmap = cmap
        self._lut = heat_lut(cmap)
        self.update()

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        w, h = self.width(), self.height()
        bar = QRectF(34, 4, max(w - 68, 10), h - 8)
        p.fillRect(bar, QColor("#0b0d10"))
        grad = QLinearGradient(bar.left(), 0, bar.right(), 0)
        for i in range(0, 256, 15):
            r, g, b, a = (int(c) for c in self._lut[i])
            grad.setColorAt(i / 255, QColor(r, g, b, a))
        p.fillRect(bar, grad)
        p.setPen(QColor("#b9c1cb"))
        p.drawText(QRectF(0, 0, 32, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "low")
        p.drawText(QRectF(w - 32, 0, 32, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "high")
        p.end()

"""The texts drawn over an image view: its title (top left), "Slice k / n" (bottom left) and
the orientation letters at the middle of each edge.

Drawn by the view itself, in the paint of its image (:meth:`ViewTexts.paint`, called from
``QGraphicsView.drawForeground``), from cached :class:`~PySide6.QtGui.QStaticText` s: a pair
switch or a scroll costs no text layout, no widget per text and no repaint of what lies under a
text widget. Only the slice number changes while reading; its new text is laid out once.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QStaticText

#: Colour of the title, slice number and orientation letters.
TEXT_COLOR = "#e6c35c"
#: Distance of each text from the view's edge, px (in the image area).
MARGIN = 4
#: Title and slice number: pixel size and weight; orientation letters likewise.
TEXT_FONT = (13, QFont.Weight.DemiBold)
LETTER_FONT = (15, QFont.Weight.Bold)
EDGES = ("top", "bottom", "left", "right")


def _font(base: QFont, spec: tuple[int, QFont.Weight]) -> QFont:
    font = QFont(base)
    font.setPixelSize(spec[0])
    font.setWeight(spec[1])
    return font


class _Text:
    """One plain text, laid out once per text and font."""

    def __init__(self, font: QFont, text: str = "") -> None:
        self.font = font
        self.static = QStaticText()
        self.static.setTextFormat(Qt.TextFormat.PlainText)
        self.static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
        self.text = ""
        self.width = self.height = 0
        self.set(text)

    def set(self, text: str) -> None:
        self.text = text
        self.static.setText(text)
        self.static.prepare(font=self.font)
        size = self.static.size()
        self.width, self.height = int(size.width() + 0.999), int(size.height() + 0.999)
        # the line centred in its box, as a label draws it (the same pixels as before)
        self.baseline_shift = (self.height - QFontMetrics(self.font).height() + 1) // 2


class ViewTexts:
    """The title, slice number and orientation letters of one view (``letters``: edge -> letter,
    edges ``top``, ``bottom``, ``left``, ``right``), placed in a ``width`` x ``height`` px area.

    ``base`` is the font the texts are drawn in (the view's, as its style sheet sets it);
    letters are drawn only while :attr:`letters_shown` (a view with an image)."""

    def __init__(self, title: str, letters: dict[str, str], base: QFont) -> None:
        text_font, letter_font = _font(base, TEXT_FONT), _font(base, LETTER_FONT)
        self._title = _Text(text_font, title)
        self._slice = _Text(text_font)
        self._letters = {edge: _Text(letter_font, letters[edge]) for edge in EDGES if edge in letters}
        self.letters_shown = True
        self._color = QColor(TEXT_COLOR)
        self._drawn_key: tuple | None = None  # what the placed texts below were placed for
        self._drawn: list[tuple[QFont, QPointF, QStaticText]] = []

    # -- what is drawn ----------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self._title.text

    @property
    def slice_text(self) -> str:
        """``"Slice k / n"``, or ``""`` without an image."""
        return self._slice.text

    @property
    def letters(self) -> dict[str, str]:
        """Edge -> orientation letter (drawn only while :attr:`letters_shown`)."""
        return {edge: t.text for edge, t in self._letters.items()}

    def set_slice_text(self, text: str, width: int, height: int) -> QRect | None:
        """Change the slice number; the area to repaint (old and new text), None when unchanged."""
        if text == self._slice.text:
            return None
        old = self.rects(width, height).get("slice", QRect())
        self._slice.set(text)
        return old.united(self.rects(width, height).get("slice", QRect()))

    # -- where --------------------------------------------------------------------------------
    def _placed(self, width: int, height: int) -> list[tuple[str, _Text, int, int]]:
        m = MARGIN
        out = [("title", self._title, m, m)]
        if self._slice.text:
            out.append(("slice", self._slice, m, height - self._slice.height - m))
        if self.letters_shown:
            for edge, t in self._letters.items():
                x = {"left": m, "right": width - t.width - m}.get(edge, (width - t.width) // 2)
                y = {"top": m, "bottom": height - t.height - m}.get(edge, (height - t.height) // 2)
                out.append((edge, t, x, y))
        return out

    def rects(self, width: int, height: int) -> dict[str, QRect]:
        """Where each drawn text lies in a ``width`` x ``height`` area, px: ``title``,
        ``slice`` (when there is a slice number) and the edges (while letters are shown)."""
        return {name: QRect(x, y, t.width, t.height) for name, t, x, y in self._placed(width, height)}

    def paint(self, painter: QPainter, width: int, height: int) -> None:
        """Draw the texts with ``painter`` in device pixels of a ``width`` x ``height`` area."""
        key = (width, height, self._slice.text, self.letters_shown)
        if key != self._drawn_key:  # placed again only when the area or the texts change
            self._drawn_key = key
            self._drawn = [(t.font, QPointF(x, y + t.baseline_shift), t.static)
                           for _, t, x, y in self._placed(width, height) if t.text]
        painter.setPen(self._color)
        font = None
        for f, point, static in self._drawn:
            if f is not font:
                painter.setFont(f)
                font = f
            painter.drawStaticText(point, static)

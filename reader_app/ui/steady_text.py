"""One-line labels whose text changes on every pair without laying the window out again.

A ``QLabel`` whose text changes asks its parent's layout to run again (the label's size hint
may have changed), and that re-runs every layout up to the window: text measured, widgets
placed, on every pair switch. A label of fixed size (minimum = maximum) does not ask (Qt's
``updateGeometry`` stops there), so a :class:`SteadyLabel` keeps a fixed size and lays out
only when that size must change. It measures a new text by its advance rather than by a size
hint (a full text layout, several times longer), and a text measured ahead
(:meth:`SteadyLabel.prepare`, while the reader reads the pair before) is not measured again.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

#: Texts measured ahead kept per label (a few pairs' worth; more are dropped).
PREPARED_TEXTS = 8


class SteadyLabel(QLabel):
    """A one-line label of fixed size.

    ``grow_only``: the size of the longest text shown so far, grown when a text needs more
    room (one layout then, a few times in a study: "Pair 9 / 150" -> "Pair 10 / 150") and
    never shrunk, so that the texts around it stay where they are. Otherwise the text's own
    size (a label with a background: a badge), laid out again only when that size changes."""

    def __init__(self, text: str = "", *, grow_only: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.grow_only = grow_only
        self._chrome: int | None = None  # the size hint's width beyond the text's advance, px
        self._advances: dict[str, int] = {}  # texts measured ahead -> advance, px

    def set_steady_text(self, text: str) -> None:
        """Show ``text``: repainted; laid out only if its fixed size changes."""
        if self.text() == text:
            return
        self.setText(text)
        if self._chrome is None and not text:  # nothing to measure yet (an empty line has no height)
            return
        if self._chrome is None:  # measured once, with the style sheet's padding and font
            self.ensurePolished()
            advance = self.fontMetrics().horizontalAdvance(text)
            hint = self.sizeHint()
            # + 1: an advance is rounded, a layout's natural width rounded up
            self._chrome = hint.width() - advance + 1
            self.setFixedSize(advance + self._chrome, hint.height())
            return
        advance = self._advances.pop(text, None)
        if advance is None:
            advance = self.fontMetrics().horizontalAdvance(text)
        width = advance + self._chrome
        fixed = self.maximumWidth()
        if self.grow_only:
            width = max(width, fixed)
        if width != fixed:
            self.setFixedWidth(width)

    def prepare(self, text: str) -> None:
        """Measure ``text`` now (idle time), to be shown soon; nothing on screen changes."""
        if text != self.text() and self._chrome is not None and text not in self._advances:
            if len(self._advances) >= PREPARED_TEXTS:
                self._advances.clear()
            self._advances[text] = self.fontMetrics().horizontalAdvance(text)

    def is_prepared(self, text: str) -> bool:
        """Whether ``text`` was measured ahead and waits to be shown."""
        return text in self._advances

"""One-line labels whose text changes on every pair without laying the window out again.

A ``QLabel`` whose text changes asks its parent's layout to run again (the label's size hint
may have changed), and that re-runs every layout up to the window: text measured, widgets
placed, on every pair switch. A label of fixed size (minimum = maximum) does not ask (Qt's
``updateGeometry`` stops there), so a :class:`SteadyLabel` keeps a fixed size and lays out
only when that size must change. It measures a new text by its advance (a few microseconds)
rather than by a size hint (a full text layout, several times longer).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


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
        width = self.fontMetrics().horizontalAdvance(text) + self._chrome
        fixed = self.maximumWidth()
        if self.grow_only:
            width = max(width, fixed)
        if width != fixed:
            self.setFixedWidth(width)

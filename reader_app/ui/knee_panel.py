"""One knee's column: its title ("Knee A"), the AI's score when shown, the views of both
sequences (coronal above sagittal) and the clinical variables under them.

Shows no identifier and no date: only "A" or "B", images, and the manifest's clinical variables.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from reader_app.domain.ai import format_probability
from reader_app.domain.clinical import clinical_names, clinical_texts
from reader_app.domain.volumes import VIEW_LABELS
from reader_app.ui.slice_view import SliceView
from reader_app.ui.steady_text import SteadyLabel
from studies.package import SEQUENCES


class KneePanel(QWidget):
    """Column for one knee; ``views[sequence]`` are its :class:`SliceView` s."""

    def __init__(self, label: str, sequences: tuple[str, ...] | list[str] = SEQUENCES, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        header = QHBoxLayout()
        self.title = QLabel(f"Knee {label}")
        self.title.setObjectName("kneeTitle")
        self.ai_badge = SteadyLabel("", grow_only=False)
        self.ai_badge.setObjectName("aiBadge")
        self.ai_badge.hide()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.ai_badge)
        layout.addLayout(header)

        self.views: dict[str, SliceView] = {}
        for seq in sequences:
            view = SliceView(seq, f"{label} · {VIEW_LABELS.get(seq, seq)}")
            self.views[seq] = view
            layout.addWidget(view, 1)

        # one line, always there (empty without measurements): knees A and B keep the same layout
        self.measure_list = QLabel(" ")
        self.measure_list.setObjectName("hint")
        layout.addWidget(self.measure_list)

        self.clinical = QFrame()
        grid = QGridLayout(self.clinical)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(14)
        self.clinical_values: dict[str, SteadyLabel] = {}
        for i, (key, name) in enumerate(clinical_names()):
            row, col = divmod(i, 3)
            n = QLabel(name)
            n.setObjectName("clinicalName")
            v = SteadyLabel("—")
            v.setObjectName("clinicalValue")
            grid.addWidget(n, row, 2 * col)
            # a value's label has a fixed size (no layout on each pair); its column, not the
            # label, takes its share of the spare width, as the label did when it could grow
            grid.addWidget(v, row, 2 * col + 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.clinical_values[key] = v
        for column in range(grid.columnCount()):
            grid.setColumnStretch(column, 1)
        layout.addWidget(self.clinical)

    def set_clinical(self, clinical: dict[str, Any]) -> None:
        """Fill the clinical variables (the manifest's ``clinical``: package key -> value)."""
        for key, text in clinical_texts(clinical).items():
            self.clinical_values[key].set_steady_text(text)  # no layout on each pair

    def prepare_clinical(self, clinical: dict[str, Any]) -> None:
        """Measure the clinical texts of the knee shown next (idle time): showing them then
        costs no text measuring."""
        for key, text in clinical_texts(clinical).items():
            self.clinical_values[key].prepare(text)

    def set_measurements(self, lines: list[str]) -> None:
        """List this knee's caliper measurements (an empty line when there are none)."""
        text = "Measurements: " + "   ·   ".join(f"{i}. {t}" for i, t in enumerate(lines, 1)) if lines else " "
        if self.measure_list.text() != text:
            self.measure_list.setText(text)
            self.measure_list.setToolTip(text.strip())

    def set_ai(self, probability: float | None, preferred: bool) -> None:
        """Show the AI's probability that this knee progresses, or hide it (None)."""
        if probability is None:
            self.ai_badge.hide()
            return
        text = f"AI: {format_probability(probability)} risk of progression"
        flag = "true" if preferred else "false"
        if self.ai_badge.property("preferred") != flag:  # the style sheet's look for it, once per change
            self.ai_badge.setProperty("preferred", flag)
            self.ai_badge.style().unpolish(self.ai_badge)
            self.ai_badge.style().polish(self.ai_badge)
        self.ai_badge.set_steady_text(text + ("  ◀ AI's choice" if preferred else ""))
        if self.ai_badge.isHidden():
            self.ai_badge.show()

    def show_sequences(self, visible: set[str]) -> None:
        """Show only the views of ``visible`` sequences (enlarging them)."""
        for seq, view in self.views.items():
            view.setVisible(seq in visible)

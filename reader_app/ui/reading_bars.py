"""The reading window's bars: the top bar (title, mode, progress, pause, flag), the tool bar
(layout, links, windowing, cross-reference, measure), the AI bar (its preference and the
heatmap's display) and the decision bar (question, knee A / B, confidence, confirm).

Each bar is a frame that owns its widgets; :class:`reader_app.ui.reading_window.ReadingWindow`
lays them out and names the widgets the controllers and the tests use.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from reader_app.domain.volumes import VIEW_LABELS
from reader_app.domain.windowing import DEFAULT_PRESET, PRESETS
from reader_app.ui.legend import ColorLegend
from reader_app.ui.steady_text import SteadyLabel

HEAT_CMAPS = ("inferno", "turbo", "viridis", "plasma")


def button(text: str, *, checkable: bool = False, checked: bool = False, tip: str = "", name: str = "") -> QPushButton:
    """A push button that never takes the keyboard focus (keys always reach the window's shortcuts)."""
    b = QPushButton(text)
    b.setCheckable(checkable)
    b.setChecked(checked)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    if tip:
        b.setToolTip(tip)
    if name:
        b.setObjectName(name)
    return b


def fix_size(label: QLabel, texts: tuple[str, ...]) -> None:
    """A label as wide as the longest of ``texts``, fixed: a change of its text (on every
    pair) then lays nothing out again (the bar around it stays as it is)."""
    label.ensurePolished()  # the style sheet's font
    metrics = label.fontMetrics()
    label.setFixedSize(max(metrics.horizontalAdvance(t) for t in texts) + 8, label.sizeHint().height())


class _Bar(QFrame):
    """A frame named for the style sheet (``QFrame#<name>``) with one row of widgets."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(12, 6, 12, 6)
        self.row.setSpacing(8)


class TopBar(_Bar):
    """Study title, reading mode, practice badge, saved mark, progress, flag and pause."""

    def __init__(self, title: str) -> None:
        super().__init__("topBar")
        lay = self.row
        t = QLabel(title)
        t.setTextFormat(Qt.TextFormat.PlainText)  # the manifest's text is never HTML
        t.setObjectName("studyTitle")
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("hint")
        self.practice_badge = QLabel("PRACTICE — not scored")
        self.practice_badge.setObjectName("practiceBadge")
        self.practice_badge.hide()
        self.progress = SteadyLabel("")
        self.progress.setObjectName("progress")
        self.saved = QLabel("")
        self.saved.setObjectName("hint")
        self.saved.setToolTip("Shown once your answer is on disk")
        self.saved.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.pause_button = button("Pause  (P)", checkable=True, tip="Hide the images and stop the clock")
        self.flag_button = button("Flag this pair…", tip="Report unreadable images, a wrong side… (Ctrl+F)")
        lay.addWidget(t)
        lay.addSpacing(12)
        lay.addWidget(self.mode_label)
        lay.addStretch(1)
        lay.addWidget(self.practice_badge)
        lay.addWidget(self.saved)
        lay.addSpacing(12)
        lay.addWidget(self.progress)
        lay.addSpacing(16)
        lay.addWidget(self.flag_button)
        lay.addWidget(self.pause_button)


class ToolBar(_Bar):
    """Layout buttons (both sequences, or one enlarged), links between the knees, window
    presets, cross-reference lines, invert and measure."""

    def __init__(self, view_keys: list[str]) -> None:
        super().__init__("toolBar")
        lay = self.row
        self.layout_buttons = QButtonGroup(self)
        for i, (text, tip) in enumerate(
            [("Both", "Coronal and sagittal"), *[(VIEW_LABELS[s], f"Enlarge {VIEW_LABELS[s]}") for s in view_keys]]
        ):
            b = button(text, checkable=True, checked=(i == 0), tip=tip)
            self.layout_buttons.addButton(b, i)
            lay.addWidget(b)
        lay.addSpacing(14)
        lay.addWidget(QLabel("Link A–B:"))
        self.link_slices = button("Slices", checkable=True, checked=True, tip="Scroll both knees together (relative position)")
        self.link_zoom = button("Zoom/pan", checkable=True, checked=True, tip="Zoom and pan both knees together")
        self.link_window = button("Window", checkable=True, checked=True, tip="Window/level both knees together")
        for b in (self.link_slices, self.link_zoom, self.link_window):
            lay.addWidget(b)
        lay.addSpacing(14)
        lay.addWidget(QLabel("Window:"))
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText(DEFAULT_PRESET)
        self.preset.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset.setMinimumContentsLength(12)
        self.preset.setToolTip("Window presets from each image's intensity percentiles")
        self.auto_button = button("Auto", tip="Automatic contrast (1st–99th percentile)")
        self.reset_button = button("Reset  (R)", tip="Automatic contrast and whole images")
        self.invert_button = button("Invert  (I)", checkable=True, tip="Swap black and white in every view")
        self.crossref_button = button(
            "Cross-ref  (X)", checkable=True, checked=True,
            tip="Lines where the other sequence's slice cuts each view; Shift+click moves the other sequence there")
        self.measure_button = button(
            "Measure  (M)", checkable=True,
            tip="Left-drag on a view measures a distance in mm (Delete removes the latest, Shift+Delete all)")
        lay.addWidget(self.preset)
        lay.addWidget(self.auto_button)
        lay.addWidget(self.reset_button)
        lay.addSpacing(14)
        lay.addWidget(self.crossref_button)
        lay.addWidget(self.invert_button)
        lay.addWidget(self.measure_button)
        lay.addStretch(1)


class AiBar(_Bar):
    """Shown only while the AI is visible: its preference, and the heatmap's display."""

    def __init__(self) -> None:
        super().__init__("toolBar")
        lay = self.row
        self.ai_summary = SteadyLabel("")
        self.ai_summary.setObjectName("aiSummary")
        self.heat_on = QCheckBox("Heatmap")
        self.heat_on.setChecked(True)
        self.heat_on.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.heat_on.setToolTip("Show where the AI looked (Grad-CAM), over both sequences")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setFixedWidth(100)
        self.opacity.setToolTip("Heatmap opacity")
        self.opacity.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cmap = QComboBox()
        self.cmap.addItems(list(HEAT_CMAPS))
        self.cmap.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cmap.setToolTip("Heatmap colour map")
        self.legend = ColorLegend(HEAT_CMAPS[0])
        lay.addWidget(self.ai_summary)
        lay.addStretch(1)
        for w in (self.heat_on, QLabel("Opacity"), self.opacity, self.cmap, self.legend):
            lay.addWidget(w)
        self.hide()


class DecisionBar(_Bar):
    """The question, its notes, knee A / B, the confidence scale (once built) and Confirm."""

    def __init__(self) -> None:
        super().__init__("decisionBar")
        lay = self.row
        col = QVBoxLayout()
        self.question = QLabel("")
        self.question.setTextFormat(Qt.TextFormat.PlainText)
        self.question.setObjectName("question")
        self.question.setWordWrap(True)
        self.note = QLabel("")
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.hint = QLabel("")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        col.addWidget(self.question)
        col.addWidget(self.note)
        col.addWidget(self.hint)
        lay.addLayout(col, 1)
        self.choice_buttons = {
            "left": button("Knee A   (F / 1)", checkable=True, name="choiceButton"),
            "right": button("Knee B   (J / 2)", checkable=True, name="choiceButton"),
        }
        for b in self.choice_buttons.values():
            lay.addWidget(b)
        lay.addSpacing(12)
        self.confidence_box = QWidget()
        self.confidence_row = QHBoxLayout(self.confidence_box)
        self.confidence_row.setContentsMargins(0, 0, 0, 0)
        self.confidence_row.addWidget(QLabel("Confidence:"))
        self.confidence_group = QButtonGroup(self)
        self.confidence_box.hide()
        lay.addWidget(self.confidence_box)
        lay.addSpacing(12)
        self.confirm_button = button("Confirm  ⏎", name="confirmButton")
        lay.addWidget(self.confirm_button)

        self._confidence_buttons: list[QPushButton] = []

    def build_confidence(self, lo: int, hi: int, labels: dict[str, str]) -> None:
        """Confidence buttons lo..hi (with the scale's labels), replacing any built before."""
        for b in self._confidence_buttons:
            self.confidence_group.removeButton(b)
            b.deleteLater()
        self._confidence_buttons = []
        for v in range(lo, hi + 1):
            text = f"{v}" + (f" {labels[str(v)]}" if str(v) in labels else "")
            b = button(text, checkable=True, name="confidenceButton", tip=f"Confidence {v} (Ctrl+{v})")
            self.confidence_group.addButton(b, v)
            self.confidence_row.addWidget(b)
            self._confidence_buttons.append(b)
        self.confidence_box.show()

    def show_confidence(self, scale: tuple[int, int, dict[str, str]], value: int | None) -> None:
        """The scale ``(lo, hi, labels)`` (built once, again only when it changes) with
        ``value`` checked (None: none)."""
        lo, hi, labels = scale
        if len(self._confidence_buttons) != hi - lo + 1:
            self.build_confidence(lo, hi, labels)
        for b in self._confidence_buttons:
            b.setChecked(self.confidence_group.id(b) == value)

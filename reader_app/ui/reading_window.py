"""The reading window: knees A | B (coronal above sagittal), tools, and the decision bar.

Layout only: :meth:`ReadingWindow.bind` connects buttons and keys to the reading and hanging
controllers, which decide everything; the controllers call the ``show_*`` methods.

Keys: F or 1 = knee A, J or 2 = knee B, Ctrl+1..9 = confidence, Enter = confirm;
Up/Down (or wheel) = slices of the active view, PageUp/PageDown = 5 slices; + / - = zoom;
R = reset windows and zoom; P = pause; Ctrl+F = flag the pair; right-drag = window/level;
I = invert; X = cross-reference lines (Shift+click moves the other sequence there); M = measure mode (left-drag draws a caliper in mm); Delete = remove the active
view's latest measurement, Shift+Delete = all of the pair's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reader_app.controllers.reading import (
    SAVED_TEXT,
    SAVING_TEXT,
    AiInfo,
    DecisionDisplay,
    KneeInfo,
    ProgressDisplay,
)
from reader_app.domain.ai import format_probability
from reader_app.domain.measure import MeasurementError
from reader_app.domain.reformat import DESS_COR, DESS_SOURCE
from reader_app.domain.session import FLAG_REASONS
from reader_app.ui.errors import ErrorMessage, error_display, show_error
from reader_app.ui.knee_panel import KneePanel
from reader_app.ui.later import Later
from reader_app.ui.reading_bars import AiBar, DecisionBar, ToolBar, TopBar, fix_size
from studies.package import SEQUENCES

PAGE_IMAGES, PAGE_PAUSED, PAGE_FINISHED = 0, 1, 2


def _screen(title: str) -> tuple[QWidget, QLabel, QLabel]:
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.addStretch(1)
    t = QLabel(title)
    t.setObjectName("screenTitle")
    t.setAlignment(Qt.AlignmentFlag.AlignCenter)
    body = QLabel("")
    body.setObjectName("screenText")
    body.setAlignment(Qt.AlignmentFlag.AlignCenter)
    body.setWordWrap(True)
    lay.addWidget(t)
    lay.addWidget(body)
    lay.addStretch(2)
    return page, t, body


class ReadingWindow(QMainWindow):
    """The reader's main window; ``views[(knee, sequence)]`` are the four image views."""

    def __init__(self, title: str = "Knee reader", sequences: tuple[str, ...] | list[str] = SEQUENCES) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.resize(1600, 1000)
        self.sequences = list(sequences)
        #: The views of each knee: the manifest's sequences, then the optional DESS coronal
        #: reformat (hidden until its layout button is chosen).
        self.view_keys = self.sequences + ([DESS_COR] if DESS_SOURCE in self.sequences else [])
        self._on_reformat = None
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        top, tools, self.ai_tools, decision = TopBar(title), ToolBar(self.view_keys), AiBar(), DecisionBar()
        self.decision_bar = decision
        # the widgets the controllers and the tests use, named on the window
        self.mode_label, self.practice_badge, self.progress, self.saved = (
            top.mode_label, top.practice_badge, top.progress, top.saved)
        self.pause_button, self.flag_button = top.pause_button, top.flag_button
        self.layout_buttons, self.link_slices, self.link_zoom, self.link_window = (
            tools.layout_buttons, tools.link_slices, tools.link_zoom, tools.link_window)
        self.preset, self.auto_button, self.reset_button = tools.preset, tools.auto_button, tools.reset_button
        self.invert_button, self.crossref_button, self.measure_button = (
            tools.invert_button, tools.crossref_button, tools.measure_button)
        ai = self.ai_tools
        self.ai_summary, self.heat_on, self.opacity, self.cmap, self.legend = (
            ai.ai_summary, ai.heat_on, ai.opacity, ai.cmap, ai.legend)
        self.question, self.note, self.hint = decision.question, decision.note, decision.hint
        self.choice_buttons, self.confidence_box, self.confidence_group, self.confirm_button = (
            decision.choice_buttons, decision.confidence_box, decision.confidence_group, decision.confirm_button)
        outer.addWidget(top)
        outer.addWidget(tools)
        outer.addWidget(self.ai_tools)
        self.pages = QStackedWidget()
        images = QWidget()
        row = QHBoxLayout(images)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(6)
        self.panels = {"left": KneePanel("A", self.view_keys), "right": KneePanel("B", self.view_keys)}
        for panel in self.panels.values():
            panel.show_sequences(set(self.sequences))
        sep = QFrame()
        sep.setFrameShape(QFrame.Shape.VLine)
        sep.setStyleSheet("color: #2a3039;")
        row.addWidget(self.panels["left"], 1)
        row.addWidget(sep)
        row.addWidget(self.panels["right"], 1)
        self.views = {(knee, seq): panel.views[seq] for knee, panel in self.panels.items() for seq in self.view_keys}
        paused, _, self.paused_text = _screen("Paused")
        self.paused_text.setText("The images are hidden and the clock is stopped.\nPress P or Resume to continue.")
        finished, self.finished_title, self.finished_text = _screen("Reading complete")
        for page in (images, paused, finished):
            self.pages.addWidget(page)
        outer.addWidget(self.pages, 1)
        outer.addWidget(decision)
        self.setCentralWidget(central)
        fix_size(self.saved, (SAVING_TEXT, SAVED_TEXT))
        #: Called once when the window closes (the launcher releases the decisions file).
        self.on_close = None
        self._later = Later(self)  # the controller's delayed actions, through one timer

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, reading, hanging) -> None:
        """Connect widgets, mouse and keys to the reading and hanging controllers."""
        for side, b in self.choice_buttons.items():
            b.clicked.connect(lambda _=False, s=side: reading.choose(s))
        self.confidence_group.idClicked.connect(reading.set_confidence)
        self.confirm_button.clicked.connect(reading.confirm)
        self.pause_button.clicked.connect(lambda _=False: reading.toggle_pause())
        self.flag_button.clicked.connect(reading.flag)
        self.link_slices.toggled.connect(lambda on: hanging.set_links(slices=on))
        self.link_zoom.toggled.connect(lambda on: hanging.set_links(zoom=on))
        self.link_window.toggled.connect(lambda on: hanging.set_links(window=on))
        self.preset.currentTextChanged.connect(hanging.apply_preset)
        self.auto_button.clicked.connect(hanging.auto_contrast)
        self.reset_button.clicked.connect(hanging.reset)
        self.layout_buttons.idClicked.connect(self.set_layout)
        self.invert_button.toggled.connect(hanging.set_inverted)
        self._on_reformat = hanging.set_reformat
        self.crossref_button.toggled.connect(hanging.set_cross_reference)
        self.measure_button.toggled.connect(self.set_measuring)
        hanging.on_measurements_changed = self.show_measurements

        def measure(key, x0, y0, x1, y1):
            try:
                hanging.measure(key, (x0, y0), (x1, y1))
            except MeasurementError as exc:
                self.show_error(ErrorMessage("Measurement not taken", str(exc)))

        def overlay(*_):
            self.legend.set_cmap(self.cmap.currentText())
            hanging.set_overlay_style(self.heat_on.isChecked(), self.opacity.value() / 100, self.cmap.currentText())

        for sig in (self.heat_on.toggled, self.opacity.valueChanged, self.cmap.currentTextChanged):
            sig.connect(overlay)
        for key, view in self.views.items():
            view.scrolled.connect(lambda steps, k=key: (setattr(hanging, "active", k), hanging.scroll(k, steps)))
            view.windowDragged.connect(lambda dx, dy, k=key: hanging.drag_window(k, dx, dy))
            view.rectChanged.connect(lambda k=key: hanging.view_moved(k))
            view.activated.connect(lambda k=key: setattr(hanging, "active", k))
            view.resetRequested.connect(hanging.reset)
            view.located.connect(lambda x, y, k=key: hanging.locate(k, x, y))
            view.measured.connect(lambda x0, y0, x1, y1, k=key: measure(k, x0, y0, x1, y1))
        keys = {
            "F": lambda: reading.choose("left"), "1": lambda: reading.choose("left"),
            "J": lambda: reading.choose("right"), "2": lambda: reading.choose("right"),
            "Return": reading.confirm, "Enter": reading.confirm,
            "Up": lambda: hanging.scroll(None, -1), "Down": lambda: hanging.scroll(None, 1),
            "Left": lambda: hanging.scroll(None, -1), "Right": lambda: hanging.scroll(None, 1),
            "PgUp": lambda: hanging.scroll(None, -5), "PgDown": lambda: hanging.scroll(None, 5),
            "+": lambda: hanging.zoom(1.25), "=": lambda: hanging.zoom(1.25), "-": lambda: hanging.zoom(0.8),
            "R": hanging.reset, "P": reading.toggle_pause, "Ctrl+F": reading.flag,
            "I": self.invert_button.toggle, "M": self.measure_button.toggle, "X": self.crossref_button.toggle,
            "Delete": lambda: hanging.remove_measurement(None), "Backspace": lambda: hanging.remove_measurement(None),
            "Shift+Delete": hanging.clear_measurements,
        }
        keys.update({f"Ctrl+{v}": (lambda v=v: reading.set_confidence(v)) for v in range(1, 10)})
        self._shortcuts = []
        for seq, fn in keys.items():
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)
            self._shortcuts.append(sc)

    def set_measuring(self, on: bool) -> None:
        """Measure mode: left-drag on a view draws a caliper instead of panning."""
        for view in self.views.values():
            view.measuring = bool(on)
        self.measure_button.setChecked(bool(on))

    def show_measurements(self, lists: dict[str, list[str]]) -> None:
        for side, panel in self.panels.items():
            panel.set_measurements(lists.get(side, []))

    def set_layout(self, index: int) -> None:
        """0 = both sequences; i >= 1 = only view i (enlarged): a sequence, or the DESS
        coronal reformat (made when first shown)."""
        visible = set(self.sequences) if index == 0 else {self.view_keys[index - 1]}
        if self._on_reformat is not None:
            self._on_reformat(DESS_COR in visible)
        for panel in self.panels.values():
            panel.show_sequences(visible)
        self.layout_buttons.button(index).setChecked(True)

    def closeEvent(self, event):  # noqa: N802
        callback, self.on_close = self.on_close, None
        if callback is not None:
            with error_display(self, "Closing the decisions file"):
                callback()
        super().closeEvent(event)

    # -- what the controller shows ------------------------------------------------------------
    def show_knees(self, left: KneeInfo, right: KneeInfo) -> None:
        self.panels["left"].set_clinical(left.clinical)
        self.panels["right"].set_clinical(right.clinical)

    def prepare_knees(self, left: KneeInfo, right: KneeInfo) -> None:
        self.panels["left"].prepare_clinical(left.clinical)
        self.panels["right"].prepare_clinical(right.clinical)

    def show_ai(self, ai: AiInfo | None) -> None:
        self.ai_tools.setVisible(ai is not None)
        for side, panel in self.panels.items():
            panel.set_ai(None if ai is None else ai.probabilities.get(side), ai is not None and ai.preferred == side)
        if ai is None:
            return
        p = ai.probabilities
        if ai.preferred is not None:
            other = "right" if ai.preferred == "left" else "left"
            label = {"left": "A", "right": "B"}
            text = (f"The AI prefers knee {label[ai.preferred]}  "
                    f"({format_probability(p[ai.preferred])} vs {format_probability(p[other])} probability of progression)")
        else:
            text = "The AI has no preference between these knees"
        if ai.problems:
            text += "  ·  " + " ".join(ai.problems)
        self.ai_summary.set_steady_text(text)

    def show_decision(self, d: DecisionDisplay) -> None:
        self.question.setText(d.question)
        self.note.setText(d.note)
        self.note.setVisible(bool(d.note))
        self.hint.setText(d.hint)
        if self.saved.text() != d.saved:
            self.saved.setText(d.saved)
        for side, b in self.choice_buttons.items():
            b.setChecked(d.choice == side)
        if d.confidence_scale is not None:
            self.decision_bar.show_confidence(d.confidence_scale, d.confidence)
        self.confirm_button.setEnabled(d.can_confirm)
        self.confirm_button.setToolTip("Record this answer and go to the next pair" if d.can_confirm else d.hint)

    def show_mode(self, label: str, description: str) -> None:
        """The reading mode, by its label; its description as the tooltip."""
        self.mode_label.setText(f"{label} reading")
        self.mode_label.setToolTip(f"{label}: {description}")

    def after(self, ms: int, action) -> None:
        self._later.after(ms, action)

    def show_progress(self, p: ProgressDisplay) -> None:
        self.progress.set_steady_text(p.text)
        if self.practice_badge.isHidden() == p.practice:
            self.practice_badge.setVisible(p.practice)

    def show_paused(self, paused: bool) -> None:
        self.pages.setCurrentIndex(PAGE_PAUSED if paused else PAGE_IMAGES)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume  (P)" if paused else "Pause  (P)")
        for b in (*self.choice_buttons.values(), self.confidence_box, self.flag_button):
            b.setEnabled(not paused)
        if paused:
            self.confirm_button.setEnabled(False)

    def show_finished(self, title: str, text: str) -> None:
        self.finished_title.setText(title)
        self.finished_text.setText(text)
        self.pages.setCurrentIndex(PAGE_FINISHED)
        for b in (*self.choice_buttons.values(), self.confirm_button, self.flag_button, self.pause_button):
            b.setEnabled(False)
        self.confidence_box.hide()
        self.ai_tools.hide()
        self.question.setText("")
        self.hint.setText("You can close this window.")
        self.note.hide()

    def show_error(self, message: ErrorMessage) -> None:
        show_error(self, message)

    def ask_flag_reason(self) -> str | None:
        """A reason from :data:`FLAG_REASONS` or typed; "Other…" asks for a description."""
        reason, ok = QInputDialog.getItem(
            self, "Flag this pair", "Why should the coordinator look at this pair?", list(FLAG_REASONS), 0, True
        )
        reason = reason.strip()
        if ok and reason == FLAG_REASONS[-1]:
            text, ok = QInputDialog.getText(self, "Flag this pair", "Describe the problem:")
            reason = f"{reason}: {text.strip()}" if text.strip() else reason
        return reason if ok and reason else None

"""The start dialog (``knee-reader`` without arguments): pick a study folder, type the reader id, pick a mode.

:func:`check_start` (no Qt) says what is still missing and which reading modes the study
allows, as entries of the registry (:mod:`studies.decisions.modes`); the dialog shows what is
missing under the fields and as the tooltip of the disabled Start button, and each mode by its
label, with its description under the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studies.decisions.modes import ReadingMode, get_mode, mode_names
from studies.errors import StudyError
from studies.package import MANIFEST_NAME, load_manifest


@dataclass(frozen=True)
class StartChoice:
    study: Path
    reader_id: str
    mode: str


def sentence(text: str) -> str:
    """``text`` (a mode's description, "the AI is never shown") as a sentence."""
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def study_modes(reading_modes: list[str]) -> list[ReadingMode]:
    """The registered modes among a manifest's ``reading_modes``, in the manifest's order."""
    registered = mode_names()
    return [get_mode(name) for name in reading_modes if name in registered]


def check_start(study: str, reader_id: str) -> tuple[str | None, list[ReadingMode]]:
    """(what is missing or wrong, or None; the reading modes the study allows, from the registry)."""
    from studies.package import check_reader_id

    if not study.strip():
        return "Choose the study folder you were given.", []
    folder = Path(study).expanduser()
    if not (folder / MANIFEST_NAME).is_file():
        return f"{folder} is not a study folder (it has no {MANIFEST_NAME}).", []
    try:
        manifest = load_manifest(folder)
    except StudyError as exc:
        return str(exc), []
    modes = study_modes(manifest.reading_modes)
    if not reader_id.strip():
        return "Type your reader id (given by the coordinator).", modes
    try:
        check_reader_id(reader_id.strip())
    except StudyError:
        return "A reader id has 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.", modes
    return None, modes


class StartDialog(QDialog):
    """Asks for the study folder, the reader id and the reading mode."""

    def __init__(self, study: str = "", reader_id: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Knee reader — start reading")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        title = QLabel("Open a reader study")
        title.setObjectName("screenTitle")
        layout.addWidget(title)
        form = QFormLayout()
        row = QHBoxLayout()
        self.study = QLineEdit(study)
        self.study.setPlaceholderText("Folder containing manifest.json")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.study, 1)
        row.addWidget(browse)
        form.addRow("Study folder", row)
        self.reader = QLineEdit(reader_id)
        self.reader.setPlaceholderText("e.g. r1")
        form.addRow("Reader id", self.reader)
        self.mode = QComboBox()
        form.addRow("Reading mode", self.mode)
        self.mode_description = QLabel("")
        self.mode_description.setObjectName("hint")
        self.mode_description.setWordWrap(True)
        form.addRow("", self.mode_description)
        self.mode.currentIndexChanged.connect(self._describe_mode)
        layout.addLayout(form)
        self.problem = QLabel("")
        self.problem.setObjectName("hint")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start reading")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.study.textChanged.connect(self._update)
        self.reader.textChanged.connect(self._update)
        self._update()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the study folder", self.study.text())
        if folder:
            self.study.setText(folder)

    def _update(self) -> None:
        problem, modes = check_start(self.study.text(), self.reader.text())
        current = self.mode.currentData()
        names = [m.name for m in modes]
        if [self.mode.itemData(i) for i in range(self.mode.count())] != names:
            self.mode.clear()
            for i, m in enumerate(modes):
                self.mode.addItem(m.label, m.name)
                self.mode.setItemData(i, m.description, Qt.ItemDataRole.ToolTipRole)
            if current in names:
                self.mode.setCurrentIndex(names.index(current))
        self._describe_mode()
        self.problem.setText(problem or "")
        self.start_button.setEnabled(problem is None)
        self.start_button.setToolTip(problem or "Open the study")

    def _describe_mode(self) -> None:
        name = self.mode.currentData()
        self.mode_description.setText(sentence(get_mode(name).description) if name else "")

    def choice(self) -> StartChoice:
        """What was chosen; ``mode`` is the mode's registered name ("" when the study allows none)."""
        return StartChoice(Path(self.study.text().strip()).expanduser(), self.reader.text().strip(),
                           self.mode.currentData() or "")

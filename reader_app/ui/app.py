"""QApplication set-up for the reader app: pyqtgraph options (once), dark style sheet."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from reader_app.ui.pyqtgraph_import import import_pyqtgraph_lazily

#: The repository's ``assets/`` folder (style sheet); optional at run time.
ASSETS = Path(__file__).resolve().parents[2] / "assets"
STYLE_SHEET = ASSETS / "style.qss"

#: Background of image views (near-black, as on diagnostic workstations).
VIEW_BACKGROUND = "#0b0d10"


def import_pyqtgraph():
    """``import pyqtgraph`` without its CUDA probe (see :mod:`reader_app.domain.quiet_import`)
    and without building every Qt class up front (:mod:`reader_app.ui.pyqtgraph_import`)."""
    return import_pyqtgraph_lazily(("cuda.bindings.runtime",))


def create_app(argv: list[str] | None = None, *, offscreen: bool = False):
    """Return the QApplication, creating and styling it on first call.

    ``offscreen`` selects Qt's offscreen platform (for ``--screenshot``) when no platform was
    chosen explicitly. Sets pyqtgraph's ``imageAxisOrder='row-major'`` so images are
    ``(rows, cols)`` arrays, as the display domain produces them.
    """
    if offscreen:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pg = import_pyqtgraph()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        app.setApplicationName("Knee reader")
        app.setOrganizationName("knee-reader-study")
        app.setStyle("Fusion")
        apply_style(app)
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background=VIEW_BACKGROUND)
    return app


def apply_style(app) -> None:
    """Load ``assets/style.qss`` into ``app`` (a missing sheet leaves Qt's default look)."""
    if STYLE_SHEET.is_file():
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))

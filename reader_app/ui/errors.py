"""The one place where exceptions are shown to the reader (like Slicer's tryWithErrorDisplay).

The words come from :func:`reader_app.controllers.messages.describe` (no Qt, used by the
controllers too); :func:`show_error` presents an :class:`ErrorMessage` in a message box and
:func:`error_display` wraps a block of UI code. Qt is imported only when a message is shown.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from reader_app.controllers.messages import ErrorMessage, describe

log = logging.getLogger(__name__)


def show_error(parent, message: ErrorMessage) -> None:
    """Show ``message`` in a modal box (details behind "Show Details...")."""
    from PySide6.QtWidgets import QMessageBox

    log.warning("%s: %s", message.title, message.text)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(message.title)
    box.setText(message.text)
    if message.details:
        box.setDetailedText(message.details)
    box.exec()


@contextlib.contextmanager
def error_display(parent, context: str = "") -> Iterator[None]:
    """Run a block; an exception inside is shown to the user instead of escaping."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - this is the designated catch-all
        show_error(parent, describe(exc, context))


def install_excepthook() -> None:
    """Show exceptions that escape Qt slots (which Qt would only print) in a message box.

    The reader keeps working: a confirmed answer is already on disk, and the failed action
    can be retried. Installed by the GUI only (tests and ``--screenshot`` keep the default).
    """
    default = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            default(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        try:
            show_error(None, describe(exc))
        except Exception:  # never let the hook itself fail
            default(exc_type, exc, tb)

    sys.excepthook = hook

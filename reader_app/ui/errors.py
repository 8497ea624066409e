"""The one place where exceptions become messages for the reader (like Slicer's tryWithErrorDisplay).

:func:`describe` turns any exception into a short sentence plus details: errors the user can
act on (:class:`studies.errors.StudyError`, e.g. a locked decisions file or a read-only folder)
read as their own message with no traceback; anything else is a bug, shown as "Something went
wrong" with the traceback in the details for a bug report. :func:`show_error` presents it in
a message box and :func:`error_display` wraps a block of UI code. Qt is imported lazily so the
controllers that call :func:`describe` stay Qt-free.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from studies.errors import StudyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorMessage:
    """``title`` for the window, ``text`` in one or a few sentences, ``details`` optional."""

    title: str
    text: str
    details: str = ""


#: Problems listed in the message itself; the rest go to the details.
MAX_LISTED = 12

#: Window titles for the errors users meet most (by class name, to avoid importing their modules).
_TITLES = {
    "InputFileError": "Problem with a study file",
    "ReaderLockedError": "Decisions file in use",
    "StorageError": "Cannot save decisions",
    "AnswerLockedError": "Answer locked",
    "OptionError": "Invalid setting",
}


def describe(exc: BaseException, context: str = "") -> ErrorMessage:
    """Message for ``exc``; ``context`` says what was being done ("Opening the study")."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, StudyError):
        # A package that fails validation lists its problems one a line: show them (the
        # first dozen in the message, all of them behind "Show Details...").
        lines = str(exc).splitlines()
        text = "\n".join(lines[: 1 + MAX_LISTED])
        if len(lines) > 1 + MAX_LISTED:
            text += f"\n  ... and {len(lines) - 1 - MAX_LISTED} more (see the details)"
        details = "\n".join(lines) if len(lines) > 1 + MAX_LISTED else ""
        title = _TITLES.get(type(exc).__name__, "Cannot continue")
        return ErrorMessage(title=title, text=prefix + text, details=details)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return ErrorMessage(
            title="File problem",
            text=f"{prefix}{exc.strerror or exc}{where}. Check the disk and the folder's permissions, then try again.",
            details="".join(traceback.format_exception(exc)),
        )
    return ErrorMessage(
        title="Unexpected error",
        text=f"{prefix}Something went wrong ({type(exc).__name__}: {exc}). Your confirmed answers are saved.",
        details="".join(traceback.format_exception(exc)),
    )


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

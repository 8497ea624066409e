"""Exceptions turned into messages for the user (no Qt): the one place that decides their words.

:func:`describe` turns any exception into a short sentence plus details: errors the user can
act on (:class:`studies.errors.StudyError`, e.g. a locked decisions file or a read-only folder)
read as their own message with no traceback; anything else is a bug, shown as "Something went
wrong" with the traceback in the details for a bug report. Controllers hand the
:class:`ErrorMessage` to their view (``view.show_error``); :mod:`reader_app.ui.errors` presents it.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from studies.errors import StudyError


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

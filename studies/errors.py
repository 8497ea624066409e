"""Errors a user can act on.

Every error raised for bad input names the file, the field (column, option, key) and the
value, and says what to do. The CLIs catch :class:`StudyError` and print its message without
a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class StudyError(Exception):
    """Base class for errors caused by input the user can fix."""


class InputFileError(StudyError):
    """A file (table, image, manifest, key, decisions file) is missing, unreadable or wrong.

    Parameters
    ----------
    path : the file concerned.
    problem : what is wrong, in a sentence.
    column, row, value : where and what, when known (row numbers are 1-based data rows).
    hint : what the user can do about it.
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.column = column
        self.row = row
        self.value = value
        self.hint = hint
        where = [str(self.path)]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        msg = f"{', '.join(where)}: {problem}"
        if value is not None:
            msg += f" (got {value!r})"
        if hint:
            msg += f"{' ' if msg.endswith(('.', '?', '!')) else '. '}{hint}"
        super().__init__(msg)

    def __reduce__(self):
        """Pickle by the constructor's arguments (a worker process's error reaches the caller
        intact; the default pickles only the message, which ``__init__`` cannot take)."""
        kwargs = {"column": self.column, "row": self.row, "value": self.value, "hint": self.hint}
        return _rebuild, (type(self), (self.path, self.problem), kwargs)


class OptionError(StudyError):
    """A command-line option or function parameter has a nonsensical value.

    Follows scikit-learn's wording: "The 'folds' parameter must be an int >= 2. Got 1 instead."
    """

    def __init__(self, name: str, expected: str, got: object) -> None:
        self.name = name
        self.expected = expected
        self.got = got
        super().__init__(f"The '{name}' parameter must be {expected}. Got {got!r} instead.")

    def __reduce__(self):
        """Pickle by the constructor's arguments and the message (which may have been extended
        with a "did you mean")."""
        return _option_error, (self.name, self.expected, self.got, self.args)


def _rebuild(cls: type, args: tuple, kwargs: dict) -> Exception:
    """Unpickle an error by calling its constructor (see ``__reduce__`` above)."""
    return cls(*args, **kwargs)


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest of ``choices``, or ``""``.

    Case-insensitive; meant to be appended to an error message about an unknown name.
    """
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)
    if not close:
        return ""
    names = " or ".join(f"'{lowered[c]}'" for c in close)
    return f" Did you mean {names}?"


def require_columns(
    path: str | Path, present: Iterable[str], required: Iterable[str], *, hint: str | None = None
) -> None:
    """Raise :class:`InputFileError` for the first of ``required`` not in ``present``, naming
    the file and the column with a "did you mean" among the columns the file has."""
    present = list(present)
    for col in required:
        if col not in present:
            raise InputFileError(path, f"missing column '{col}'." + did_you_mean(col, present), hint=hint)


def _option_error(name, expected, got, args) -> OptionError:
    err = OptionError(name, expected, got)
    err.args = args
    return err

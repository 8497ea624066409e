"""An :class:`~studies.errors.OptionError` for a value outside a fixed set, with a suggestion."""

from __future__ import annotations

from collections.abc import Iterable

from studies.errors import OptionError, did_you_mean


def unknown_choice(name: str, value: str, choices: Iterable[str]) -> OptionError:
    """``The 'task' parameter must be one of a, b. Got 'x' instead. Did you mean 'a'?``"""
    choices = list(choices)
    err = OptionError(name, f"one of {', '.join(choices)}", value)
    err.args = (str(err) + did_you_mean(str(value), choices),)
    return err

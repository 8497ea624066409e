"""Parameter constraints and their one validator, in scikit-learn's manner.

A constraint is a description of what is expected ("an int >= 2") and a test; a table maps
parameter names to constraints, and :func:`check_params` checks a mapping of values against
a table, raising :class:`~studies.errors.OptionError` with scikit-learn's wording::

    The 'folds' parameter must be an int >= 2. Got 1 instead.

Tables: the classifier's hyper-parameters (:data:`model.classifier_params.PARAMETERS`) and a
run's options (:meth:`model.run.RunConfig.check`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from studies.errors import OptionError, did_you_mean


@dataclass(frozen=True)
class Constraint:
    """What a parameter must be: ``expected`` completes "The 'x' parameter must be ...";
    ``accepts(value)`` says whether a value is one; ``choices`` (for a fixed set of names)
    lets the error suggest the closest one."""

    expected: str
    accepts: Callable[[object], bool]
    choices: Callable[[], tuple] | None = None


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def an_int(low: int) -> Constraint:
    """An int >= ``low`` (bools refused)."""
    return Constraint(f"an int >= {low}", lambda v: _is_int(v) and v >= low)


def a_number(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = True) -> Constraint:
    """A real number in the interval from ``low`` to ``high`` (None: unbounded)."""
    if high is None:
        expected = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def accepts(v: object) -> bool:
        if not _is_real(v) or v != v:  # NaN
            return False
        above = v > low if low_open else v >= low
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    return Constraint(expected, accepts)


def one_of(choices: Iterable | Callable[[], Iterable]) -> Constraint:
    """One of a fixed set, or of a set read at check time (a registry) when given a callable."""
    get = choices if callable(choices) else (lambda c=tuple(choices): c)

    def listed() -> tuple:
        return tuple(get())

    def accepts(v: object) -> bool:
        try:
            return v in listed()
        except TypeError:  # unhashable
            return False

    return Constraint(f"one of {', '.join(map(repr, listed()))}", accepts, listed)


def or_none(c: Constraint, meaning: str) -> Constraint:
    """``c``, or None (which means ``meaning``)."""
    return Constraint(f"{c.expected} (or None: {meaning})", lambda v: v is None or c.accepts(v), c.choices)


def pair_of(c: Constraint) -> Constraint:
    """A pair (tuple or list of two) of values each meeting ``c``."""
    plural = c.expected.removeprefix("an ").removeprefix("a ")
    return Constraint(f"a pair of {plural.replace('int ', 'ints ', 1)}",
                      lambda v: isinstance(v, (tuple, list)) and len(v) == 2 and all(c.accepts(x) for x in v))


def check_params(values: Mapping[str, object], table: Mapping[str, Constraint]) -> None:
    """Raise :class:`OptionError` for the first value in ``values`` its constraint in
    ``table`` refuses (names missing from ``table`` are not checked)."""
    for name, value in values.items():
        c = table.get(name)
        if c is None or c.accepts(value):
            continue
        if c.choices is not None:
            # "one of 'a', 'b'" reads better in a message without the quotes of repr
            err = OptionError(name, f"one of {', '.join(map(str, c.choices()))}", value)
            if isinstance(value, str):
                err.args = (str(err) + did_you_mean(value, [str(x) for x in c.choices()]),)
            raise err
        raise OptionError(name, c.expected, value)

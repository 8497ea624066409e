"""An ordered registry of named entries (clinical variables, labels), in declaration order.

Entries are looked up by name; an unknown name is an error with a "did you mean". New
entries are added with :meth:`Registry.register` (which refuses a name, or any other unique
field, already taken) and removed again with :meth:`Registry.unregister` (extensions and
tests, or for a ``with`` block: :meth:`Registry.added`); the project's own entries are
declared once, in :mod:`studies.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from studies.errors import StudyError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind, by name, in the order they were registered.

    ``what`` names the kind in messages ("clinical variable"); ``unique`` maps a field
    description to a function giving that field of an entry (e.g. the package key), whose
    values must differ between entries besides the name.
    """

    def __init__(self, what: str, name: Callable[[T], str],
                 unique: dict[str, Callable[[T], str]] | None = None) -> None:
        self.what = what
        self._name = name
        self._unique = dict(unique or {})
        self._entries: dict[str, T] = {}

    def register(self, entry: T) -> T:
        """Add ``entry`` at the end; :class:`StudyError` when its name or a unique field is taken."""
        name = self._name(entry)
        if name in self._entries:
            raise StudyError(f"a {self.what} named '{name}' is already registered")
        for field, get in self._unique.items():
            taken = {get(e): n for n, e in self._entries.items()}
            if get(entry) in taken:
                raise StudyError(f"{self.what} '{name}': its {field} '{get(entry)}' is already the "
                                 f"{field} of '{taken[get(entry)]}'")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return the entry ``name``."""
        entry = self.get(name)
        del self._entries[name]
        return entry

    @contextmanager
    def added(self, entry: T) -> Iterator[T]:
        """Register ``entry`` for the duration of a ``with`` block (tests, one-off extensions)."""
        self.register(entry)
        try:
            yield entry
        finally:
            self.unregister(self._name(entry))

    def get(self, name: str) -> T:
        """The entry ``name``; :class:`StudyError` with a suggestion when there is none."""
        try:
            return self._entries[name]
        except KeyError:
            raise StudyError(f"no {self.what} named '{name}'." + did_you_mean(str(name), self._entries)
                             + f" Known: {', '.join(self._entries)}") from None

    def find(self, name: str) -> T | None:
        return self._entries.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

"""``import pyqtgraph`` without making PySide6 build every Qt class at start-up.

PySide6 creates a Qt class (and its Python enums, the costly part) the first time it is
looked up. pyqtgraph's ``pyqtgraph.Qt`` copies *every* name of ``PySide6.QtCore``,
``QtGui`` and ``QtWidgets`` into its own mirror modules (``dir()`` then ``getattr`` on each),
which builds all ~700 classes at import: ~0.15 s of CPU on a cold start, for classes the
reading window never uses.

:func:`import_pyqtgraph_lazily` imports pyqtgraph with each mirror module answering a
missing name from its PySide6 module on first use (a module ``__getattr__``) and, while
pyqtgraph copies, with ``dir()`` of the PySide6 modules listing only the classes already
built. Every name pyqtgraph or the app asks its mirrors for is the same PySide6 object as
with the eager copy; PySide6's own ``dir()`` is restored at once.

PySide6 also asks of every module imported after it whether its source mentions "PySide6"
(for its optional ``__feature__`` switches), through :func:`inspect.getsource`: ~0.5 ms per
module, 0.1-0.2 s over pyqtgraph's ~200 modules. While pyqtgraph is imported the same
question is answered from the module file's bytes (:func:`source_mentions_pyside`).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from reader_app.domain.quiet_import import import_without

#: The PySide6 modules pyqtgraph mirrors.
MIRRORED = ("QtCore", "QtGui", "QtWidgets")


def import_pyqtgraph_lazily(hidden: tuple[str, ...] = ()) -> ModuleType:
    """``import pyqtgraph`` (once) with mirror modules that forward to PySide6 on demand;
    the modules named in ``hidden`` unimportable meanwhile (see
    :func:`reader_app.domain.quiet_import.import_without`)."""
    if "pyqtgraph" in sys.modules:
        return sys.modules["pyqtgraph"]
    real = {name: importlib.import_module(f"PySide6.{name}") for name in MIRRORED}
    feature = sys.modules.get("shibokensupport.feature")
    uses_pyside = getattr(feature, "_mod_uses_pyside", None)
    if uses_pyside is not None:
        feature._mod_uses_pyside = source_mentions_pyside
    saved_dirs = {}
    for name, module in real.items():
        saved_dirs[name] = module.__dict__.get("__dir__")
        module.__dir__ = _built_names(module)
        sys.modules.setdefault(f"pyqtgraph.Qt.{name}", _mirror(name, module))
    try:
        return import_without("pyqtgraph", hidden)
    except BaseException:
        for name in MIRRORED:  # a later import starts afresh
            if "pyqtgraph.Qt" not in sys.modules:
                sys.modules.pop(f"pyqtgraph.Qt.{name}", None)
        raise
    finally:
        if uses_pyside is not None:
            feature._mod_uses_pyside = uses_pyside
        for name, module in real.items():
            if saved_dirs[name] is None:
                del module.__dir__
            else:
                module.__dir__ = saved_dirs[name]


def source_mentions_pyside(module: ModuleType) -> bool:
    """Whether the source file of ``module`` contains "PySide6" (False without a ``.py``
    file): shiboken's ``_mod_uses_pyside`` answer, without :mod:`inspect`."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as fh:
            return b"PySide6" in fh.read()
    except OSError:
        return False


def _built_names(module: ModuleType):
    """A ``__dir__`` listing the names ``module`` holds already (classes not yet built are left out)."""
    return lambda: list(module.__dict__)


def _mirror(name: str, source: ModuleType) -> ModuleType:
    """``pyqtgraph.Qt.<name>``: an empty module whose missing names come from ``source``
    (and stay, as if copied)."""
    mirror = ModuleType(f"pyqtgraph.Qt.{name}", f"pyqtgraph's view of {source.__name__}")

    def __getattr__(attr: str):
        if attr.startswith("__"):  # module dunders (__path__, __file__ ...): not Qt's
            raise AttributeError(f"module {mirror.__name__!r} has no attribute {attr!r}")
        value = getattr(source, attr)
        setattr(mirror, attr, value)  # later look-ups (pyqtgraph's drawing code) find it directly
        return value

    mirror.__getattr__ = __getattr__  # type: ignore[method-assign]
    return mirror

"""Importing a library without the optional modules it probes for and the reader app never uses.

A cold start of the reading window pays for every module imported: nibabel imports
pydicom (for DICOM extensions inside NIfTI headers, ~0.15 s) and pyqtgraph imports
``cuda.bindings`` (a CUDA path of a widget we do not use, 0.1-0.3 s where torch is installed).
:func:`import_without` hides such modules only while the library is first imported; they stay
importable afterwards for anyone else in the process (the library keeps its "not available"
answer, for features the reader app does not use).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(name: str, hidden: tuple[str, ...]) -> ModuleType:
    """``import name`` (once) with the modules ``hidden`` made unimportable meanwhile."""
    if name in sys.modules:
        return sys.modules[name]
    blocked = [h for h in hidden if h not in sys.modules]
    for h in blocked:
        sys.modules[h] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        return importlib.import_module(name)
    finally:
        for h in blocked:
            if h in sys.modules and sys.modules[h] is None:
                del sys.modules[h]

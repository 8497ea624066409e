"""DESIGN.md's import rules, checked in fresh interpreters.

- ``studies`` and ``model`` never import Qt;
- ``studies`` never imports ``model``, ``reader_app`` or torch;
- importing ``reader_app`` (and its entry point) never imports torch;
- ``reader_app.domain`` and ``reader_app.controllers`` never import Qt or pyqtgraph (the
  reading logic and the controllers run, and are tested, without a display).
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    root = REPO.joinpath(*package.split("."))
    names = [package]
    for info in pkgutil.walk_packages([str(root)], prefix=f"{package}."):
        names.append(info.name)
    return names


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def _top(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_studies_imports_no_qt_torch_model_or_app():
    top = _top(_loaded_after_import(_modules("studies")))
    forbidden = {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "torch", "timm", "model", "reader_app"}
    assert not (top & forbidden), f"studies pulled in {sorted(top & forbidden)}"


def test_model_imports_no_qt():
    top = _top(_loaded_after_import(_modules("model")))
    forbidden = {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "reader_app"}
    assert not (top & forbidden), f"model pulled in {sorted(top & forbidden)}"


@pytest.mark.parametrize("entry", [["reader_app"], None])
def test_reader_app_starts_without_torch(entry):
    modules = entry or _modules("reader_app")
    top = _top(_loaded_after_import(modules))
    assert "torch" not in top and "timm" not in top and "model" not in top


@pytest.mark.parametrize("layer", ["reader_app.domain", "reader_app.controllers"])
def test_reader_app_domain_and_controllers_import_no_qt(layer):
    modules = _modules(layer)
    assert len(modules) > 3  # the layer's package and its modules
    top = _top(_loaded_after_import(modules))
    forbidden = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"}
    assert not (top & forbidden), f"{layer} pulled in {sorted(top & forbidden)}"

"""What the quick start changes is invisible: the automatic window from a strided sample, and
pyqtgraph imported with lazy Qt mirrors, give what a reader and the code saw before."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np

from reader_app.domain.windowing import Window, apply_window, percentile_window
from reader_app.ui.pyqtgraph_import import source_mentions_pyside

ROOT = Path(__file__).resolve().parents[2]


def _knee_like(shape, seed=1):
    """An int16 MR-like volume: a bright blob in tissue with noise, air (0) around it."""
    rng = np.random.default_rng(seed)
    x, y, z = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    r2 = x[:, None, None] ** 2 + y[None, :, None] ** 2 + z[None, None, :] ** 2
    vol = 300 + 500 * np.exp(-r2 * 3) + rng.normal(0, 25, size=shape).astype(np.float32)
    vol[r2 > 1.5] = 0
    return vol.astype(np.int16)


def test_automatic_window_from_a_strided_sample_looks_like_the_full_volumes():
    vol = _knee_like((36, 384, 384))  # a full-size COR IW TSE
    sampled = percentile_window(vol)
    flat = vol.reshape(-1).astype(np.float64)
    lo, hi = np.percentile(flat[flat > flat.min()], [1.0, 99.0])  # every voxel
    exact = Window.from_levels(float(lo), float(hi))
    assert abs(sampled.levels[0] - exact.levels[0]) <= 0.01 * exact.width
    assert abs(sampled.levels[1] - exact.levels[1]) <= 0.01 * exact.width
    # on screen: no grey level differs by more than 2 of 255 anywhere on the middle slice
    middle = vol[vol.shape[0] // 2]
    shown = apply_window(middle, sampled).astype(int) - apply_window(middle, exact).astype(int)
    assert np.abs(shown).max() <= 2


def test_integer_and_float_samples_give_the_same_window():
    vol = _knee_like((20, 64, 64))
    assert percentile_window(vol, 5, 99.5) == percentile_window(vol.astype(np.float64), 5, 99.5)
    extreme = np.array([0, -32768, 32767] * 20, np.int16)  # int16 interpolation would overflow
    assert percentile_window(extreme) == percentile_window(extreme.astype(np.float64))


def test_source_mentions_pyside_reads_the_file(tmp_path):
    with_qt, without = tmp_path / "a.py", tmp_path / "b.py"
    with_qt.write_text("from PySide6 import QtCore\n")
    without.write_text("import os\n")
    mods = {p: types.ModuleType(p.stem) for p in (with_qt, without)}
    for p, m in mods.items():
        m.__file__ = str(p)
    assert source_mentions_pyside(mods[with_qt]) and not source_mentions_pyside(mods[without])
    assert not source_mentions_pyside(types.ModuleType("builtin_like"))  # no file
    compiled = types.ModuleType("ext")
    compiled.__file__ = str(tmp_path / "ext.abi3.so")
    assert not source_mentions_pyside(compiled)


def test_pyqtgraph_with_lazy_mirrors_sees_the_same_qt_and_leaves_pyside_as_it_was():
    code = textwrap.dedent("""
        import sys
        import PySide6.QtCore as C, PySide6.QtGui as G, PySide6.QtWidgets as W
        feature = sys.modules["shibokensupport.feature"]
        check = feature._mod_uses_pyside
        lazy = "QCalendarWidget" not in W.__dict__  # this PySide6 builds classes on first use
        dirs = [set(dir(m)) for m in (C, G, W)]
        from reader_app.ui.app import import_pyqtgraph
        pg = import_pyqtgraph()
        from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
        assert QtWidgets.QGraphicsObject is W.QGraphicsObject
        assert QtWidgets.QCalendarWidget is W.QCalendarWidget  # asked for: forwarded,
        assert vars(QtWidgets)["QCalendarWidget"] is W.QCalendarWidget  # and kept for the next time
        assert QtCore.Qt.AlignmentFlag.AlignLeft is C.Qt.AlignmentFlag.AlignLeft
        assert QtGui.QImage is G.QImage
        assert [set(dir(m)) for m in (C, G, W)] == dirs and feature._mod_uses_pyside is check
        assert pg.ImageItem and pg.ViewBox and "cuda.bindings.runtime" not in sys.modules
        assert not lazy or "QUndoView" not in W.__dict__  # a class nobody asked for: never built
        assert feature.pyside_feature_dict["pyqtgraph.Qt"] == 0  # its source imports PySide6
        assert feature.pyside_feature_dict["pyqtgraph.colormap"] == -1
        print("OK")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "OK", res.stderr


def test_the_first_pair_is_drawn_without_the_libraries_the_reading_window_does_not_use(tmp_path):
    from study_factory import make_study

    study = make_study(tmp_path, n_pairs=2).study
    out = tmp_path / "first.png"
    code = textwrap.dedent(f"""
        import sys
        from reader_app.main import main
        assert main([{str(study)!r}, "--reader", "r1", "--screenshot", {str(out)!r}]) == 0
        heavy = ("pandas", "scipy", "matplotlib", "torch", "pydicom", "sklearn", "SimpleITK")
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

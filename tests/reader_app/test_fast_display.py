"""The display's fast paths, plain numpy: the blocked reorder, the RGB32 window tables,
and imports without unused optional modules."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from reader_app.domain.quiet_import import import_without
from reader_app.domain.volumes import blocked_copy, to_display
from reader_app.domain.windowing import Window, apply_window, grey_table, window_rgb32


@pytest.mark.parametrize("block", [1, 3, 8, 64])
def test_blocked_copy_equals_a_contiguous_copy_for_any_strides(block):
    rng = np.random.default_rng(1)
    ras = np.asfortranarray(rng.integers(-500, 3000, size=(17, 11, 13), dtype=np.int16))
    for axes in [(0, 2, 1), (1, 2, 0), (2, 0, 1)]:
        view = np.transpose(ras, axes)[:, ::-1, ::-1]
        out = blocked_copy(view, block)
        assert out.flags.c_contiguous and np.array_equal(out, np.ascontiguousarray(view))
    assert blocked_copy(np.zeros((0, 3, 3), np.int16)).shape == (0, 3, 3)


def test_to_display_keeps_the_documented_orientation():
    ras = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6, order="F")
    sag = to_display(ras, (0.7, 0.4, 0.5), "sag_3d_dess")
    assert sag.data.shape == (4, 6, 5) and sag.data.flags.c_contiguous
    assert sag.data[1, 0, 0] == ras[1, -1, -1]  # top-left: superior, anterior
    assert sag.pixel_mm == (0.5, 0.4) and sag.slice_mm == 0.7


def _grey(pixels):
    assert pixels.dtype == np.uint32 and np.all(pixels >> 24 == 0xFF)  # opaque
    r, g, b = (pixels >> 16) & 0xFF, (pixels >> 8) & 0xFF, pixels & 0xFF
    assert np.array_equal(r, g) and np.array_equal(g, b)
    return b.astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.float32])
def test_window_rgb32_matches_apply_window_for_every_type(dtype):
    rng = np.random.default_rng(2)
    lo, hi = (20, 200) if dtype == np.uint8 else (-300, 2500)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    low = info.min if info else -1000
    high = info.max if info else 5000
    img = rng.integers(max(low, -2000), min(high, 4000), size=(37, 41)).astype(dtype)
    img[0, 0], img[0, 1] = (info.min, info.max) if info else (-1e6, 1e6)
    expected = apply_window(img, Window.from_levels(lo, hi))
    assert np.array_equal(_grey(window_rgb32(img, (lo, hi))), expected)
    assert np.array_equal(_grey(window_rgb32(img, (lo, hi), inverted=True)), 255 - expected)


def test_grey_tables_are_cached_read_only_and_bounded():
    a = grey_table((0.0, 100.0), np.int16)
    assert grey_table((0.0, 100.0), np.int16) is a and not a.flags.writeable and a.shape == (65536,)
    assert grey_table((0.0, 100.0), np.int16, inverted=True) is not a
    for i in range(40):
        grey_table((float(i), 500.0), np.uint16)
    from reader_app.domain import windowing
    assert len(windowing._TABLES) <= windowing._TABLES_KEPT


def test_import_without_hides_a_module_only_while_importing(monkeypatch):
    monkeypatch.delitem(sys.modules, "json.tool", raising=False)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    seen = {}

    class Probe:
        def find_spec(self, name, path=None, target=None):
            if name == "colorsys":
                seen["json.tool hidden"] = sys.modules.get("json.tool", "absent") is None
            return None

    probe = Probe()
    sys.meta_path.insert(0, probe)
    try:
        mod = import_without("colorsys", ("json.tool",))
    finally:
        sys.meta_path.remove(probe)
    assert mod.__name__ == "colorsys" and seen == {"json.tool hidden": True}
    assert "json.tool" not in sys.modules or sys.modules["json.tool"] is not None
    import json.tool  # importable again afterwards

    assert json.tool is not None
    assert import_without("colorsys", ()) is mod  # once imported, returned as is


def _full_table(levels, dtype, inverted):
    """Every value of ``dtype`` windowed one by one (the table's definition)."""
    dtype = np.dtype(dtype)
    n = 1 << (8 * dtype.itemsize)
    values = np.arange(n, dtype=np.int64)
    if dtype.kind == "i":
        values[n // 2:] -= n
    grey = apply_window(values, Window.from_levels(*levels))
    return (np.uint32(0xFF000000) | ((255 - grey if inverted else grey).astype(np.uint32) * np.uint32(0x010101)))


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int8, np.uint8])
@pytest.mark.parametrize("levels", [(250.3, 900.7), (-40000.0, 40000.0), (-5.5, 3.2), (0.0, 1.0), (100.0, 100.5),
                                    (70000.0, 80000.0), (-90000.0, -80000.0), (-1317.55, 1502.19)])
def test_grey_table_built_over_the_ramp_only_equals_every_value_windowed(dtype, levels):
    from reader_app.domain import windowing

    for inverted in (False, True):
        windowing._TABLES.clear()
        assert np.array_equal(grey_table(levels, dtype, inverted=inverted), _full_table(levels, dtype, inverted))


def test_window_rgb32_writes_into_a_given_buffer():
    img = np.arange(-200, 200, dtype=np.int16).reshape(20, 20)
    for dtype_img in (img, img.astype(np.float32)):
        out = np.zeros((20, 20), np.uint32)
        got = window_rgb32(dtype_img, (-100.0, 100.0), out=out)
        assert got is out and np.array_equal(out, window_rgb32(dtype_img, (-100.0, 100.0)))

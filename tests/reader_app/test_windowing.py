"""Window/level math: percentiles, presets, right-drag, relative linking, mapping to grey."""

from __future__ import annotations

import numpy as np
import pytest

from reader_app.domain.windowing import (
    MIN_WIDTH,
    PRESETS,
    Window,
    apply_window,
    drag,
    from_relative,
    percentile_window,
    preset_window,
    to_relative,
)


def test_levels_round_trip():
    w = Window.from_levels(100, 300)
    assert (w.center, w.width) == (200, 200) and w.levels == (100, 300)
    assert Window(5, 0).width == MIN_WIDTH
    with pytest.raises(ValueError):
        Window(float("nan"), 10)


def test_percentile_window_ignores_zero_background():
    vol = np.zeros((10, 50, 50), dtype=np.int16)
    vol[:, 10:40, 10:40] = np.arange(900).reshape(30, 30) + 100  # foreground 100..999
    w = percentile_window(vol, 0, 100)
    assert w.levels == (100, 999)
    lo, hi = percentile_window(vol, 1, 99).levels
    assert 100 < lo < 120 and 980 < hi < 999


def test_constant_volume_gets_a_usable_window():
    w = percentile_window(np.full((3, 4, 4), 7, dtype=np.int16))
    assert w.width == MIN_WIDTH and w.center == 7


def test_presets_are_ordered_and_named_errors():
    vol = np.random.default_rng(0).normal(500, 100, (5, 40, 40))
    widths = {name: preset_window(vol, name).width for name in PRESETS}
    assert widths["Full range"] > widths["Auto (1-99 %)"] > widths["High contrast (20-95 %)"]
    with pytest.raises(ValueError, match="unknown preset"):
        preset_window(vol, "Bone")


def test_drag_right_widens_and_up_raises_level():
    ref = Window(500, 400)
    w = drag(ref, dx=100, dy=0, reference=ref)
    assert w.width == pytest.approx(600) and w.center == 500
    w = drag(ref, dx=0, dy=-50, reference=ref)
    assert w.center == pytest.approx(600) and w.width == 400
    assert drag(ref, dx=-10_000, dy=0, reference=ref).width == MIN_WIDTH


def test_relative_link_keeps_contrast_across_scalings():
    ref_a, ref_b = Window(500, 400), Window(1000, 800)  # knee B's scanner doubled intensities
    a = Window(600, 200)
    b = from_relative(to_relative(a, ref_a), ref_b)
    assert (b.center, b.width) == (1200, 400)


def test_apply_window_maps_levels_to_black_and_white():
    img = np.array([[0, 100, 200, 300]], dtype=np.int16)
    out = apply_window(img, Window.from_levels(100, 300))
    assert out.dtype == np.uint8 and out.tolist() == [[0, 0, 127, 255]]

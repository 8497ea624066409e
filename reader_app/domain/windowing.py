"""Window/level math for MR display, plain numpy.

A window is a ``center`` and a ``width`` in the image's own intensity units; the screen shows
``center - width/2`` as black and ``center + width/2`` as white. MR intensities are not
calibrated like CT's Hounsfield units, so the presets are percentiles of each volume's
foreground rather than fixed numbers, and linking the windows of two knees works in units
relative to each knee's automatic window (see :func:`to_relative`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Smallest width a window may take (in intensity units), so levels never collapse.
MIN_WIDTH = 1.0

#: Presets, in display order: name -> (low percentile, high percentile) of the foreground.
PRESETS: dict[str, tuple[float, float]] = {
    "Auto (1-99 %)": (1.0, 99.0),
    "Full range": (0.0, 100.0),
    "Soft tissue (5-99.5 %)": (5.0, 99.5),
    "High contrast (20-95 %)": (20.0, 95.0),
    "Bright detail (50-99.9 %)": (50.0, 99.9),
}
DEFAULT_PRESET = "Auto (1-99 %)"

#: Voxels sampled to estimate percentiles (a strided sample: fast and deterministic).
SAMPLE_SIZE = 200_000


@dataclass(frozen=True)
class Window:
    """A display window in intensity units (``width`` >= :data:`MIN_WIDTH`)."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.center) or not np.isfinite(self.width):
            raise ValueError(f"window must be finite, got center={self.center}, width={self.width}")
        if self.width < MIN_WIDTH:
            object.__setattr__(self, "width", MIN_WIDTH)

    @property
    def levels(self) -> tuple[float, float]:
        """(black, white) intensity levels."""
        return (self.center - self.width / 2.0, self.center + self.width / 2.0)

    @classmethod
    def from_levels(cls, low: float, high: float) -> Window:
        return cls(center=(low + high) / 2.0, width=max(high - low, MIN_WIDTH))


def _sample(volume: np.ndarray) -> np.ndarray:
    flat = np.asarray(volume).reshape(-1)
    step = max(1, flat.size // SAMPLE_SIZE)
    return flat[::step]


def percentile_window(volume: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> Window:
    """Window spanning the ``low_pct``..``high_pct`` percentiles of the foreground.

    The foreground is every sampled voxel above the volume's minimum (MR background is
    usually zero and would otherwise dominate the low percentiles). A constant volume
    gets a window of :data:`MIN_WIDTH` around its value.
    """
    if not 0.0 <= low_pct < high_pct <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {low_pct}, {high_pct}")
    sample = _sample(volume)
    if sample.dtype.kind not in "iub":  # integers are all finite
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return Window(0.0, MIN_WIDTH)
    fg = sample[sample > sample.min()]
    if fg.size < 16:
        fg = sample
    # float64: numpy interpolates integer percentiles in the integer type (int16 overflows)
    lo, hi = np.percentile(fg.astype(np.float64), [low_pct, high_pct])
    return Window.from_levels(float(lo), float(hi))


def preset_window(volume: np.ndarray, preset: str) -> Window:
    """The window of a named :data:`PRESETS` entry for ``volume``."""
    try:
        lo, hi = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}") from None
    return percentile_window(volume, lo, hi)


def drag(window: Window, dx: float, dy: float, reference: Window, *, sensitivity: float = 1.0) -> Window:
    """Window after a right-drag of ``dx``, ``dy`` screen pixels (right and down positive).

    Dragging right widens the window (less contrast), dragging up raises the level (the
    image darkens), as on most PACS workstations. One pixel moves by 1/200 of the
    ``reference`` (automatic) window's width, scaled by ``sensitivity``.
    """
    step = reference.width / 200.0 * sensitivity
    width = max(window.width + dx * step, MIN_WIDTH)
    return Window(center=window.center - dy * step, width=width)


def to_relative(window: Window, reference: Window) -> tuple[float, float]:
    """Express ``window`` relative to ``reference``: (center offset in widths, width ratio)."""
    return ((window.center - reference.center) / reference.width, window.width / reference.width)


def from_relative(relative: tuple[float, float], reference: Window) -> Window:
    """Inverse of :func:`to_relative` for another image's ``reference`` window.

    Linking two knees' windows this way keeps both equally contrasted even when their
    scanners scaled intensities differently.
    """
    offset, ratio = relative
    return Window(center=reference.center + offset * reference.width, width=ratio * reference.width)


def apply_window(image: np.ndarray, window: Window) -> np.ndarray:
    """Map ``image`` through ``window`` to uint8 grey levels (0 black, 255 white), any shape."""
    lo, hi = window.levels
    out = (np.asarray(image, dtype=np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


#: Opaque grey in a 32-bit RGB pixel (0xffRRGGBB), per 8-bit grey level.
_GREY_RGB32 = (np.uint32(0xFF000000) | (np.arange(256, dtype=np.uint32) * np.uint32(0x010101))).astype(np.uint32)
_TABLES: dict[tuple, np.ndarray] = {}
_TABLES_KEPT = 16


def grey_table(levels: tuple[float, float], dtype: np.dtype, *, inverted: bool = False) -> np.ndarray:
    """Lookup table from every value of a 16- or 8-bit integer ``dtype`` to an opaque grey
    32-bit RGB pixel for ``levels`` (black, white): index it with the image viewed as unsigned
    (:func:`window_rgb32`). ``inverted`` swaps black and white. A few tables are cached (a
    scroll keeps the same window; a right-drag changes it per frame: 65,536 entries, < 1 ms)."""
    dtype = np.dtype(dtype)
    key = (float(levels[0]), float(levels[1]), dtype.str, bool(inverted))
    table = _TABLES.get(key)
    if table is None:
        table = _build_table(key[0], key[1], dtype, bool(inverted))
        table.flags.writeable = False
        if len(_TABLES) >= _TABLES_KEPT:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = table
    return table


def _build_table(low: float, high: float, dtype: np.dtype, inverted: bool) -> np.ndarray:
    """The table of :func:`grey_table`, computed only over the window's ramp.

    :func:`apply_window` is monotone in the value, so every value at or below
    ``floor(low)`` maps to its black and every value at or above ``ceil(high)`` to its white:
    only the values in between need the arithmetic (a few hundred to a few thousand for MR
    windows, instead of 65,536 per new window: each knee's automatic window is new)."""
    n = 1 << (8 * dtype.itemsize)
    vmin = -(n // 2) if dtype.kind == "i" else 0
    vmax = vmin + n - 1
    window = Window.from_levels(low, high)  # widened to MIN_WIDTH as apply_window sees it
    lo, hi = window.levels
    a = int(min(max(np.floor(lo), vmin), vmax))
    b = int(min(max(np.ceil(hi), a), vmax))
    ramp = apply_window(np.arange(a, b + 1, dtype=np.int64), window)
    if inverted:
        ramp = 255 - ramp
    signed = np.empty(n, dtype=np.uint32)  # indexed by value - vmin
    signed[: a - vmin] = _GREY_RGB32[ramp[0]]
    signed[a - vmin: b - vmin + 1] = _GREY_RGB32[ramp]
    signed[b - vmin + 1:] = _GREY_RGB32[ramp[-1]]
    if vmin:  # two's complement: the unsigned view's order (0..32767, then -32768..-1)
        signed = np.concatenate([signed[-vmin:], signed[:-vmin]])
    return signed


def window_rgb32(image: np.ndarray, levels: tuple[float, float], *, inverted: bool = False,
                 out: np.ndarray | None = None) -> np.ndarray:
    """A 2D ``image`` windowed to opaque grey 32-bit RGB pixels (uint32 0xffRRGGBB, same shape):
    one table look-up per pixel for 8- and 16-bit integers, arithmetic for other types.
    Drawn by Qt as ``Format_RGB32``, the format its raster engine scales fastest.

    ``out``: a C-contiguous uint32 array of the image's shape to write into (returned)."""
    image = np.asarray(image)
    if image.dtype.kind in "iu" and image.dtype.itemsize <= 2:
        unsigned = image.view(np.dtype(f"u{image.dtype.itemsize}"))
        # take: ~2x faster than []
        return np.take(grey_table(levels, image.dtype, inverted=inverted), unsigned, out=out)
    grey = apply_window(image, Window.from_levels(*levels))
    if inverted:
        grey = 255 - grey
    if out is None:
        return _GREY_RGB32[grey]
    return np.take(_GREY_RGB32, grey, out=out)

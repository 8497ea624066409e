"""From a label map to MR-like intensities: tissue contrast, texture, bias field, Rician noise.

Per sequence a table gives each tissue's relative signal (0-1):

* ``cor_iw_tse`` (intermediate-weighted turbo spin echo): fluid bright, fat bright,
  cartilage intermediate, muscle dark-grey, marrow intermediate, menisci/tendons/cortex black.
* ``sag_3d_dess`` (water-excited double-echo steady state): cartilage and fluid bright, fat
  and marrow dark (water excitation), muscle grey, menisci/tendons/cortex black.

The planted marrow lesion (:attr:`Label.BML`) looks as bone marrow oedema does: on the
non-fat-suppressed COR IW TSE (as in the OAI) it replaces bright fatty marrow and is markedly
darker than the marrow around it (0.18 against 0.55); on the water-excited DESS, whose marrow
is dark, it is brighter (0.55 against 0.17). The signal is then multiplied by a smooth bias
field (a coil's fall-off with distance, up to about ±35 %), textured (trabecular / muscle fibre patterns),
slightly blurred (partial volume), given Rician noise (the magnitude of a complex Gaussian
signal) and scaled to 12-bit integers.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from studies.synth.anatomy import Label
from studies.synth.geometry import Grid

#: Maximum stored value (12-bit MR data).
MAX_VALUE = 4095
#: Rician noise standard deviation, relative to a signal of 1.
NOISE_SIGMA = {"cor_iw_tse": 0.028, "sag_3d_dess": 0.035}
#: Scale from relative signal to stored value.
GAIN = {"cor_iw_tse": 1800.0, "sag_3d_dess": 1400.0}

_CONTRAST: dict[str, dict[Label, float]] = {
    "cor_iw_tse": {
        Label.AIR: 0.0, Label.FAT: 0.82, Label.MUSCLE: 0.30, Label.FEMUR: 0.55,
        Label.FEMUR_CORTEX: 0.05, Label.TIBIA: 0.55, Label.TIBIA_CORTEX: 0.05, Label.PATELLA: 0.55,
        Label.PATELLA_CORTEX: 0.05, Label.FEMORAL_CARTILAGE: 0.42, Label.TIBIAL_CARTILAGE: 0.42,
        Label.PATELLAR_CARTILAGE: 0.42, Label.MENISCUS: 0.04, Label.FLUID: 0.95, Label.TENDON: 0.06,
        Label.BML: 0.18, Label.FIBULA: 0.55, Label.VESSEL: 0.08,
    },
    "sag_3d_dess": {
        Label.AIR: 0.0, Label.FAT: 0.12, Label.MUSCLE: 0.30, Label.FEMUR: 0.17,
        Label.FEMUR_CORTEX: 0.02, Label.TIBIA: 0.17, Label.TIBIA_CORTEX: 0.02, Label.PATELLA: 0.17,
        Label.PATELLA_CORTEX: 0.02, Label.FEMORAL_CARTILAGE: 0.72, Label.TIBIAL_CARTILAGE: 0.72,
        Label.PATELLAR_CARTILAGE: 0.72, Label.MENISCUS: 0.03, Label.FLUID: 0.92, Label.TENDON: 0.03,
        Label.BML: 0.55, Label.FIBULA: 0.17, Label.VESSEL: 0.65,
    },
}
#: Relative amplitude of the trabecular texture (fine, isotropic) and of the soft-tissue texture
#: (muscle fibres and fat lobules: long along the leg) per tissue; other tissues are smooth.
_TRABECULAR = {Label.FEMUR: 0.22, Label.TIBIA: 0.22, Label.PATELLA: 0.22, Label.FIBULA: 0.22, Label.BML: 0.12}
_SOFT = {Label.MUSCLE: 0.16, Label.FAT: 0.03, Label.TENDON: 0.3}


def contrast_table(sequence: str) -> np.ndarray:
    """Relative signal per label value, shape (256,), float32."""
    lut = np.zeros(256, dtype=np.float32)
    for label, value in _CONTRAST[sequence].items():
        lut[label] = value
    return lut


def _amplitudes(table: dict[Label, float]) -> np.ndarray:
    lut = np.zeros(256, dtype=np.float32)
    for label, value in table.items():
        lut[label] = value
    return lut


def smooth_noise(shape: tuple[int, ...], spacing: tuple[float, ...], rng: np.random.Generator,
                 correlation_mm: float | tuple[float, ...]) -> np.ndarray:
    """Random field (float32, ``shape``), unit variance, correlated over ``correlation_mm``.

    ``correlation_mm`` is one length or one per array axis (e.g. long along the leg for muscle
    fibres). Drawn on a coarse grid (one node per correlation length, never finer than the
    voxels) and interpolated linearly (nearest-neighbour repeat, then a box filter of the
    same width: cheap, and exactly linear interpolation).
    """
    corr = np.broadcast_to(np.asarray(correlation_mm, dtype=float), (len(shape),))
    factors = [max(1, int(round(c / sp))) for c, sp in zip(corr, spacing, strict=True)]
    coarse = tuple(-(-n // f) + 1 for n, f in zip(shape, factors, strict=True))
    field = rng.standard_normal(coarse, dtype=np.float32)
    variance = 1.0
    for axis, f in enumerate(factors):
        if f > 1:
            field = np.repeat(field, f, axis=axis)
            w = np.arange(f) / f
            variance *= float(np.mean(w**2 + (1 - w) ** 2))
    if any(f > 1 for f in factors):
        field = ndimage.uniform_filter(field, size=factors, mode="nearest")
    field = field[tuple(slice(0, n) for n in shape)]
    return field / np.float32(np.sqrt(variance))


def bias_field(grid: Grid, rng: np.random.Generator) -> np.ndarray:
    """Smooth multiplicative field (float32, ``grid.shape``), about 0.65-1.35.

    A receive coil's sensitivity falls off away from a point near the skin; modelled as a
    Gaussian bump around a random point plus a linear gradient (both separable, so built from
    one 1-D profile per axis).
    """
    bump = np.ones((1, 1, 1), dtype=np.float32)
    lin = np.zeros((1, 1, 1), dtype=np.float32)
    for k, (n, sp) in enumerate(zip(grid.shape, grid.spacing, strict=True)):
        x = (np.arange(n, dtype=np.float32) - (n - 1) / 2) * sp
        fov = n * sp
        shape = [1, 1, 1]
        shape[k] = n
        c = rng.uniform(-0.35, 0.35) * fov
        w = max(fov, 60.0) * rng.uniform(0.7, 1.0)
        bump = bump * np.exp(-(((x - c) / w) ** 2)).astype(np.float32).reshape(shape)
        lin = lin + (rng.uniform(-0.12, 0.12) * x / (fov / 2)).astype(np.float32).reshape(shape)
    field = np.empty(grid.shape, dtype=np.float32)
    np.multiply(bump, np.float32(0.6), out=field)
    field += lin
    field += np.float32(0.7)
    return field


def _block_mean(values: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Average each ``factors`` block: (n0*f0, n1*f1, n2*f2) -> (n0, n1, n2), float32."""
    if factors == (1, 1, 1):
        return values
    total = None
    for i in range(factors[0]):
        for j in range(factors[1]):
            for k in range(factors[2]):
                part = values[i::factors[0], j::factors[1], k::factors[2]]
                total = part.astype(np.float32) if total is None else total + part
    total *= np.float32(1.0 / (factors[0] * factors[1] * factors[2]))
    return total


def render_image(labels: np.ndarray, grid: Grid, sequence: str, rng: np.random.Generator,
                 supersample: tuple[int, int, int] = (1, 1, 1)) -> np.ndarray:
    """MR-like magnitude image (uint16, shape ``grid.shape``) of a label map.

    ``labels`` is drawn on ``grid`` split ``supersample`` times per axis (shape
    ``grid.shape * supersample``); each voxel's signal is the mean over its sub-voxels
    (partial volume). ``rng`` drives the texture, bias field and noise: the same generator
    state gives the same pixels.
    """
    factors = tuple(int(f) for f in supersample)
    signal = _block_mean(contrast_table(sequence)[labels], factors)
    centre = labels[tuple(slice(f // 2, None, f) for f in factors)]  # one sub-voxel per voxel
    # rows run along the leg (superior-inferior) in both sequences
    for table, corr in ((_TRABECULAR, 1.2), (_SOFT, (1.8, 12.0, 1.8))):
        texture = _amplitudes(table)[centre]
        texture *= smooth_noise(grid.shape, grid.spacing, rng, corr)
        texture += np.float32(1.0)
        signal *= texture
    blur = [min(0.6, 0.35 / sp * 1.0) if k else 0.0 for k, sp in enumerate(grid.spacing)]
    signal = ndimage.gaussian_filter(signal, sigma=blur, mode="nearest", truncate=2.0)
    signal *= bias_field(grid, rng)
    sigma = np.float32(NOISE_SIGMA[sequence])
    real = rng.standard_normal(signal.shape, dtype=np.float32)
    real *= sigma
    real += signal
    np.square(real, out=real)
    imag = rng.standard_normal(signal.shape, dtype=np.float32)
    imag *= sigma
    np.square(imag, out=imag)
    real += imag
    np.sqrt(real, out=real)  # Rician magnitude
    real *= np.float32(GAIN[sequence])
    np.rint(real, out=real)
    np.clip(real, 0, MAX_VALUE, out=real)
    return real.astype(np.uint16)

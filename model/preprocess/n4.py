"""N4 bias field correction: the slow whole-volume reference and a fast slab method.

Both fit SimpleITK's N4 (Tustison et al. 2010) on a shrunk copy of the image, inside an Otsu
foreground mask, then evaluate the fitted log bias field at full resolution
(``GetLogBiasFieldAsImage``) and divide it out.

- :func:`n4_reference`: the whole volume, shrink 4 in every axis, SimpleITK's defaults
  (4 fitting levels x 50 iterations, convergence threshold 0.001); the usual recipe, ~29 s
  for a 384 x 384 x 36 COR IW TSE volume on this platform.
- :func:`n4_slab`: only the slab of slices that the model uses plus 2 slices each side,
  shrunk in-plane (16x for COR IW TSE, 8x for SAG 3D DESS; less for tiny images: at least
  12 pixels across) and not along the slice axis, up to 4 levels x 15 iterations (see the
  levels rule below), the same threshold. The bias field is smooth, so the slab holds enough of it and a coarse grid
  samples it well; ``tests/benchmarks/bench_model_preprocess.py`` prints the speed-up and
  the correlation with the reference on the 8-slice stacks (chosen from measurements on the
  real MR sample in shared/data/real-mr: 0.997 correlation at ~10x). Agreement is measured
  on the stacks the model sees (after the 10/80 percentile clipping): outside the Otsu mask
  both fields are extrapolations, and the clipping sends that background to 0 in both.

The levels rule (:func:`fit_levels`). N4 fits a cubic B-spline field whose control-point
lattice starts at one span across each axis (SimpleITK's 4 control points) and doubles its
spans at every fitting level, so the 4th level has 8 spans. The fast fit keeps at most the
levels whose finest span still covers :data:`MIN_SPAN_PIXELS` (2) pixels of the shrunk fit
image in the slice plane: a lattice finer than that has about one control point per fitted
pixel and follows the anatomy rather than a smooth field. At full size (384 px) the fit image
is 24 (COR IW TSE) or 48 (DESS) pixels across and all 4 levels stay (the result is unchanged);
the demo's 96-px synthetic slices give a 12-pixel fit image and 3 levels (4 spans of 3 px).
Along the slice axis the slab has its 12 slices at every image size, the lattice that was
validated at full size, so the rule looks at the slice plane only. Measured on 96-px knees
(``bench_model_preprocess.py``): the agreement with the reference of 4 levels to within 0.005
of correlation, about a quarter less CPU time (figures in docs/model.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk

#: Parameters of the reference (slow) correction.
REFERENCE = {"shrink": 4, "iterations": (50, 50, 50, 50), "threshold": 1e-3}
#: Parameters of the fast slab correction.
FAST = {"shrink": 8, "iterations": (15, 15, 15, 15), "threshold": 1e-3, "margin": 2}
#: Per-sequence overrides of :data:`FAST`. COR IW TSE slabs are thick (12 x 3 mm): a coarser
#: in-plane grid keeps the fit >= 10x faster than the reference at the same agreement
#: (measured: shrink 8 gave 4x, 16 gives 13.6x, correlation 0.996); DESS slabs are thin
#: (12 x 0.7 mm), already ~18x faster at shrink 8, and shrink 16 costs agreement (0.988).
FAST_BY_SEQUENCE = {"cor_iw_tse": {"shrink": 16}, "sag_3d_dess": {}}
#: The fast fit keeps at least this many pixels across the slice plane (shrink 8 at 384 and
#: 96 px, 4 at 48 px).
MIN_FIT_PIXELS = 12
#: The finest B-spline span of the fast fit covers at least this many fit pixels in the slice
#: plane (:func:`fit_levels`).
MIN_SPAN_PIXELS = 2
#: Spans of the B-spline lattice across each axis at the first fitting level (SimpleITK's
#: default of 4 control points for a cubic spline); every further level doubles them.
FIRST_LEVEL_SPANS = 1


def fit_levels(fit_pixels: int, max_levels: int) -> int:
    """Fitting levels (1..``max_levels``) whose finest lattice span covers at least
    :data:`MIN_SPAN_PIXELS` of ``fit_pixels`` (the shrunk fit image's smaller in-plane size).

    >>> fit_levels(12, 4), fit_levels(24, 4), fit_levels(48, 4), fit_levels(3, 4)
    (3, 4, 4, 1)
    """
    levels = 1
    while levels < max_levels and fit_pixels / (FIRST_LEVEL_SPANS * 2**levels) >= MIN_SPAN_PIXELS:
        levels += 1
    return levels


def fit_spacing(image: sitk.Image) -> tuple[float, float, float]:
    """The spacing (mm, x y z) of the canonical grid N4 fits on: ``image``'s rounded to 1 um.

    With the voxel values, it is all of the geometry a correction depends on (origin and
    direction are dropped), so it is what a content key of a volume needs
    (:func:`model.preprocess.cache.volume_hash`)."""
    return tuple(round(s, 3) for s in image.GetSpacing())


def foreground_mask(image: sitk.Image) -> sitk.Image:
    """Otsu foreground (uint8, 1 inside); the whole image when Otsu finds nothing useful."""
    mask = sitk.OtsuThreshold(image, 0, 1, 200)
    if sitk.GetArrayViewFromImage(mask).sum() < 16:
        mask = sitk.Image(image.GetSize(), sitk.sitkUInt8) + 1
        mask.CopyInformation(image)
    return mask


def _correct(
    image: sitk.Image,
    shrink: Sequence[int],
    iterations: Sequence[int],
    threshold: float,
) -> sitk.Image:
    """Fit N4 on ``image`` shrunk by ``shrink`` (per axis x, y, z); return the corrected image."""
    source = image
    # Fit on a canonical grid (origin 0, identity direction, spacing rounded to 1 um): the
    # field depends on the voxel grid only, and float noise in the geometry (a NIfTI stores
    # float32, DICOM decimal strings) must not change the B-spline lattice.
    image = sitk.GetImageFromArray(sitk.GetArrayFromImage(sitk.Cast(image, sitk.sitkFloat32)))
    image.SetSpacing(fit_spacing(source))
    # N4 needs strictly positive intensities for its log transform.
    arr = sitk.GetArrayViewFromImage(image)
    lo = float(arr.min())
    if lo <= 0:
        image = image - lo + 1.0
    shrink = [max(1, min(int(s), n // 2 or 1)) for s, n in zip(shrink, image.GetSize(), strict=False)]
    small = sitk.Shrink(image, shrink)
    mask = foreground_mask(small)
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(i) for i in iterations])
    n4.SetConvergenceThreshold(float(threshold))
    n4.Execute(small, mask)
    log_bias = n4.GetLogBiasFieldAsImage(image)
    out = image / sitk.Exp(log_bias)
    if lo <= 0:
        out = out + lo - 1.0
    out = sitk.Cast(out, sitk.sitkFloat32)
    out.CopyInformation(source)
    return out


def n4_reference(image: sitk.Image, **params) -> sitk.Image:
    """Whole-volume N4 with :data:`REFERENCE` parameters (overridable); same grid as ``image``."""
    p = {**REFERENCE, **params}
    return _correct(image, [p["shrink"]] * 3, p["iterations"], p["threshold"])


def n4_slab(image: sitk.Image, array_axis: int, indices: np.ndarray, *, levels_rule: bool = True, **params) -> sitk.Image:
    """N4 fitted on the slab ``indices`` (+ margin) along ``array_axis`` of the LPS array.

    ``array_axis`` is the NumPy axis (0 = z, 1 = y, 2 = x) of ``sitk.GetArrayFromImage``.
    Returns the corrected slab (a sub-image of ``image`` with its geometry) covering exactly
    ``indices[0] .. indices[-1]``. The fit keeps the first :func:`fit_levels` entries of
    ``iterations`` (one per level), or all of them with ``levels_rule=False`` (for comparison).
    """
    p = {**FAST, **params}
    itk_axis = 2 - array_axis
    n = image.GetSize()[itk_axis]
    lo = max(0, int(indices[0]) - p["margin"])
    hi = min(n, int(indices[-1]) + 1 + p["margin"])
    index = [0, 0, 0]
    size = list(image.GetSize())
    index[itk_axis], size[itk_axis] = lo, hi - lo
    slab = sitk.RegionOfInterest(image, size, index)
    # in-plane shrink, but keep >= MIN_FIT_PIXELS pixels across (small test volumes)
    inplane = min(n for i, n in enumerate(image.GetSize()) if i != itk_axis)
    factor = max(1, min(p["shrink"], inplane // MIN_FIT_PIXELS))
    shrink = [factor] * 3
    shrink[itk_axis] = 1
    iterations = tuple(p["iterations"])
    if levels_rule:
        iterations = iterations[: fit_levels(inplane // factor, len(iterations))]
    corrected = _correct(slab, shrink, iterations, p["threshold"])
    index = [0, 0, 0]
    size = list(corrected.GetSize())
    index[itk_axis], size[itk_axis] = int(indices[0]) - lo, len(indices)
    return sitk.RegionOfInterest(corrected, size, index)

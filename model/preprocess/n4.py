"""N4 bias field correction: the slow whole-volume reference and a fast slab method.

Both fit SimpleITK's N4 (Tustison et al. 2010) on a shrunk copy of the image, inside an Otsu
foreground mask, then evaluate the fitted log bias field at full resolution
(``GetLogBiasFieldAsImage``) and divide it out.

- :func:`n4_reference`: the whole volume, shrink 4 in every axis, SimpleITK's defaults
  (4 fitting levels x 50 iterations, convergence threshold 0.001); the usual recipe, ~29 s
  for a 384 x 384 x 36 COR IW TSE volume on this platform.
- :func:`n4_slab`: only the slab of slices that the model uses plus 2 slices each side,
  shrunk in-plane (16x for COR IW TSE, 8x for SAG 3D DESS; less for tiny images: at least
  12 pixels across) and not along the slice axis, 4 levels x 15 iterations, the same
  threshold. The bias field is smooth, so the slab holds enough of it and a coarse grid
  samples it well; ``tests/benchmarks/bench_model_preprocess.py`` prints the speed-up and
  the correlation with the reference on the 8-slice stacks (chosen from measurements on the
  real MR sample in shared/data/real-mr: 0.997 correlation at ~10x). Agreement is measured
  on the stacks the model sees (after the 10/80 percentile clipping): outside the Otsu mask
  both fields are extrapolations, and the clipping sends that background to 0 in both.
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
    image.SetSpacing([round(s, 3) for s in source.GetSpacing()])
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


def n4_slab(image: sitk.Image, array_axis: int, indices: np.ndarray, **params) -> sitk.Image:
    """N4 fitted on the slab ``indices`` (+ margin) along ``array_axis`` of the LPS array.

    ``array_axis`` is the NumPy axis (0 = z, 1 = y, 2 = x) of ``sitk.GetArrayFromImage``.
    Returns the corrected slab (a sub-image of ``image`` with its geometry) covering exactly
    ``indices[0] .. indices[-1]``.
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
    shrink = [max(1, min(p["shrink"], inplane // MIN_FIT_PIXELS))] * 3
    shrink[itk_axis] = 1
    corrected = _correct(slab, shrink, p["iterations"], p["threshold"])
    index = [0, 0, 0]
    size = list(corrected.GetSize())
    index[itk_axis], size[itk_axis] = int(indices[0]) - lo, len(indices)
    return sitk.RegionOfInterest(corrected, size, index)

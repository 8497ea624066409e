"""The SAG 3D DESS reformatted to the coronal plane (plain numpy).

The DESS is a near-isotropic 3D acquisition (0.7 mm sagittal slices of 0.365 x 0.456 mm
pixels), so it can be shown in the plane of the joint space, the coronal plane, at far finer
slice spacing than the 3 mm COR IW TSE. :func:`coronal_reformat` reorders a sagittal display
volume into coronal slices (slice axis y, rows z superior to inferior, columns x medial to
lateral, like the COR IW TSE), keeping the DESS's affine, so cross-reference lines, linking and
measurement work on it as on any view. It is an optional view of the hanging protocol
(:data:`DESS_COR`), made on demand when the reader opens it.
"""

from __future__ import annotations

from reader_app.domain.volumes import DisplayVolume, blocked_copy

#: The view key of the DESS reformatted to the coronal plane (not a sequence of the manifest).
DESS_COR = "dess_cor"
#: The sequence it is made from.
DESS_SOURCE = "sag_3d_dess"


def coronal_reformat(sag: DisplayVolume) -> DisplayVolume:
    """Coronal slices of a sagittal DESS display volume (see the module docstring).

    ``sag.data`` is (x, z reversed, y reversed); the result is (y, z reversed, x reversed),
    i.e. display slice ``j`` is RAS voxel plane y = j, with pixels of (z, x) spacing.
    """
    view = sag.data.transpose(2, 1, 0)[::-1, :, ::-1]  # (y, z reversed, x reversed)
    return DisplayVolume(
        data=blocked_copy(view),
        pixel_mm=(sag.pixel_mm[0], sag.slice_mm),
        slice_mm=sag.pixel_mm[1],
        affine=sag.affine,
    )

"""Package volumes as display arrays: slice axis first, rows top to bottom, columns left to right.

Study packages store RAS+ NIfTI volumes (voxel order x, y, z with +x towards the patient's
right, +y anterior, +z superior) and right knees are already mirrored, so every knee looks
like a left knee. For a left knee the medial compartment lies towards the patient's midline,
i.e. towards +x. The views follow radiological convention:

========================  ===========  =====================  =================
sequence                  slice axis   screen left / right    screen top / bottom
========================  ===========  =====================  =================
``cor_iw_tse`` (coronal)  y            +x (medial) / lateral  superior / inferior
``sag_3d_dess`` (sagittal) x           +y (anterior) / post.  superior / inferior
========================  ===========  =====================  =================

so the orientation letters are M / L and S / I on coronal views and A / P and S / I on
sagittal views, and they stay true for right knees because those were mirrored into
left-knee geometry when the package was built.

A :class:`DisplayVolume` holds ``data`` of shape ``(n_slices, rows, cols)`` (C-contiguous,
so ``data[k]`` is a ready-to-draw 2D image) and the pixel size in mm of its rows and columns.
Loading never imports Qt; errors are :class:`studies.errors.InputFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reader_app.domain.ai import heatmap_sequences
from reader_app.domain.nifti_gzip import inflate_voxels_into
from reader_app.domain.quiet_import import import_without
from reader_app.domain.windowing import DEFAULT_PRESET, PRESETS, Window, percentile_window
from studies.errors import InputFileError
from studies.integrity import changed_problem
from studies.nifti_guard import volume_size_problem
from studies.package import AI_DIR, AI_HEATMAPS_DIR, IMAGES_DIR, SEQUENCE_LABELS, SEQUENCES, Case
from studies.package_paths import package_file

# without pydicom (DICOM extensions of NIfTI headers: never in a study package) and scipy
# (.mat files of SPM Analyze images: never in a study package), for a quick start
nib = import_without("nibabel", ("pydicom", "scipy"))

#: For each sequence: the RAS voxel axis that is sliced, then the axes shown as rows and columns.
SLICE_AXES: dict[str, tuple[int, int, int]] = {
    "cor_iw_tse": (1, 2, 0),  # slice y; rows z; columns x
    "sag_3d_dess": (0, 2, 1),  # slice x; rows z; columns y
    "dess_cor": (1, 2, 0),  # the DESS reformatted to the coronal plane (domain/reformat.py)
}

#: Orientation letters at the edges of each sequence's view (left, right, top, bottom).
ORIENTATION_LETTERS: dict[str, dict[str, str]] = {
    "cor_iw_tse": {"left": "M", "right": "L", "top": "S", "bottom": "I"},
    "sag_3d_dess": {"left": "A", "right": "P", "top": "S", "bottom": "I"},
    "dess_cor": {"left": "M", "right": "L", "top": "S", "bottom": "I"},
}

#: Titles of the views: the manifest's sequences and the optional DESS coronal reformat.
VIEW_LABELS: dict[str, str] = {**SEQUENCE_LABELS, "dess_cor": "DESS COR reformat"}


@dataclass(frozen=True)
class DisplayVolume:
    """One sequence of one knee, ready to draw.

    data : array (n_slices, rows, cols), the image's own dtype (int16 for packages).
    pixel_mm : (row height, column width) in mm, for the aspect ratio of the view.
    slice_mm : slice spacing in mm.
    """

    data: np.ndarray
    pixel_mm: tuple[float, float]
    slice_mm: float
    #: RAS voxel (i, j, k) -> world mm of the (canonical) volume, 4 x 4; None: unknown (the
    #: voxel sizes on the axes, from the origin, are assumed by :func:`reader_app.domain.crossref`).
    affine: np.ndarray | None = None

    @property
    def n_slices(self) -> int:
        return int(self.data.shape[0])

    @property
    def middle(self) -> int:
        """Index of the middle slice (where reading starts)."""
        return self.n_slices // 2

    @property
    def extent_mm(self) -> tuple[float, float]:
        """(height, width) of a slice in mm."""
        return (self.data.shape[1] * self.pixel_mm[0], self.data.shape[2] * self.pixel_mm[1])

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def orientation_letters(sequence: str) -> dict[str, str]:
    """Letters for the ``left``/``right``/``top``/``bottom`` edges of a view of ``sequence``."""
    return dict(ORIENTATION_LETTERS[sequence])


def to_display(ras: np.ndarray, zooms: tuple[float, float, float], sequence: str,
               affine: np.ndarray | None = None) -> DisplayVolume:
    """Reorder a RAS+ volume (x, y, z) into a :class:`DisplayVolume` for ``sequence``.

    Rows run superior to inferior (z descending); columns run +x to -x on coronal views and
    +y to -y on sagittal views (medial or anterior on the left of the screen).
    """
    if ras.ndim != 3:
        raise ValueError(f"expected a 3D volume (x, y, z), got shape {ras.shape}")
    s, r, c = SLICE_AXES[sequence]
    arr = np.transpose(ras, (s, r, c))[:, ::-1, ::-1]
    return _display_volume(blocked_copy(arr), zooms, sequence, affine)


def display_array(ras_shape: tuple[int, int, int], dtype, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """An empty display array for a RAS+ volume of ``ras_shape`` (x, y, z) shown as
    ``sequence``, and the view of it indexed like that volume: writing voxel ``(x, y, z)`` into
    the view puts it where :func:`to_display` would (so a reader can decode straight into
    display order)."""
    s, r, c = SLICE_AXES[sequence]
    out = np.empty((ras_shape[s], ras_shape[r], ras_shape[c]), dtype)
    return out, np.transpose(out[:, ::-1, ::-1], np.argsort((s, r, c)))


def _display_volume(data: np.ndarray, zooms, sequence: str, affine) -> DisplayVolume:
    s, r, c = SLICE_AXES[sequence]
    return DisplayVolume(
        data=data, pixel_mm=(float(zooms[r]), float(zooms[c])), slice_mm=float(zooms[s]),
        affine=None if affine is None else np.asarray(affine, dtype=float),
    )


#: Planes of the source copied at a time by :func:`blocked_copy` (a few MB: they stay in cache).
COPY_BLOCK = 8


def blocked_copy(view: np.ndarray, block: int = COPY_BLOCK) -> np.ndarray:
    """A C-contiguous copy of ``view`` (any strides), made ``block`` planes of its most
    widely strided axis at a time.

    Reordering a NIfTI volume (x fastest in memory) into sagittal slices touches memory
    with a large stride; copying a few source planes at a time keeps them in cache, about
    4x faster than one ``np.ascontiguousarray`` on a 384 x 384 x 160 volume (issue 15).
    """
    out = np.empty(view.shape, view.dtype)
    if view.size == 0 or view.ndim == 0:
        out[...] = view
        return out
    axis = int(np.argmax(np.abs(view.strides)))
    index = [slice(None)] * view.ndim
    for i in range(0, view.shape[axis], block):
        index[axis] = slice(i, i + block)
        out[tuple(index)] = view[tuple(index)]
    return out


#: What a reader can do about an image that cannot be read.
UNREADABLE_HINT = "Flag this pair so the coordinator can fix the package"


@contextmanager
def _reading(path: Path, what: str):
    """Turn a library's read error into an :class:`InputFileError` naming ``path``."""
    try:
        yield
    except InputFileError:
        raise
    except (OSError, EOFError, ValueError, zlib.error, nib.filebasedimages.ImageFileError) as exc:
        raise InputFileError(path, f"{what} cannot be read ({exc})", hint=UNREADABLE_HINT) from exc


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise InputFileError(path, f"{what} is missing", hint=UNREADABLE_HINT)


def _open_ras(path: Path, what: str):
    """The checked nibabel image of ``path`` in RAS+ (only its header read when it is stored
    in RAS+ already, as package images are)."""
    _require_file(path, what)
    with _reading(path, what):
        img = nib.load(str(path))
        if (bad := volume_size_problem(img, path)) is not None:  # before allocating anything
            raise InputFileError(path, f"{what} {bad}", hint=UNREADABLE_HINT)
        img = nib.as_closest_canonical(img)  # itself, data unread, when stored in RAS+ already
        if len(img.shape) != 3:
            raise InputFileError(path, f"{what} is not a 3D volume", value=tuple(img.shape))
    return img


def _zooms(img) -> tuple[float, float, float]:
    return tuple(float(z) for z in img.header.get_zooms()[:3])  # type: ignore[return-value]


def _read_display(path: Path, sequence: str, expected_sha256: str | None = None, what: str = "image") -> DisplayVolume:
    """The volume at ``path`` as a :class:`DisplayVolume` of ``sequence``: inflated straight into
    display order when it is a plain ``.nii.gz`` (:mod:`reader_app.domain.nifti_gzip`), else
    read by nibabel and reordered. Integer volumes keep their dtype; float ones become float32.
    ``what`` names the file in errors ("image", "AI heatmap").

    ``expected_sha256``: refuse the file unless its bytes have this SHA-256 (the manifest's),
    hashed from the same bytes that are inflated (the file is read once; read, not mapped: a
    mapped file cut short meanwhile would kill the process)."""
    _require_file(path, what)
    with _reading(path, what):
        source = path.read_bytes()
        if expected_sha256 and hashlib.sha256(source).hexdigest() != expected_sha256:
            _refuse_changed(path, expected_sha256, what)
        img = _open_ras(path, what)
        stored = np.dtype(img.get_data_dtype())
        if np.issubdtype(stored, np.integer) or stored == np.float32:
            out, ras_view = display_array(img.shape, stored, sequence)
            if inflate_voxels_into(img, path, ras_view, source=source):
                return _display_volume(out, _zooms(img), sequence, img.affine)
    with _reading(path, what):
        data = np.asanyarray(img.dataobj)
    if not np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32, copy=False)
    return to_display(data, _zooms(img), sequence, img.affine)


def load_sequence(study: str | Path, case: Case, sequence: str) -> DisplayVolume:
    """Load ``case``'s image for ``sequence`` from the package at ``study``.

    Integer images keep their dtype; float images become float32.
    Raises :class:`InputFileError` when the file is missing, truncated or not a 3D volume.
    """
    if sequence not in SEQUENCES:
        raise ValueError(f"unknown sequence {sequence!r}")
    rel = case.images.get(sequence)
    if rel is None:
        raise InputFileError(Path(study) / "manifest.json", f"this knee has no {sequence} image")
    path = package_file(study, rel, IMAGES_DIR, what="image")  # no symlink leaving images/
    # the SHA-256 check runs in the prefetch thread, with the decoding: a switch does not wait for it
    return _read_display(path, sequence, case.image_sha256.get(sequence))


#: What a reader can do about a file that changed since the package was made.
CHANGED_HINT = "Flag this pair so the coordinator can restore the package"


def _refuse_changed(path: Path, expected: str, what: str) -> None:
    """Raise the :class:`InputFileError` of a file whose SHA-256 is not ``expected``."""
    bad = changed_problem(path, expected) or "has changed while it was being read"
    raise InputFileError(path, f"{what} {bad}", hint=CHANGED_HINT)


def heatmap_path(study: str | Path, case_id: str, sequence: str) -> Path:
    """``STUDY/ai/heatmaps/<case>_<sequence>.nii.gz``, checked to stay inside ``ai/heatmaps/``."""
    rel = f"{AI_DIR}/{AI_HEATMAPS_DIR}/{case_id}_{sequence}.nii.gz"
    return package_file(study, rel, AI_DIR, what="AI heatmap")


def load_heatmap(study: str | Path, case_id: str, sequence: str, like: DisplayVolume | None = None,
                 expected_sha256: str | None = None) -> DisplayVolume:
    """Load a Grad-CAM volume on the image grid as uint8 (0 = nothing, 255 = the maximum).

    Values are scaled by the volume's maximum when it exceeds 1 (Grad-CAM maps are
    conventionally in [0, 1]); negative values are clipped to 0. With ``like`` the grid must
    match that image's display shape, else :class:`InputFileError` says both shapes.
    """
    path = heatmap_path(study, case_id, sequence)
    # the SHA-256 checked on the bytes decoded, in the prefetch thread (the switch does not wait)
    vol = _read_display(path, sequence, expected_sha256, what="AI heatmap")
    heat = np.nan_to_num(np.asarray(vol.data, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(heat.max()) if heat.size else 0.0
    scale = 255.0 / top if top > 1.0 else 255.0
    q = np.clip(heat * scale, 0, 255).astype(np.uint8)
    if like is not None and q.shape != like.data.shape:
        raise InputFileError(
            path,
            "AI heatmap is not on the image's grid",
            value=f"heatmap {q.shape} vs image {like.data.shape} (slices, rows, cols)",
            hint="Re-run the model's inference on this study",
        )
    return DisplayVolume(data=q, pixel_mm=vol.pixel_mm, slice_mm=vol.slice_mm)


@dataclass
class KneeImages:
    """Everything drawn for one knee, loaded together (in the prefetch thread).

    volumes : sequence -> DisplayVolume, for the images that loaded.
    problems : sequence -> a sentence for the reader, for images that did not (the view
        shows a placeholder with it and the reader can flag the pair).
    auto_windows : sequence -> the automatic window (percentiles) of each loaded volume.
    heatmaps : sequence -> uint8 DisplayVolume on the image grid, when asked for and present.
    heatmap_problems : sequence -> why a requested heatmap is missing.
    """

    case_id: str
    volumes: dict[str, DisplayVolume]
    problems: dict[str, str]
    auto_windows: dict[str, Window]
    heatmaps: dict[str, DisplayVolume]
    heatmap_problems: dict[str, str]

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.volumes.values()) + sum(h.nbytes for h in self.heatmaps.values())


def _reader_problem(exc: InputFileError, advice: str = "") -> str:
    """"The image cannot be read." and the like: the reader sees no file names (they carry
    case ids) and no library's message; the exception itself keeps both."""
    return f"The {exc.problem.split(' (')[0]}.{' ' + advice if advice else ''}"


def load_knee(
    study: str | Path, case: Case, sequences: tuple[str, ...] | list[str] = SEQUENCES, *, heatmaps: bool = False,
    ai_sha256: dict[str, str] | None = None,
) -> KneeImages:
    """Load every sequence of ``case`` (and its heatmaps when ``heatmaps``); never raises for bad files.

    Missing, corrupt or changed files (SHA-256 against ``case.image_sha256`` and, for
    heatmaps, the manifest's ``ai_sha256``) become entries of ``problems`` /
    ``heatmap_problems``.
    """
    out = KneeImages(case.case_id, {}, {}, {}, {}, {})
    # A model trained on one sequence writes heatmaps for that sequence only: the others
    # are not "missing".
    expected = heatmap_sequences(study) if heatmaps else None
    for seq in sequences:
        try:
            vol = load_sequence(study, case, seq)
        except InputFileError as exc:
            out.problems[seq] = _reader_problem(exc, "You can flag this pair for the coordinator.")
            continue
        out.volumes[seq] = vol
        out.auto_windows[seq] = percentile_window(vol.data, *PRESETS[DEFAULT_PRESET])
        if heatmaps and (expected is None or seq in expected):
            try:
                rel = f"{AI_DIR}/{AI_HEATMAPS_DIR}/{case.case_id}_{seq}.nii.gz"
                out.heatmaps[seq] = load_heatmap(study, case.case_id, seq, like=vol,
                                                 expected_sha256=(ai_sha256 or {}).get(rel))
            except InputFileError as exc:
                out.heatmap_problems[seq] = _reader_problem(exc)
    return out

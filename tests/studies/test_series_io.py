"""DICOM series read in place from a tar archive (the NDA's OAI package) or a folder.

Synthetic series from ``studies.synth`` (so the tests run anywhere) and, when ../shared is
present, the real MR series under shared/data/real-mr: the same array and geometry from a
folder and from a tar, slice counts, and one-line errors naming the file for damaged or
hostile archives, with nothing written outside the private temporary folder.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import studies.series_io as series_io
from model.preprocess.cache import input_hash
from model.preprocess.orientation import read_volume
from studies.errors import InputFileError, OptionError
from studies.images import read_source
from studies.parallel import parallel_map
from studies.series_io import count_slices, is_tar_series, read_series, series_folder


def _make_tar(folder: Path, dest: Path, *, prefix: str = "./", mode: str = "w:gz") -> Path:
    """``folder``'s files as an NDA-style series archive: a ``.`` entry, then the slices."""
    with tarfile.open(dest, mode) as tf:
        tf.add(folder, arcname=".", recursive=False)
        for f in sorted(folder.iterdir()):
            tf.add(f, arcname=prefix + f.name)
    return dest


def _hostile_tar(dest: Path, first: Path, bad: tarfile.TarInfo, data: bytes = b"") -> Path:
    """A gzipped tar holding one genuine slice, then the member ``bad``."""
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(first, arcname="./001")
        tf.addfile(bad, io.BytesIO(data) if bad.isreg() else None)
    return dest


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Path:
    """A small synthetic SAG 3D DESS series folder (files 001, 002, ...)."""
    from studies.synth import generate_cohort

    root = generate_cohort(tmp_path_factory.mktemp("synth") / "cohort", patients=1, seed=0,
                           size="small", images="baseline")
    folders = {p.parent for p in (root / "00m").rglob("001")}
    return max(folders, key=lambda f: len(list(f.iterdir())))


@pytest.fixture(scope="module")
def series_tar(series, tmp_path_factory) -> Path:
    return _make_tar(series, tmp_path_factory.mktemp("tar") / "12345678.tar.gz")


def _one_line_error(exc: pytest.ExceptionInfo, path: Path, *words: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    for w in words:
        assert w in msg
    return msg


# ---- reading: a tar gives exactly what the folder gives -------------------------------------


def test_is_tar_series(tmp_path, series):
    for name in ("a.tar.gz", "B.TGZ", "c.tar"):
        assert is_tar_series(tmp_path / name)
    for name in ("a.nii.gz", "001", "a.gz"):
        assert not is_tar_series(tmp_path / name)
    assert not is_tar_series(series)


@pytest.mark.parametrize(("suffix", "mode", "prefix"),
                         [(".tar.gz", "w:gz", "./"), (".tgz", "w:gz", ""), (".tar", "w", "./")])
def test_read_source_identical_from_tar(series, tmp_path, suffix, mode, prefix):
    tar = _make_tar(series, tmp_path / f"s{suffix}", prefix=prefix, mode=mode)
    a, aff_a = read_source(series)
    b, aff_b = read_source(tar)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(aff_a, aff_b)
    assert count_slices(tar) == count_slices(series) == len(list(series.iterdir()))


def test_read_volume_identical_from_tar(series, series_tar):
    a, b = read_volume(series), read_volume(series_tar)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(a), sitk.GetArrayViewFromImage(b))
    assert a.GetOrigin() == b.GetOrigin()
    assert a.GetSpacing() == b.GetSpacing()
    assert a.GetDirection() == b.GetDirection()
    assert read_series(series_tar).GetPixelID() == read_series(series).GetPixelID()


def test_real_mr_identical_from_tar(shared_dir, tmp_path):
    folder = shared_dir / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"
    tar = _make_tar(folder, tmp_path / "real.tar.gz")
    a, aff_a = read_source(folder)
    b, aff_b = read_source(tar)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(aff_a, aff_b)
    va, vb = read_volume(folder), read_volume(tar)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(va), sitk.GetArrayViewFromImage(vb))
    assert (va.GetOrigin(), va.GetSpacing(), va.GetDirection()) == (vb.GetOrigin(), vb.GetSpacing(), vb.GetDirection())
    assert count_slices(tar) == count_slices(folder) == a.shape[2]


def test_count_slices_skips_hidden_files_and_folders(series, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(series, copy)
    (copy / ".DS_Store").write_bytes(b"x")
    (copy / "sub").mkdir()
    n = len(list(series.iterdir()))
    assert count_slices(copy) == n
    tar = _make_tar(copy, tmp_path / "copy.tar.gz")  # carries ./.DS_Store and ./sub
    assert count_slices(tar) == n
    with series_folder(tar) as folder:
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in series.iterdir())


def test_preprocessing_a_tar_through_the_cache(series, series_tar, tmp_path):
    from model.preprocess.pipeline import PreprocessConfig, VolumeJob, preprocess_job

    cfg = PreprocessConfig(sequence="sag_3d_dess")
    from_folder = preprocess_job(VolumeJob(str(series), "right"), cfg)
    cache = str(tmp_path / "cache")
    from_tar = preprocess_job(VolumeJob(str(series_tar), "right"), cfg, cache)
    np.testing.assert_array_equal(from_folder, from_tar)
    np.testing.assert_array_equal(preprocess_job(VolumeJob(str(series_tar), "right"), cfg, cache), from_tar)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1


def test_input_hash_of_a_tar(series_tar, tmp_path):
    """The preprocessing cache keys a tar by its name and bytes, like any file."""
    copy = shutil.copy(series_tar, tmp_path / series_tar.name)
    assert input_hash(series_tar) == input_hash(copy)
    Path(copy).write_bytes(series_tar.read_bytes()[:-1] + b"x")
    assert input_hash(series_tar) != input_hash(copy)


# ---- the temporary folder --------------------------------------------------------------------


def test_folder_is_yielded_as_is(series):
    with series_folder(series) as folder:
        assert folder == series
    assert series.is_dir()


def test_temporary_folder_removed_after_use_and_after_an_error(series_tar, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with series_folder(series_tar, tmp_dir=tmp) as folder:
        assert folder.parent == tmp
        assert (folder / "001").is_file()
        assert len(list(folder.iterdir())) == count_slices(series_tar)
    assert not folder.exists()
    with pytest.raises(RuntimeError, match="boom"), series_folder(series_tar, tmp_dir=tmp) as folder:
        raise RuntimeError("boom")
    assert not folder.exists()
    assert list(tmp.iterdir()) == []


# ---- damaged archives ------------------------------------------------------------------------


def _damaged(kind: str, good: Path, dest: Path) -> Path:
    data = good.read_bytes()
    content = {
        "cut in half": data[: len(data) // 2],
        "cut before the gzip trailer": data[:-300],
        "zero bytes": b"",
        "gzip of garbage": gzip.compress(np.random.default_rng(0).bytes(20_000)),
        "not a tar": b"DICM" * 1000,
    }[kind]
    dest.write_bytes(content)
    return dest


@pytest.mark.parametrize("kind", ["cut in half", "cut before the gzip trailer", "zero bytes",
                                  "gzip of garbage", "not a tar"])
def test_damaged_tar_is_a_one_line_error_naming_it(series_tar, tmp_path, kind):
    bad = _damaged(kind, series_tar, tmp_path / "99999999.tar.gz")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    for read in (count_slices, read_source, read_volume,
                 lambda p: series_folder(p, tmp_dir=tmp).__enter__()):
        with pytest.raises(InputFileError) as exc:
            read(bad)
        _one_line_error(exc, bad, "corrupt or truncated tar archive", "Re-download this file")
    assert list(tmp.iterdir()) == []  # the partial extraction is gone


def test_every_cut_of_a_download_is_caught(series_tar, tmp_path):
    """An interrupted download cut anywhere, even between two members' headers (where tarfile
    alone stops quietly, as if the archive ended there), is reported as truncated."""
    data = series_tar.read_bytes()
    bad = tmp_path / "cut.tar.gz"
    for cut in np.linspace(20, len(data) - 1, 25).astype(int):
        bad.write_bytes(data[:cut])
        with pytest.raises(InputFileError, match="corrupt or truncated tar archive"):
            count_slices(bad)


def test_missing_and_non_series_paths(tmp_path):
    with pytest.raises(InputFileError, match="image not found") as exc:
        count_slices(tmp_path / "gone.tar.gz")
    _one_line_error(exc, tmp_path / "gone.tar.gz")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputFileError, match="not a DICOM series"):
        count_slices(other)
    with pytest.raises(InputFileError, match="not a DICOM series"), series_folder(other):
        pass


def test_archive_without_dicom_says_so(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "001").write_bytes(b"not dicom")
    tar = _make_tar(src, tmp_path / "x.tar.gz")
    with pytest.raises(InputFileError) as exc:
        read_source(tar)
    _one_line_error(exc, tar, "no DICOM series")


# ---- hostile archives ------------------------------------------------------------------------


def _member(name: str, kind: bytes = tarfile.REGTYPE, *, size: int = 4, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    info.linkname = linkname
    return info


@pytest.mark.parametrize(("member", "words"), [
    (_member("../evil"), "points outside the archive"),
    (_member("./a/../../evil"), "points outside the archive"),
    (_member("/tmp/evil-absolute-member"), "absolute name"),
    (_member("evil-link", tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
    (_member("evil-hard", tarfile.LNKTYPE, linkname="001"), "hard link"),
    (_member("evil-dev", tarfile.CHRTYPE), "device"),
    (_member("./sub/001"), "repeats the slice name '001'"),
])
def test_hostile_tar_refused_and_nothing_written_outside(series, tmp_path, member, words):
    root = tmp_path / "a" / "b"
    root.mkdir(parents=True)
    bad = _hostile_tar(tmp_path / "evil.tar.gz", series / "001", member, b"evil")
    for read in (count_slices, lambda p: series_folder(p, tmp_dir=root).__enter__()):
        with pytest.raises(InputFileError) as exc:
            read(bad)
        _one_line_error(exc, bad, words, member.name)
    assert list(root.iterdir()) == []
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert written == {"a", "a/b", "evil.tar.gz"}
    assert not Path("/tmp/evil-absolute-member").exists()


def test_decompression_bomb_caps(series_tar, monkeypatch):
    n = count_slices(series_tar)
    monkeypatch.setattr(series_io, "MAX_MEMBERS", n - 1)
    with pytest.raises(InputFileError, match="decompression bomb"):
        count_slices(series_tar)
    monkeypatch.setattr(series_io, "MAX_MEMBERS", n)
    assert count_slices(series_tar) == n
    monkeypatch.setattr(series_io, "MAX_BYTES", 1000)
    with pytest.raises(InputFileError, match="decompression bomb"), series_folder(series_tar):
        pass


# ---- errors cross process boundaries intact --------------------------------------------------


def test_errors_pickle_with_their_fields():
    err = InputFileError("/x/a.tar.gz", "corrupt", column="c", row=3, value=(1, 2), hint="Re-download it")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is InputFileError and str(back) == str(err)
    assert (back.path, back.problem, back.column, back.row, back.value, back.hint) == (
        err.path, err.problem, err.column, err.row, err.value, err.hint)
    opt = OptionError("folds", "an int >= 2", 1)
    back = pickle.loads(pickle.dumps(opt))
    assert type(back) is OptionError and str(back) == str(opt) and back.got == 1


def test_worker_error_reaches_the_caller_intact(series_tar, tmp_path):
    bad = _damaged("cut in half", series_tar, tmp_path / "cut.tar.gz")
    with pytest.raises(InputFileError) as exc:
        parallel_map(count_slices, [str(bad), str(bad)], workers=2)
    assert str(exc.value).startswith(f"{bad}: corrupt or truncated tar archive")
    assert exc.value.path == bad
    assert parallel_map(count_slices, [str(series_tar)] * 2, workers=2) == [count_slices(series_tar)] * 2
    assert os.path.exists(series_tar)

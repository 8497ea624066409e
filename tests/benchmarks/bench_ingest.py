"""Benchmark: inspecting and ingesting a 500-patient synthetic cohort in each download style.

The same cohort (seed 0, quirks at their default rates, small images, baseline series
written) is written once in the OAI's style (DICOM folders) and once as an NDA package (one
``.tar.gz`` per series). Printed per style:

- ``inspect-cohort``: seconds (index, tables, directory listings; no image decoded);
- the ingest of a 150-pair study (``build``: read the cohort, draw pairs, count the chosen
  knees' series, convert 600 volumes), seconds;
- the bytes the build wrote besides the package: peak and left-over size of its temporary
  folder (a tar is unpacked one series at a time and removed), and whether the cohort folder
  changed size (it must not: nothing is unpacked next to the download).

``BENCH_INGEST_PATIENTS`` (default 500) scales it (pairs: 150, fewer below 400 patients); the cohorts are cached under
``$BENCH_INGEST_DIR`` (default the system temp folder) so a second run skips writing them.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from studies.builder import BuildOptions, build_study
from studies.cohort.inspect import inspect_cohort
from studies.pairs import SamplingConfig
from studies.synth import generate_cohort


def _du(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def _cohort(style: str, patients: int) -> Path:
    base = Path(os.environ.get("BENCH_INGEST_DIR", tempfile.gettempdir()))
    root = base / f"knee-bench-ingest-{style}-{patients}"
    if not (root / "synthetic" / "cohort.json").is_file():
        t0 = time.perf_counter()
        generate_cohort(root, patients=patients, seed=0, size="small", progressor_rate=0.5,
                        images="baseline", force=True, style=style, workers=2)
        print(f"  (wrote the {style} cohort in {time.perf_counter() - t0:.0f} s)")
    return root


class _PeakSize:
    """Samples a folder's size every 20 ms on a thread; ``peak`` is the largest seen."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak, self._stop = folder, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _du(self.folder))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_bench_ingest(tmp_path, monkeypatch):
    patients = int(os.environ.get("BENCH_INGEST_PATIENTS", "500"))
    pairs = min(150, patients * 150 // 400)  # enough knees in every stratum
    print(f"\nbench_ingest: {patients} synthetic participants per style, quirks on, {pairs}-pair build")
    for style in ("oai", "nda"):
        cohort = _cohort(style, patients)
        size_before = _du(cohort)
        t0 = time.perf_counter()
        found = inspect_cohort(cohort)
        t_inspect = time.perf_counter() - t0
        tmp = tmp_path / f"tmp-{style}"
        tmp.mkdir()
        monkeypatch.setenv("TMPDIR", str(tmp))
        tempfile.tempdir = None  # re-read TMPDIR in this process
        opts = BuildOptions(sampling=SamplingConfig(n_pairs=pairs, seed=0), workers=2, force=True, confidence=0)
        with _PeakSize(tmp) as peak:
            t0 = time.perf_counter()
            result = build_study(cohort, tmp_path / f"study-{style}", tmp_path / f"key-{style}.json", opts)
            t_build = time.perf_counter() - t0
        tempfile.tempdir = None
        monkeypatch.delenv("TMPDIR")
        grown = _du(cohort) - size_before
        package = _du(result.study)
        sc = found["series"]
        print(f"  {style}: inspect-cohort {t_inspect:.2f} s ({sc['listed']} series listed, "
              f"{sc.get('repeated_groups', 0)} repeated, {sc.get('truncated', 0)} truncated); "
              f"build {t_build:.1f} s; package {package / 1e6:.1f} MB; temp peak {peak.peak / 1e6:.1f} MB, "
              f"left {_du(tmp)} B; cohort folder grew by {grown / 1e6:.1f} MB")
        assert _du(tmp) == 0

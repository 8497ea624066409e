"""Reader app performance: switch to the next pair, linked scrolling, memory, cold start.

Run with ``make bench`` (``pytest -s tests/benchmarks``); each test prints its figures and
asserts its budget:

- confirming a decision (the Enter key's path) to the next pair fully drawn <= 50 ms at the
  95th percentile, on full-size images (COR IW TSE 384 x 384 x 36, SAG 3D DESS 384 x 384 x
  160), with the next pair decoded and its views readied in the background while the reader
  reads; drawn as the app draws it (every widget the switch changed), and, alternating, with
  the whole window repainted too;
- slice scrolling redraws the linked views at >= 60 frames/s;
- memory stays flat over a 150-pair session (a small LRU cache of decoded knees);
- cold start to the first pair drawn <= 3 s, without importing torch.

The targets a reader feels: confirm -> next pair drawn p95 <= 16.7 ms (one frame),
scrolling >= 240 frames/s, cold start <= 1.5 s. Each figure is printed with the load average
and whether the target was met; the assertions stay at the looser budgets above, because a
shared 2-core machine under other people's load misses a one-frame budget for reasons that
are not the app's. Compare figures taken at similar load, or the ratios measured in one run
(``test_slice_draw_fast_path_ratio``).

Packages are made in code: a few distinct full-size volumes written once, and every case's
image path a hard link to one of them, so a 150-pair study costs a few hundred MB of disk while
each case is still decoded from its own file path.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from study_factory import make_study

from studies.package import SEQUENCES

#: Full-size shapes in RAS voxel order (x, y, z) and spacing (mm).
FULL = {"cor_iw_tse": ((384, 36, 384), (0.365, 3.0, 0.365)), "sag_3d_dess": ((160, 384, 384), (0.7, 0.365, 0.456))}
#: A quarter of the voxels (for the 150-pair memory run, which decodes 300 knees).
HALF = {seq: (tuple(max(n // 2, 8) for n in shape), tuple(2 * s for s in sp)) for seq, (shape, sp) in FULL.items()}
N_DISTINCT = 3


def _volume(rng, shape):
    x, y, z = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    blob = np.exp(-(x[:, None, None] ** 2 + y[None, :, None] ** 2 + z[None, None, :] ** 2) * 3)
    vol = 300 + 500 * blob + rng.normal(0, 25, size=shape).astype(np.float32)
    return vol.astype(np.int16)


def full_size_study(root: Path, n_pairs: int, sizes=FULL, with_ai=False):
    """A valid package whose cases link to ``N_DISTINCT`` distinct volumes per sequence."""
    t = make_study(root, n_pairs=n_pairs, with_images=False, with_ai=with_ai)
    rng = np.random.default_rng(0)
    store = root / "volumes"
    store.mkdir()
    for i in range(N_DISTINCT):
        for seq, (shape, spacing) in sizes.items():
            nib.save(nib.Nifti1Image(_volume(rng, shape), np.diag([*spacing, 1.0])), str(store / f"{i}_{seq}.nii.gz"))
    for j, case in enumerate(t.manifest.cases.values()):
        for seq in SEQUENCES:
            # a hard link: the package refuses image paths that lead outside images/ (symlinks)
            os.link(store / f"{j % N_DISTINCT}_{seq}.nii.gz", t.study / case.images[seq])
    return t


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def _target(met: bool, text: str) -> str:
    return f"target {text}: {'met' if met else 'NOT met'}"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="module")
def qapp():
    """The app as ``knee-reader`` creates it (style sheet, pyqtgraph options)."""
    from reader_app.ui.app import create_app

    return create_app([])


@pytest.fixture
def open_window(qapp):
    from reader_app.ui.launch import open_reading

    screens = []

    def make(study, reader="bench"):
        s = open_reading(study, reader, "unaided")
        s.window.resize(1600, 1000)
        s.window.show()
        qapp.processEvents()
        screens.append(s)
        # a figure measured on "image not available" placeholders would mean nothing
        problems = {k.case_id: k.problems for k in s.hanging.knees.values() if k.problems}
        assert not problems, f"the benchmark's images did not open: {problems}"
        return s

    yield make
    for s in screens:
        s.window.close()


def _read_pair(qapp, screen, timeout=30.0):
    """The reader reads for a while (the event loop runs, the prefetch starts); by the time
    they confirm, the next pair is decoded."""
    t_end = time.perf_counter() + 0.1
    while time.perf_counter() < t_end:
        qapp.processEvents()
        time.sleep(0.005)
    for pending in list(screen.cache._pending.values()):
        pending.result(timeout=timeout)


class _PaintCounter:
    """Counts paint events of the four image views' viewports (a filter on each viewport: an
    application-wide filter in Python would wrap every event of every widget, a cost of the
    measurement that the app does not have)."""

    def __init__(self, qapp, screen):
        from PySide6.QtCore import QEvent, QObject

        counter = self
        paint = QEvent.Type.Paint

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == paint:
                    counter.views_painted += 1
                return False

        self.views_painted = 0
        self._filter = Filter()
        self._viewports = [screen.window.views[(k, s)].graphics.viewport() for k in ("left", "right") for s in SEQUENCES]
        for viewport in self._viewports:
            viewport.installEventFilter(self._filter)

    def close(self):
        for viewport in self._viewports:
            viewport.removeEventFilter(self._filter)


def timed_switch(qapp, screen, counter: _PaintCounter | None = None, *, whole_window: bool = True,
                 cpu: list | None = None) -> tuple[float, float]:
    """The reader reads the pair, chooses and presses Enter; (ms from confirm to the next pair
    fully drawn, s spent reading while the next pair decoded).

    Drawn as the app draws it (``whole_window=False``): the event loop paints every widget
    the switch changed (the four views, the texts that changed) and the views must have been
    painted. ``whole_window=True``: every widget of the window repainted as well, changed or
    not (what this benchmark measured before: buttons, bars and labels a switch leaves alone).
    ``counter``: checks that the views were painted (none: not checked). ``cpu``: the GUI
    thread's CPU time of the switch (ms) is appended (less sensitive to other processes' load
    than the wall time, though caches shared with them still slow it)."""
    t0 = time.perf_counter()
    _read_pair(qapp, screen)
    read = time.perf_counter() - t0
    t_end = time.perf_counter() + 0.15  # reading on: the views for the next pair are readied in idle time
    while time.perf_counter() < t_end:
        qapp.processEvents()
        time.sleep(0.005)
    screen.session.choose("left")
    if counter is not None:
        counter.views_painted = 0
    c0, t0 = time.thread_time(), time.perf_counter()
    screen.reading.confirm()  # the Enter key: the answer to the writer thread (SQLite, synchronous FULL), the next pair shown
    if whole_window:
        screen.window.repaint()
    qapp.processEvents()  # paints what changed
    ms = (time.perf_counter() - t0) * 1000
    if cpu is not None:
        cpu.append((time.thread_time() - c0) * 1000)
    assert counter is None or counter.views_painted >= 4, "the next pair's views were not painted"
    return ms, read


def test_confirm_to_next_pair_drawn_p95_under_50ms(tmp_path, qapp, open_window):
    n_pairs = 23
    t = full_size_study(tmp_path, n_pairs)
    screen = open_window(t.study)
    counter = _PaintCounter(qapp, screen)
    runs = {False: [], True: []}  # alternating, so that the machine's load weighs on both alike
    reads, cpu = [], []
    for i in range(n_pairs - 1):
        ms, read = timed_switch(qapp, screen, counter, whole_window=bool(i % 2), cpu=None if i % 2 else cpu)
        runs[bool(i % 2)].append(ms)
        reads.append(read)
    counter.close()
    p50, p95 = np.percentile(runs[False], [50, 95])
    w50, w95 = np.percentile(runs[True], [50, 95])
    print(f"\nconfirm (Enter) -> next pair drawn (full size, {len(runs[False])} switches): "
          f"median {p50:.1f} ms, p95 {p95:.1f} ms, max {max(runs[False]):.1f} ms "
          f"(GUI thread's CPU time median {np.median(cpu):.1f} ms, p95 {np.percentile(cpu, 95):.1f} ms); "
          f"with the whole window repainted too ({len(runs[True])} switches, alternating): "
          f"median {w50:.1f} ms, p95 {w95:.1f} ms; "
          f"background decode of a pair (waited for here, hidden by reading time): median {np.median(reads) * 1000:.0f} ms; "
          f"{_target(p95 <= 1000 / 60, 'p95 <= 16.7 ms')}; {_load()}")
    assert p95 <= 50.0  # the whole-window figure is printed for comparison with earlier runs


def _scroll_fps(h, w, seq: str, n: int) -> float:
    """Frames/s of ``n`` scroll steps on knee A's ``seq`` view, both linked views redrawn."""
    key = ("left", seq)
    views = [w.views[key].graphics.viewport(), w.views[("right", seq)].graphics.viewport()]
    step = 1
    t0 = time.perf_counter()
    for i in range(n):
        if h.slices[key] in (0, h._count(key) - 1) and i:
            step = -step
        h.scroll(key, step)
        for v in views:  # both linked views redrawn, synchronously
            v.repaint()
    return n / (time.perf_counter() - t0)


def test_linked_scrolling_at_least_60_fps(tmp_path, qapp, open_window):
    t = full_size_study(tmp_path, 2)
    screen = open_window(t.study)
    h, w = screen.hanging, screen.window
    # a reader scrolls at once, while the next pair decodes behind the window
    busy = _scroll_fps(h, w, SEQUENCES[0], 40) if screen.cache._pending else None
    _read_pair(qapp, screen)  # then with the prefetch done
    for seq in SEQUENCES:
        fps = _scroll_fps(h, w, seq, 120)
        print(f"\nlinked scrolling {seq} (two 384 x 384 views redrawn per step): {fps:.0f} frames/s; "
              f"{_target(fps >= 240, '>= 240 frames/s')}; {_load()}")
        assert fps >= 60
    if busy is not None:
        print(f"linked scrolling {SEQUENCES[0]} right after the pair opened, the next pair decoding in the "
              f"background: {busy:.0f} frames/s")


def test_memory_flat_over_150_pairs(tmp_path, qapp, open_window):
    n_pairs = 150
    t = full_size_study(tmp_path, n_pairs, sizes=HALF)
    screen = open_window(t.study)
    s = screen.session
    marks = {}
    t0 = time.perf_counter()
    for i in range(n_pairs):
        s.choose("right")
        s.confirm()
        qapp.processEvents()
        if i + 1 in (10, 50, 100, 150):
            marks[i + 1] = _rss_mb()
    assert s.finished
    growth = marks[150] - marks[10]
    print(f"\n150-pair session (quarter-size volumes, {time.perf_counter() - t0:.0f} s): RSS after "
          + ", ".join(f"{k} pairs {v:.0f} MB" for k, v in marks.items())
          + f"; growth 10 -> 150 pairs {growth:+.0f} MB; knees cached {len(screen.cache)} (capacity {screen.cache.capacity}); "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    assert len(screen.cache) <= screen.cache.capacity
    assert growth < 60


def test_cold_start_to_first_pair_under_3s_without_torch(tmp_path):
    t = full_size_study(tmp_path, 2)
    out = tmp_path / "first.png"
    code = (
        "import sys, time\nt0 = time.perf_counter()\nfrom reader_app.main import main\n"
        f"rc = main([{str(t.study)!r}, '--reader', 'cold', '--screenshot', {str(out)!r}])\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc, f'{time.perf_counter() - t0:.3f}')\n"
    )
    # an installed app runs from compiled bytecode: the first run compiles into a private cache
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPYCACHEPREFIX=str(tmp_path / "pycache"), PYTHONUNBUFFERED="1")
    runs = []
    for _ in range(3):  # later runs have the files in the OS cache, as on a reading workstation
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        first_line = proc.stdout.readline()  # the PNG's path, printed once it is written
        drawn = time.perf_counter() - t0
        rest, err = proc.communicate(timeout=120)
        runs.append((drawn, time.perf_counter() - t0))
        assert proc.returncode == 0, err
        assert first_line.strip() == str(out)
    assert "NO-TORCH 0" in rest
    drawn, wall = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"\ncold start (new interpreter, full-size images, best of 3): first pair drawn and saved as "
          f"PNG {drawn:.2f} s, process ended {wall:.2f} s (last run inside Python: {rest.split()[-1]} s; "
          f"{_load()}); {_target(drawn <= 1.5, '<= 1.5 s to the first pair')}")
    assert wall <= 3.0


def test_slice_draw_fast_path_ratio(qapp):
    """A 384 x 384 int16 slice windowed and drawn by :class:`WindowedImage` (RGB32
    table look-up) against pyqtgraph's own ImageItem (float levels to ARGB32), alternating in
    one run so that the machine's load affects both alike."""
    import pyqtgraph as pg

    from reader_app.ui.windowed_image import WindowedImage

    def make(item):
        gv = pg.GraphicsView()
        vb = pg.ViewBox(invertY=True, lockAspect=True)
        gv.setCentralItem(vb)
        vb.addItem(item)
        item.setImage(np.zeros((384, 384), np.int16), autoLevels=False, levels=(0, 1))
        vb.setRange(pg.QtCore.QRectF(0, 0, 384, 384), padding=0.0)
        gv.resize(780, 420)  # one of the four views of a 1600 x 1000 window
        gv.show()
        return gv, item

    vol = _volume(np.random.default_rng(0), (36, 384, 384))
    pairs = {"pyqtgraph ImageItem": make(pg.ImageItem(axisOrder="row-major")), "WindowedImage": make(WindowedImage())}
    qapp.processEvents()
    times = {name: [] for name in pairs}
    for k in range(120):
        for name, (gv, item) in pairs.items():
            t0 = time.perf_counter()
            item.setImage(vol[k % 36], autoLevels=False, levels=(250, 900))
            gv.viewport().repaint()
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) * 1000 for name, t in times.items()}
    ratio = med["pyqtgraph ImageItem"] / med["WindowedImage"]
    print("\nwindow + draw one slice: " + ", ".join(f"{n} {v:.2f} ms" for n, v in med.items())
          + f"; WindowedImage {ratio:.1f}x faster (same run); {_load()}")
    for gv, _ in pairs.values():
        gv.close()
    assert ratio > 1.5

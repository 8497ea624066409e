"""``knee-reader --demo`` (and ``make demo``): the whole study in one command.

1. a synthetic OAI-format cohort and a small demo study built from it (``studies``);
2. the paper's model trained on the cohort, its scores and Grad-CAM heatmaps written into the
   study (``model``, imported lazily here, inside the worker: the app itself starts without
   torch); the synthetic 96-px slices are fed to the backbone at 384 px
   (``model.pipeline.DEMO_INPUT_SIZE``), not the paper's 448 kept for real data: measured on
   the synthetic quality cohort, jsn-abs ROC AUC 0.654 vs 0.651 and Grad-CAM mass on the
   planted sign 6.0x vs 5.7x chance, for 0.73 of the backbone's work;
3. three simulated readers answer the study (``studies.decisions.simulate``; their files are
   marked simulated), so that the coordinator's view (``knee-reader --demo --coordinator``)
   opens with every table and figure filled in;
4. the reader opens on the demo study in sequential mode (the unaided answer is locked, then
   the AI is revealed). The terminal gets a summary of the demo's figures and what they can
   and cannot show (:mod:`reader_app.domain.interpretation`).

Everything lands in ``--demo-dir`` (default ``demo-output/``): ``cohort/``, ``study/``,
``key.json`` and ``run/`` (the trained model). Later runs find it there and open the reader at
once. With a display, a progress dialog shows the work; without one (a server, CI), progress
goes to the terminal and the first pair is written to ``first-pair.png`` instead of a window.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from reader_app.domain.time_left import describe_left, seconds_left
from studies.errors import OptionError
from studies.package import AI_DIR, AI_SCORES_NAME, MANIFEST_NAME, decisions_path
from studies.progress import NO_PROGRESS, BackgroundTask, Progress, ProgressSink, ProgressState

DEMO_READER = "demo"
DEMO_MODE = "sequential"
#: The demo's simulated readers: (reader id, probability of choosing the progressor), unaided.
SIMULATED_READERS = (("sim-1", 0.60), ("sim-2", 0.65), ("sim-3", 0.70))

#: The demo's stages and their shares of the first run's time on 2 cores (building the
#: 50-pair study about 15 s; the model's part several minutes; the simulated readers a few
#: seconds), so that the time left, extrapolated from the time elapsed, holds. The model's part
#: is split by the model's own stages (``model.pipeline``).
BUILD_STAGE = ("Building the synthetic cohort and the demo study", 0.06)
MODEL_STAGE = ("Training the model and scoring the study", 0.93)
READERS_STAGE = ("Simulated readers answering the study", 0.01)


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def cohort(self) -> Path:
        return self.root / "cohort"

    @property
    def study(self) -> Path:
        return self.root / "study"

    @property
    def key(self) -> Path:
        return self.root / "key.json"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def runs(self) -> list[Path]:
        """The demo's model runs: ``run/`` and the runs of other sequences beside it."""
        return sorted(self.root.glob(f"{self.run.name}*"))

    def study_ready(self) -> bool:
        return (self.study / MANIFEST_NAME).is_file() and self.key.is_file()

    def ai_ready(self) -> bool:
        return (self.study / AI_DIR / AI_SCORES_NAME).is_file()

    def readers_ready(self) -> bool:
        return all(decisions_path(self.study, reader).is_file() for reader, _ in SIMULATED_READERS)

    def ready(self) -> bool:
        return self.study_ready() and self.ai_ready() and self.readers_ready()


def prepare_demo(paths: DemoPaths, progress: Progress = NO_PROGRESS) -> None:
    """Build whatever of the demo is missing; safe to call again after an interruption.

    ``progress``: the stages :data:`BUILD_STAGE`, :data:`MODEL_STAGE` (split by the model's own
    stages) and :data:`READERS_STAGE`; finished when the demo is ready.
    """
    with progress.stage(*BUILD_STAGE) as st:
        if not paths.study_ready():
            from studies.builder import build_demo

            # Models trained on an earlier demo cohort do not belong to the new one.
            for run in paths.runs():
                shutil.rmtree(run, ignore_errors=True)
            # A half-finished earlier attempt (cohort without a study) is rebuilt from scratch.
            build_demo(paths.root, force=True, progress=st)
    with progress.stage(*MODEL_STAGE) as st:
        if not paths.ai_ready():
            _train_and_score(paths, st)
    with progress.stage(*READERS_STAGE):
        if not paths.readers_ready():
            add_simulated_readers(paths)
    progress.finish()


def _train_and_score(paths: DemoPaths, progress: Progress) -> None:
    from model.pipeline import DEMO_INPUT_SIZE, train_and_infer  # torch: only here, in the worker

    def train() -> None:
        train_and_infer(paths.cohort, paths.study, paths.key, paths.run, input_size=DEMO_INPUT_SIZE, progress=progress)

    try:
        train()
    except OptionError as exc:
        if exc.name != "out" or not paths.run.exists():
            raise
        # The demo's run folder was made for another cohort (a demo folder that was
        # moved or copied): it is the demo's own, so it is trained again.
        for run in paths.runs():
            shutil.rmtree(run, ignore_errors=True)
        train()


def add_simulated_readers(paths: DemoPaths) -> None:
    """Let :data:`SIMULATED_READERS` answer the demo study (a resumed file is completed)."""
    from studies.decisions.simulate import simulate_reader

    for reader, accuracy in SIMULATED_READERS:
        simulate_reader(paths.study, paths.key, reader, accuracy, mode="unaided")


def demo_summary(paths: DemoPaths, n_boot: int = 2000) -> list[str]:
    """The demo study's figures, and what they can and cannot show, as printed lines."""
    from reader_app.domain.coordination import analyzable, reader_statuses
    from reader_app.domain.interpretation import ai_sentences, study_context
    from studies.analysis import analyze_study
    from studies.package import load_key

    statuses = reader_statuses(paths.study)
    files = analyzable(statuses)
    if not files:
        return []
    results = analyze_study(paths.study, paths.key, files, n_boot=n_boot)
    summary = results.summary
    readers = results.tables.get("readers")
    lines = [f"Demo study: {summary['n_pairs']} pairs."]
    if readers is not None and not readers.empty:
        for r in readers.itertuples(index=False):
            lines.append(f"  {r.reader} ({r.condition}): proportion correct {r.pc:.3f} "
                         f"(95 % CI {r.wilson_lo:.3f}–{r.wilson_hi:.3f})")
    simulated = tuple(st.reader_id for st in statuses if st.simulated and st.path in files)
    lines += ai_sentences(summary, study_context(paths.study, load_key(paths.key), simulated))
    return lines


def has_display() -> bool:
    """Can Qt open a real window here? (a display, and QT_QPA_PLATFORM not offscreen)"""
    from studies.doctor.qt import display_kind

    return display_kind() in ("x11", "wayland", "native")


def gui_problem() -> str | None:
    """Why Qt cannot open a window here (None when it can).

    Qt aborts the whole process when its platform plugin cannot load (on Linux, for example,
    without the system library libxcb-cursor0), so this is tried in a child process first and
    the demo falls back to rendering offscreen with Qt's own explanation and, from
    ``knee-study doctor``'s checks, the packages that provide what is missing.
    """
    if not has_display():
        return "no display"
    probe = "from PySide6.QtWidgets import QApplication; QApplication([])"
    try:
        res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Qt could not be started ({exc})"
    if res.returncode == 0:
        return None
    from studies.doctor.qt import install_commands, missing_libraries

    missing = missing_libraries()
    lines = [ln for ln in res.stderr.splitlines() if "qt.qpa" in ln or "plugin" in ln]
    return (
        "Qt cannot open a window here: "
        + (" ".join(lines[:2]) or res.stderr.strip()[-300:])
        + (f" Install what Qt needs: {install_commands(missing)}." if missing
           else " `knee-study doctor` lists what this machine lacks.")
    )


def _shown_text(state: ProgressState) -> str:
    return "Ready" if state.finished else (state.text or "Starting")


def _terminal_sink() -> ProgressSink:
    """The demo's progress on stderr: a line per stage and per 5 %, with the time left."""
    last: list[tuple[str, int]] = []

    def show(state: ProgressState) -> None:
        text = _shown_text(state)
        key = (text, int(state.fraction * 20))
        if not last or key != last[0]:
            last[:] = [key]
            left = describe_left(seconds_left(state.elapsed, state.fraction))
            print(f"[{state.fraction:4.0%}] {text} ({state.elapsed:.0f} s, {left})", file=sys.stderr, flush=True)

    return show


def _prepare_with_dialog(paths: DemoPaths) -> None:
    """Run :func:`prepare_demo` in a worker thread behind a modal progress dialog that polls
    the worker's latest progress (:class:`studies.progress.BackgroundTask`)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QProgressDialog

    dialog = QProgressDialog("Preparing the demo study…", None, 0, 1000)
    dialog.setWindowTitle("Knee reader: demo")
    dialog.setMinimumWidth(460)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    task = BackgroundTask(lambda progress: prepare_demo(paths, progress), name="demo-prepare")
    t0 = time.perf_counter()

    def poll() -> None:
        state = task.state
        elapsed = time.perf_counter() - t0
        dialog.setLabelText(f"{_shown_text(state)}…\n{state.fraction:.0%} — {elapsed:.0f} s — "
                            f"{describe_left(seconds_left(elapsed, state.fraction))}")
        dialog.setValue(int(1000 * state.fraction))
        if task.done:
            timer.stop()
            dialog.close()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(100)
    dialog.show()
    while not task.join(0.02):
        QApplication.processEvents()
    poll()
    task.result()  # the worker's failure, raised here


def run_demo(demo_dir: str | Path, *, coordinator: bool = False) -> int:
    """Entry of ``knee-reader --demo``: prepare what is missing in ``demo_dir``, then open the
    reader on the demo study (``coordinator``: the coordinator's view instead)."""
    from reader_app.ui.launch import ReadingOptions, run_gui, run_screenshot

    paths = DemoPaths(Path(demo_dir).resolve())
    problem = gui_problem()
    display = problem is None
    if problem not in (None, "no display"):
        print(f"{problem}\nGoing on without a window.", file=sys.stderr)
    if not paths.ready():
        print(f"Preparing the demo in {paths.root} (the first time takes several minutes on two cores; the bar shows the time left)…", file=sys.stderr)
        if display:
            from reader_app.ui.app import create_app

            create_app()
            _prepare_with_dialog(paths)
        else:
            prepare_demo(paths, Progress(_terminal_sink()))
    if not paths.readers_ready():  # a demo prepared by an earlier version
        add_simulated_readers(paths)
    print(
        f"Demo study: {paths.study}\nKey (coordinator only): {paths.key}\nModel run: {paths.run}",
        file=sys.stderr,
    )
    print("\n".join(demo_summary(paths)), file=sys.stderr)
    coordinator_cmd = f"knee-reader --coordinator {paths.study} --key {paths.key}"
    if coordinator:
        return _open_coordinator(paths, display)
    print(f"The coordinator's view of these results: `{coordinator_cmd}` (or `knee-reader --demo --coordinator`).",
          file=sys.stderr)
    reading = ReadingOptions(study=str(paths.study), reader=DEMO_READER, mode=DEMO_MODE)
    if not display:
        run_screenshot(reading, paths.root / "first-pair.png")
        print(
            "No display here, so the reader was rendered offscreen to the PNG above. On a machine "
            f"with a display, `knee-reader {paths.study} --reader {DEMO_READER} --mode {DEMO_MODE}` "
            "opens it.",
            file=sys.stderr,
        )
        return 0
    return run_gui(reading)


def _open_coordinator(paths: DemoPaths, display: bool) -> int:
    """The coordinator's view of the demo study: a window, or offscreen to coordinator.png."""
    from reader_app.ui import coordinator

    png = None if display else str(paths.root / "coordinator.png")
    rc = coordinator.main(argparse.Namespace(study=str(paths.study), key=str(paths.key), screenshot=png))
    if png:
        print("No display here, so the coordinator's view was rendered offscreen to the PNG above.",
              file=sys.stderr)
    return rc

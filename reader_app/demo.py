"""``knee-reader --demo`` (and ``make demo``): the whole study in one command.

1. a synthetic OAI-format cohort and a small demo study built from it (``studies``);
2. the paper's model trained on the cohort, its scores and Grad-CAM heatmaps written into the
   study (``model``, imported lazily here, inside the worker: the app itself starts without
   torch);
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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reader_app.domain.time_left import describe_left, seconds_left
from studies.errors import OptionError
from studies.package import AI_DIR, AI_SCORES_NAME, MANIFEST_NAME, decisions_path

DEMO_READER = "demo"
DEMO_MODE = "sequential"
#: The demo's simulated readers: (reader id, probability of choosing the progressor), unaided.
SIMULATED_READERS = (("sim-1", 0.60), ("sim-2", 0.65), ("sim-3", 0.70))

#: Share of the progress bar given to each stage, in proportion to their measured time on 2
#: cores (building the 50-pair study about 15 s; the model's part several minutes), so that the
#: time left, extrapolated from the time elapsed, holds.
_STAGES = (("Building the synthetic cohort and the demo study", 0.04), ("Training the model and scoring the study", 0.96))


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


#: The model's stages: (start, share) of the model's part of the bar, in proportion to their
#: measured time on 2 cores with the 50-pair demo study (features 160 + 150 s, scores and
#: Grad-CAM of 102 cases with both runs 290 s, cross-validation and final models 15 s), and
#: what to call them.
_MODEL_STAGES = {
    "features": (0.0, 0.40, "COR IW TSE: preprocessing and EfficientNet features"),
    "cv": (0.40, 0.02, "COR IW TSE: 5-fold cross-validation"),
    "train": (0.42, 0.01, "COR IW TSE: final model"),
    "heatmaps:features": (0.43, 0.33, "SAG 3D DESS (for its heatmaps): features"),
    "heatmaps:cv": (0.76, 0.02, "SAG 3D DESS: cross-validation"),
    "heatmaps:train": (0.78, 0.01, "SAG 3D DESS: final model"),
    "infer": (0.79, 0.21, "scores and Grad-CAM heatmaps of the study's cases"),
}

#: progress(stage_text, fraction_done in [0, 1])
StageProgress = Callable[[str, float], None]


def prepare_demo(paths: DemoPaths, progress: StageProgress | None = None) -> None:
    """Build whatever of the demo is missing; safe to call again after an interruption."""
    shown = [0.0]

    def report(text: str, frac: float) -> None:
        # Stages may interleave (features are computed while cross-validating): the bar
        # never goes back.
        shown[0] = max(shown[0], frac)
        if progress is not None:
            progress(text, shown[0])

    offset = 0.0
    (build_text, build_share), (model_text, model_share) = _STAGES
    if not paths.study_ready():
        from studies.builder import build_demo

        # Models trained on an earlier demo cohort do not belong to the new one.
        for run in paths.runs():
            shutil.rmtree(run, ignore_errors=True)

        # A half-finished earlier attempt (cohort without a study) is rebuilt from scratch.
        build_demo(
            paths.root,
            force=True,
            progress=lambda done, total: report(build_text, offset + build_share * done / max(total, 1)),
        )
    offset += build_share
    report(model_text, offset)
    if not paths.ai_ready():
        from model.pipeline import train_and_infer  # torch: only here, in the worker

        def model_progress(stage: str, done: int, total: int) -> None:
            start, share, text = _MODEL_STAGES.get(stage, (0.0, 1.0, stage))
            frac = start + share * done / max(total, 1)
            report(f"{model_text}: {text}", offset + model_share * frac)

        try:
            train_and_infer(paths.cohort, paths.study, paths.key, paths.run, progress=model_progress)
        except OptionError as exc:
            if exc.name != "out" or not paths.run.exists():
                raise
            # The demo's run folder was made for another cohort (a demo folder that was
            # moved or copied): it is the demo's own, so it is trained again.
            for run in paths.runs():
                shutil.rmtree(run, ignore_errors=True)
            train_and_infer(paths.cohort, paths.study, paths.key, paths.run, progress=model_progress)
    if not paths.readers_ready():
        add_simulated_readers(paths)
    report("Ready", 1.0)


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


def _terminal_progress() -> StageProgress:
    state = {"text": None, "tenth": -1, "t0": time.perf_counter()}

    def report(text: str, frac: float) -> None:
        tenth = int(frac * 20)
        if text != state["text"] or tenth != state["tenth"]:
            state["text"], state["tenth"] = text, tenth
            elapsed = time.perf_counter() - state["t0"]
            left = describe_left(seconds_left(elapsed, frac))
            print(f"[{frac:4.0%}] {text} ({elapsed:.0f} s, {left})", file=sys.stderr, flush=True)

    return report


def _prepare_with_dialog(paths: DemoPaths) -> None:
    """Run :func:`prepare_demo` in a worker thread behind a modal progress dialog."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QProgressDialog

    dialog = QProgressDialog("Preparing the demo study…", None, 0, 1000)
    dialog.setWindowTitle("Knee reader: demo")
    dialog.setMinimumWidth(460)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    state: dict[str, object] = {"text": "Starting…", "frac": 0.0, "error": None, "done": False}

    def worker() -> None:
        try:
            prepare_demo(paths, lambda text, frac: state.update(text=text, frac=frac))
        except BaseException as exc:  # shown by the GUI thread
            state["error"] = exc
        finally:
            state["done"] = True

    thread = threading.Thread(target=worker, name="demo-prepare", daemon=True)
    thread.start()
    t0 = time.perf_counter()

    def poll() -> None:
        frac = float(state["frac"])  # type: ignore[arg-type]
        elapsed = time.perf_counter() - t0
        dialog.setLabelText(f"{state['text']}…\n{frac:.0%} — {elapsed:.0f} s — {describe_left(seconds_left(elapsed, frac))}")
        dialog.setValue(int(1000 * frac))
        if state["done"]:
            timer.stop()
            dialog.close()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(100)
    dialog.show()
    while not state["done"]:
        QApplication.processEvents()
        thread.join(0.02)
    poll()
    if state["error"] is not None:
        raise state["error"]  # type: ignore[misc]


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
            prepare_demo(paths, _terminal_progress())
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

"""The first demo's stages in seconds (what ``make demo`` does before the reader opens).

``build_demo`` (the synthetic cohort and the study), then ``train_and_infer`` as the demo
calls it (slices fed at ``model.pipeline.DEMO_INPUT_SIZE``, 384 px): COR IW TSE features,
its cross-validation and final model (beside them the SAG 3D DESS features start), the rest of
the DESS features, then the scores and Grad-CAM heatmaps of both sequences for the study's
cases (the DESS run's cross-validation and final model beside them; the scores and heatmaps
are timed again on their own afterwards, as ``knee-model infer`` would). Each stage's wall time is printed
with the machine's load; the goals, on a quiet 2-core machine: the whole under 3 minutes, and
the heatmaps of 22 cases (the study's size when the goal was set) under 15 s, i.e. about
0.68 s per case. ``KNEE_BENCH_TORCH=1`` runs the heatmap stage again with ``--engine torch``
for the ratio (several minutes more).

On a shared machine the wall times follow the load, so each stage's CPU seconds (this process
and all its worker processes, user + system, read from /proc where there is one) are printed too: on a quiet machine a stage takes
about its CPU seconds divided by the cores it keeps busy (up to 2).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from studies.progress import Progress


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _tree_cpu(pid: int, tick: float) -> float:
    """CPU seconds of process ``pid`` (user + system, its reaped children's too) and of its
    live descendants, from /proc: the model's workers are children of a fork server, which
    reaps them, so this process's own rusage never sees them."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except OSError:  # it ended meanwhile
        return 0.0
    own = sum(int(f) for f in fields[11:15]) * tick  # utime stime cutime cstime
    return own + sum(_tree_cpu(c, tick) for c in children)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and all its worker processes, finished or not."""
    if os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        return _tree_cpu(os.getpid(), 1.0 / os.sysconf("SC_CLK_TCK"))
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Stages:
    """Wall and CPU seconds per stage: a progress sink (:class:`studies.progress.ProgressState`)."""

    def __init__(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), cpu_seconds()
        self.current: str | None = "before features (cohort reading, synthetic images)"
        self.seconds: dict[str, list[float]] = {}

    def __call__(self, state) -> None:
        stage = ": ".join(state.text.split(": ")[:2])  # a run's stage, not each fold
        now, cpu = time.perf_counter(), cpu_seconds()
        if self.current is not None and stage != self.current:
            acc = self.seconds.setdefault(self.current, [0.0, 0.0])
            acc[0] += now - self.last
            acc[1] += cpu - self.last_cpu
        if stage != self.current:
            self.current, self.last, self.last_cpu = stage, now, cpu

    def close(self) -> None:
        self(SimpleNamespace(text="end"))


@pytest.mark.slow
def test_demo_stages():
    from model.infer import infer_study
    from model.pipeline import DEMO_INPUT_SIZE, heatmap_run_dir, train_and_infer
    from studies.builder import build_demo
    from studies.package import load_manifest

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        root = Path(tmp)
        start = load()
        t0, c0 = time.perf_counter(), cpu_seconds()
        build_demo(root)
        build_s, build_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        stages = _Stages()
        info = train_and_infer(root / "cohort", root / "study", root / "key.json", root / "run",
                               input_size=DEMO_INPUT_SIZE, progress=Progress(stages))
        stages.close()
        total = time.perf_counter() - t0
        cases = len(list((root / "study" / "ai" / "heatmaps").glob("*_cor_iw_tse.nii.gz")))
        n_cases = len(load_manifest(root / "study").cases)
        # the demo scores the study while it trains the heatmap run: the scores and heatmaps
        # alone, timed again now that both runs exist (the stacks are cached, as in the demo)
        rescore = {}
        for engine in ("onnx", "torch") if os.environ.get("KNEE_BENCH_TORCH") == "1" else ("onnx",):
            t1 = time.perf_counter()
            infer_study(root / "run", root / "study", key=root / "key.json",
                        heatmap_runs=(heatmap_run_dir(root / "run", "sag_3d_dess"),),
                        engine=engine, cache_dir=root / "model-cache")
            rescore[engine] = time.perf_counter() - t1
    print(f"\nthe first demo's stages ({os.cpu_count()} cores; {start} at the start, {load()} at the end):")
    print(f"  {'cohort + study (build_demo)':60s} {build_s:6.1f} s wall {build_cpu:6.1f} s CPU")
    for stage, (s, c) in stages.seconds.items():
        print(f"  {stage[:60]:60s} {s:6.1f} s wall {c:6.1f} s CPU")
    print(f"  {'total':60s} {total:6.1f} s (goal < 180 s on a quiet machine: "
          f"{'met' if total < 180 else 'NOT met'})")
    heat = rescore["onnx"]
    per_case = heat / max(cases, 1)
    print(f"  scores + heatmaps of {cases} cases x 2 sequences with onnx, on their own: {heat:.1f} s, "
          f"{per_case:.2f} s per case, {22 * per_case:.1f} s per 22 cases (goal < 15 s: "
          f"{'met' if 22 * per_case < 15 else 'NOT met'})")
    cv = info.get("cross_validation") or {}
    if cv:
        print(f"  the scoring run's cross-validated ROC AUC {cv['auc']:.3f} (95 % CI {cv['ci'][0]:.3f}-{cv['ci'][1]:.3f}, "
              f"{cv['n']} knees of {cv['participants']} participants)")
    if "torch" in rescore:
        print(f"  the same with --engine torch: {rescore['torch']:.1f} s ({rescore['torch'] / heat:.1f}x)")
    assert cases == n_cases and info["heatmap_sequences"] == ["cor_iw_tse", "sag_3d_dess"]

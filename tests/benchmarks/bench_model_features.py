"""Feature extraction speed on CPU: today's torch path, the inference runtimes, plain timm.

1. Slices/s side by side in one run, interleaved bag by bag so that other work on the machine
   slows every engine alike (the ratios are the figures; the absolute rates follow the load,
   printed with them): today's torch path (:class:`model.features.SliceEncoder`, channels-last),
   ONNX Runtime on the exported graph (:class:`model.runtime.RuntimeEncoder`), and plain timm
   eager (default memory order). EfficientNet-Lite0 with the package's ImageNet weights,
   batches of 8 slices (one bag), 2 threads, 96 x 96 (synthetic 'small') and 384 x 384 (COR IW
   TSE) slices fed at 448 px. Goal: the runtime >= 5x today's torch path at <= 1e-4 from its
   features (the difference is asserted, the speed printed).
   OpenVINO (float32, and bfloat16, the ``--precision`` opt-in, on CPUs with bf16 units: outside
   the goal, its features are ~0.1 away) is measured right after, each precision alone in a
   child process of its own, and compared with the figures above: once OpenVINO has run in a
   process, whatever else runs in that process runs slower (torch's eager path 2-5x: each bag of
   8 page-faults ~1 GB of fresh activations, and those faults then cost several times the
   system time; ONNX Runtime ~1.6x; the other OpenVINO precision ~2x). That is how the first
   comparison's figures (torch 6.7 and ONNX Runtime 37.5 slices/s, OpenVINO in the same run)
   came about.
2. The whole ``knee-model features`` command (cohort reading, then, with ONNX Runtime, 2 worker
   processes each doing N4 and the backbone of whole knees; with torch, N4 in the workers and the
   backbone here, taking turns) on a 50-patient synthetic cohort (its ~90 labelled baseline knee-visits): knee-visits/s per
   engine from cold caches (and OpenVINO bfloat16 where the CPU has bf16 units), the share of
   the backbone, and how busy the 2 cores were.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from model.backbone import create_backbone, network_size, to_network_input
from model.encoders import make_encoder
from model.features import SliceEncoder


def load() -> str:
    """The machine's load averages (1, 5, 15 min), printed beside every figure."""
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _timm_eager(model):
    def encode(slices: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = to_network_input(slices).contiguous()  # default memory order
            return model.forward_head(model.forward_features(x), pre_logits=True).numpy()

    return encode


@pytest.mark.parametrize("size", [96, 384])
def test_engines_side_by_side(size, tmp_path):
    torch.set_num_threads(2)
    model, prov = create_backbone("efficientnet_lite0")
    today = SliceEncoder(model, prov, batch_size=8)
    t0 = time.perf_counter()
    onnx = make_encoder(model, prov, engine="onnx", graph_root=tmp_path, batch_size=8)
    export_s = time.perf_counter() - t0
    engines = {"torch (today)": today.encode, "onnxruntime": onnx.encode, "timm eager": _timm_eager(model)}
    bag = np.random.default_rng(0).random((8, size, size)).astype(np.float32)
    ref = today.encode(bag)
    diff = {name: float(np.abs(fn(bag) - ref).max()) for name, fn in engines.items()}  # + warm-up
    reps = 3 if size == 384 else 5
    seconds = _interleaved(engines, bag, reps)
    fed = "x".join(map(str, network_size(size, size, prov.input_size)))
    print(f"\nfeatures, Lite0 (package weights), {size}x{size} slices fed at {fed}, bags of 8, 2 threads "
          f"({load()}; graph exported in {export_s:.1f} s):")
    base = seconds["torch (today)"]
    for name, s in seconds.items():
        print(f"  {name:14s} {8 * reps / s:6.1f} slices/s  {base / s:5.2f}x today  largest difference {diff[name]:.1e}")
    ratio = base / seconds["onnxruntime"]
    print(f"  goal onnxruntime >= 5x at <= 1e-4: {'met' if ratio >= 5 and diff['onnxruntime'] <= 1e-4 else 'NOT met'} "
          f"({ratio:.2f}x, {diff['onnxruntime']:.1e})")
    assert diff["onnxruntime"] <= 1e-4
    print(f"  each alone in a child process ({load()}):")
    for name, precision in [("openvino", "float32"), ("openvino bf16", "bfloat16")]:
        child = subprocess.run([sys.executable, "-c", _OPENVINO_CHILD, str(onnx.graph), str(size), str(reps), precision],
                               capture_output=True, text=True)
        if child.returncode != 0:  # not installed, or no bf16 units: said, not hidden
            print(f"  {name:14s} skipped: {(child.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        s, d = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"  {name:14s} {8 * reps / s:6.1f} slices/s  {seconds['onnxruntime'] / s:5.2f}x onnxruntime  "
              f"{base / s:5.2f}x today  largest difference from onnxruntime {d:.1e}")


def _interleaved(engines: dict, bag: np.ndarray, reps: int) -> dict[str, float]:
    """Seconds each engine took for ``reps`` runs of ``bag``, taking turns bag by bag."""
    seconds = dict.fromkeys(engines, 0.0)
    for _ in range(reps):
        for name, fn in engines.items():
            t = time.perf_counter()
            fn(bag)
            seconds[name] += time.perf_counter() - t
    return seconds


#: One OpenVINO row, run in a child: ``python -c`` this GRAPH SIZE REPS PRECISION; prints
#: [seconds of REPS bags, largest difference from ONNX Runtime's features] as JSON on its last
#: line (ONNX Runtime runs once, after the timing, for the reference features).
_OPENVINO_CHILD = """
import json, sys, time
import numpy as np, torch
from model.backbone import create_backbone
from model.runtime import RuntimeEncoder
torch.set_num_threads(2)
graph, size, reps, precision = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
_, prov = create_backbone("efficientnet_lite0")
bag = np.random.default_rng(0).random((8, size, size)).astype(np.float32)
ov = RuntimeEncoder(graph, prov, engine="openvino", batch_size=8, precision=precision)
got = ov.encode(bag)
for _ in range(3):  # warm-up: OpenVINO's first runs are slower
    ov.encode(bag)
t = time.perf_counter()
for _ in range(reps):
    ov.encode(bag)
seconds = time.perf_counter() - t
ref = RuntimeEncoder(graph, prov, engine="onnx", batch_size=8).encode(bag)
print(json.dumps([seconds, float(np.abs(got - ref).max())]))
"""


def _adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux): the command's model
    workers are children of a fork server that outlives the command for a moment, and their
    CPU time counts in RUSAGE_CHILDREN only once this process has reaped them."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(timeout: float = 5.0) -> None:
    """Wait for the descendants left behind by a finished command (the fork server, its workers)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.05)


def _features_command(cohort: Path, cache: Path, engine: str, precision: str = "float32") -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the process and all its workers, the command's JSON report)
    of one ``knee-model features``."""
    cmd = ["knee-model", "features", "--cohort", str(cohort), "--visits", "0", "--cache", str(cache),
           "--workers", "2", "--engine", engine, "--precision", precision]
    _adopt_orphans()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    res = subprocess.run([sys.executable, "-c", "import sys; from model.cli import main; sys.exit(main(sys.argv[1:]))", *cmd[1:]],
                   check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(res.stdout)


def test_features_command_on_a_50_patient_cohort():
    from studies.synth import generate_cohort

    with tempfile.TemporaryDirectory(prefix="bench-features-cmd-") as tmp:
        root = Path(tmp)
        cohort = generate_cohort(root / "cohort", patients=50, seed=5, size="small", images="baseline")
        rows, reports = [], {}
        runs = [("onnx", "float32"), ("torch", "float32")]
        try:
            import openvino

            from model.runtime import check_bf16_units

            check_bf16_units(openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
            runs.append(("openvino", "bfloat16"))
        except Exception as exc:  # not installed, or no bf16 units: said, not hidden
            print(f"\nopenvino bfloat16 skipped: {exc}")
        for engine, precision in runs:
            name = engine if precision == "float32" else f"{engine}-{precision}"
            wall, cpu, reports[name] = _features_command(cohort, root / f"cache-{name}", engine, precision)
            rows.append((f"{name}, cold caches", wall, cpu))
        knees = reports["onnx"]["knee_windows"]  # the baseline knee-visits with a jsn-abs label
        # the same command again with the preprocessed stacks cached: the backbone alone
        import shutil

        shutil.rmtree(root / "cache-onnx" / "features")
        wall_b, cpu_b, _ = _features_command(cohort, root / "cache-onnx", "onnx")
        print(f"\n`knee-model features` on a 50-patient synthetic cohort ({knees} labelled baseline knee-visits, 96-px slices "
              f"fed at 448, --workers 2, {os.cpu_count()} cores, {load()}):")
        for name, wall, cpu in rows:
            print(f"  {name:18s} {wall:6.1f} s  {knees / wall:5.2f} knee-visits/s  cores busy {cpu / wall:.2f}")
        print(f"  onnx, stacks cached {wall_b:6.1f} s  (the backbone and the command's start: "
              f"{wall_b / rows[0][1]:.0%} of the cold run)")
        print(f"  whole command, onnx vs torch: {rows[1][1] / rows[0][1]:.2f}x")
        if len(rows) > 2:
            print(f"  whole command, openvino bfloat16 (opt-in) vs onnx float32: {rows[0][1] / rows[2][1]:.2f}x")
        for name in reports:  # every knee-visit got its features
            assert reports[name]["features_computed"] == knees > 80
            assert len(list((root / f"cache-{name}" / "features").glob("*/*.npy"))) == knees

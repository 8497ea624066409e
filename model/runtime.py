"""The backbone's feature path on an inference runtime: exported once, cached, run on the CPU.

torch trains, explains (Grad-CAM's gradients) and drives GPUs; bulk feature extraction on a
CPU runs the same weights through ONNX Runtime (the default engine, ``onnx``; OpenVINO,
``openvino``, when installed), about 3x faster than torch eager on 2 cores and equal to it to
1e-5 (docs/model.md, ``tests/model/test_model_runtime.py``). OpenVINO can also compute it in
bfloat16, an opt-in (:data:`PRECISIONS`).

- :func:`export_graph`: the feature path as an ONNX graph. Input ``x`` (N, 3, H, W) float32,
  normalised as the backbone wants (:func:`model.backbone.network_input`, the same preprocessing as
  torch's); outputs ``features`` (N, F) (global average pooling included) and ``maps``
  (N, F, H/32, W/32), the last block's activations Grad-CAM weights. N, H and W are free.
- :func:`graph_path`: ``ROOT/graphs/<architecture>-<12 hex of the weights>-<input size>.onnx``,
  beside the feature store; exported on first use, reused after.
- :class:`RuntimeEncoder`: the :class:`model.features.SliceEncoder` interface (``encode``,
  ``maps_and_features``, ``describe``) on a runtime session.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from model.backbone import Provenance, network_input
from model.choices import unknown_choice
from studies.atomic import write_bytes_atomic
from studies.errors import InputFileError, OptionError

log = logging.getLogger(__name__)

#: The runtimes a graph can run on: engine name -> PyPI package.
RUNTIMES = {"onnx": "onnxruntime", "openvino": "openvino"}
#: The precisions features can be computed in (``--precision``). float32, the default, matches
#: torch to 1e-4 on every engine; bfloat16 is an opt-in of OpenVINO on CPUs with bf16 units (about
#: 2x faster; the features differ from float32's by up to ~0.15 and are stored apart; its measured
#: effect on the cross-validated AUC and on Grad-CAM: docs/model.md, "Reduced precision").
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")
#: OpenVINO's name of each precision (its ``INFERENCE_PRECISION_HINT``).
_OV_PRECISION = {"float32": "f32", "bfloat16": "bf16"}
#: ONNX opset of exported graphs (part of the cache key through :data:`GRAPH_VERSION`).
OPSET = 17
GRAPH_VERSION = f"v1-opset{OPSET}"


class _FeaturePath(torch.nn.Module):
    """x (N, 3, H, W) -> (features (N, F), maps (N, F, H/32, W/32)) of a timm backbone."""

    def __init__(self, backbone: torch.nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.backbone.forward_features(x)
        return self.backbone.forward_head(maps, pre_logits=True), maps


def weights_digest(backbone: torch.nn.Module) -> str:
    """SHA-256 (hex) of the backbone's state dict (names, shapes, values): identifies the
    weights whatever their source (package, file, timm, a random initialisation)."""
    h = hashlib.sha256(GRAPH_VERSION.encode())
    for name, t in backbone.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def graph_path(root: str | Path, backbone: torch.nn.Module, provenance: Provenance) -> Path:
    """Where the exported graph of these weights and input size lives under ``root``."""
    tag = f"{provenance.architecture}-{weights_digest(backbone)[:12]}-{provenance.input_size}"
    return Path(root) / "graphs" / f"{tag}.onnx"


def export_graph(backbone: torch.nn.Module, path: str | Path, input_size: int = 64) -> Path:
    """Export the backbone's feature path (see the module docstring) to ``path``, atomically.

    Traced once on a (1, 3, ``input_size``, ``input_size``) example; batch, height and width
    stay free in the graph. Takes seconds (Lite0: ~5 s on 2 cores).
    """
    module = _FeaturePath(backbone).eval().float().cpu()
    example = torch.zeros(1, 3, input_size, input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module, (example,), buf, input_names=["x"], output_names=["features", "maps"],
            dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "features": {0: "n"}, "maps": {0: "n", 2: "h32", 3: "w32"}},
            opset_version=OPSET, dynamo=False,
        )
    write_bytes_atomic(Path(path), buf.getvalue())
    return Path(path)


def _import_runtime(engine: str):
    try:
        if engine == "onnx":
            import onnxruntime

            return onnxruntime
        import openvino

        return openvino
    except ImportError as exc:
        raise InputFileError(
            RUNTIMES[engine], f"the inference runtime of --engine {engine} is not installed",
            hint=f"pip install {RUNTIMES[engine]}, or pass --engine torch",
        ) from exc


def check_precision(precision: str, engine: str) -> None:
    """Raise :class:`OptionError` unless ``engine`` computes features in ``precision``: an
    unknown name, or bfloat16 on an engine other than OpenVINO (ONNX Runtime's CPU provider and
    torch on a CPU compute in float32)."""
    if precision not in PRECISIONS:
        raise unknown_choice("precision", precision, PRECISIONS)
    if precision != "float32" and engine != "openvino":
        raise OptionError("engine", f"openvino with --precision {precision} (the {engine} engine computes "
                          "features in float32; leave out --precision for float32)", engine)


def check_bf16_units(capabilities: list[str]) -> None:
    """Refuse bfloat16 on a CPU without bf16 units (AVX-512 BF16 or AMX; ``capabilities``:
    OpenVINO's ``OPTIMIZATION_CAPABILITIES`` of the CPU): OpenVINO would quietly compute in
    float32 there, under the bfloat16 label and in the bfloat16 store."""
    if "BF16" not in capabilities:
        raise OptionError("precision", "float32 on this CPU (it has no bfloat16 units: OpenVINO would compute "
                          "in float32 anyway); leave out --precision", "bfloat16")


class RuntimeEncoder:
    """Slices (N, H, W) in [0, 1] -> (N, F) features on ONNX Runtime or OpenVINO, on the CPU.

    ``threads``: the runtime's intra-op threads (default: torch's, i.e. the cores). Its
    threads sleep rather than spin while idle, so preprocessing processes running beside it
    get the cores. ``precision``: float32 (default), or bfloat16 on OpenVINO (an opt-in; see
    :data:`PRECISIONS`), checked to be what OpenVINO compiled.
    """

    def __init__(self, graph: str | Path, provenance: Provenance, *, engine: str = "onnx",
                 batch_size: int = 16, threads: int | None = None, precision: str = "float32") -> None:
        check_precision(precision, engine)
        self.graph, self.provenance, self.engine = Path(graph), provenance, engine
        self.batch_size, self.precision = batch_size, precision
        self.threads = threads or torch.get_num_threads()
        rt = _import_runtime(engine)
        self.version = f"{RUNTIMES[engine]} {rt.__version__}"
        if precision == "bfloat16":
            check_bf16_units(rt.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        try:
            if engine == "onnx":
                so = rt.SessionOptions()
                so.intra_op_num_threads, so.inter_op_num_threads = self.threads, 1
                so.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = rt.InferenceSession(str(self.graph), so, providers=["CPUExecutionProvider"])
            else:
                core = rt.Core()
                config = {"INFERENCE_NUM_THREADS": self.threads, "INFERENCE_PRECISION_HINT": _OV_PRECISION[precision],
                          "PERFORMANCE_HINT": "LATENCY"}
                compiled = core.compile_model(str(self.graph), "CPU", config)
                self._compiled_precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
                self._request = compiled.create_infer_request()
        except Exception as exc:
            raise InputFileError(self.graph, f"the exported graph cannot be loaded by {self.version} ({exc})",
                                 hint="Delete the file; it is exported again on the next run") from exc
        if engine == "openvino" and self._compiled_precision != _OV_PRECISION[precision]:
            raise OptionError("precision", f"what {self.version} compiled ({self._compiled_precision}) on this CPU",
                              precision)

    def _run(self, x: np.ndarray, maps: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if self.engine == "onnx":
            out = self._session.run(["features", "maps"] if maps else ["features"], {"x": x})
            return out[0], (out[1] if maps else None)
        res = self._request.infer({"x": x})
        return np.array(res["features"]), (np.array(res["maps"]) if maps else None)

    def _inputs(self, slices: np.ndarray) -> np.ndarray:
        return network_input(slices, self.provenance, channels_last=False).numpy()

    def encode(self, slices: np.ndarray) -> np.ndarray:
        """(N, H, W) float slices in [0, 1] -> (N, F) float32 features."""
        out = [self._run(self._inputs(slices[s : s + self.batch_size]), False)[0]
               for s in range(0, len(slices), self.batch_size)]
        return np.concatenate(out).astype(np.float32)

    def maps_and_features(self, slices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, H, W) -> (maps (N, F, H'/32, W'/32), features (N, F)), CPU float32, one batch,
        no autograd: Grad-CAM's forward pass (:func:`model.gradcam.gradcam`)."""
        feats, maps = self._run(self._inputs(slices), True)
        return torch.from_numpy(np.ascontiguousarray(maps)), torch.from_numpy(np.ascontiguousarray(feats))

    def describe(self) -> dict:
        """What ran the features, for a run's provenance."""
        return {"engine": self.engine, "runtime": self.version, "device": "cpu", "precision": self.precision,
                "threads": self.threads, "graph": self.graph.name}

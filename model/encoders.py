"""Which engine runs the backbone: one factory for every command.

Engines (``--engine``): ``onnx`` (ONNX Runtime, the default on the CPU), ``openvino``
(OpenVINO, when installed) and ``torch`` (torch eager; the only one on a GPU). The runtime
engines run the graph :mod:`model.runtime` exports once per weights and input size and keeps
under ``<features root>/graphs/``. Their features equal torch's to 1e-5 (tested to 1e-4 on the
real Lite0 weights), so the engine is not part of the feature cache's key; it is recorded in
every run (``config.json`` ``feature_engine``, ``data.json``, ``ai/run.json``).

Precision (``--precision``): float32 on every engine, the default; bfloat16 is an opt-in of
OpenVINO (:data:`model.runtime.PRECISIONS`). It changes the features, so it is a run setting
(``config.json`` ``feature_precision``) and part of the feature store's key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from model.backbone import Provenance, resolve_device
from model.choices import unknown_choice
from model.features import SliceEncoder
from model.runtime import (
    PRECISIONS,
    RUNTIMES,
    RuntimeEncoder,
    check_precision,
    export_graph,
    graph_path,
)
from studies.errors import OptionError

log = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("onnx", "openvino", "torch")
#: The CPU default (docs/model.md: why ONNX Runtime rather than OpenVINO).
DEFAULT_ENGINE = "onnx"


def default_cache_root() -> Path:
    """``$KNEE_MODEL_CACHE`` or ``~/.cache/knee-model`` (read at call time)."""
    return Path(os.environ.get("KNEE_MODEL_CACHE", Path.home() / ".cache" / "knee-model"))


def resolve_engine(engine: str | None, device: str | torch.device | None = "cpu", precision: str = "float32") -> str:
    """The engine to use: ``engine``, or by default ``onnx`` on the CPU (``openvino`` for
    bfloat16) and ``torch`` on a GPU.

    Raises :class:`OptionError` for an unknown name, a runtime engine with a GPU device, or an
    engine that does not compute in ``precision`` (:func:`model.runtime.check_precision`).
    """
    dev = resolve_device(device)
    if engine is None:
        engine = "torch" if dev.type != "cpu" else DEFAULT_ENGINE if precision == "float32" else "openvino"
    if engine not in ENGINES:
        raise unknown_choice("engine", engine, ENGINES)
    if engine in RUNTIMES and dev.type != "cpu":
        raise OptionError("engine", f"'torch' with --device {device} (the {engine} engine runs on the CPU)", engine)
    check_precision(precision, engine)
    return engine


def make_encoder(
    backbone: torch.nn.Module,
    provenance: Provenance,
    *,
    engine: str | None = None,
    device: str | torch.device | None = "cpu",
    graph_root: str | Path | None = None,
    batch_size: int = 16,
    precision: str = "float32",
) -> SliceEncoder | RuntimeEncoder:
    """An encoder of (N, H, W) slices -> (N, F) features on the chosen engine, in ``precision``.

    ``graph_root``: where a runtime engine's exported graph is cached (``graphs/`` below it;
    default ``default_cache_root() / "features"``, beside the feature store).
    """
    name = resolve_engine(engine, device, precision)
    if name == "torch":
        return SliceEncoder(backbone, provenance, batch_size=batch_size, device=device)
    path = graph_path(graph_root or default_cache_root() / "features", backbone, provenance)
    if not path.is_file():
        log.info("exporting the %s feature path to %s", provenance.architecture, path)
        export_graph(backbone, path)
    if precision != "float32":
        log.warning("features in %s on %s: about 2x faster than float32, but they differ from float32's "
                    "(up to ~0.15) and are stored apart; its effect on the AUC and on Grad-CAM: docs/model.md, "
                    "'Reduced precision'", precision, name)
    return RuntimeEncoder(path, provenance, engine=name, batch_size=batch_size, precision=precision)


__all__ = ["ENGINES", "DEFAULT_ENGINE", "PRECISIONS", "resolve_engine", "make_encoder", "default_cache_root"]

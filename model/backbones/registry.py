"""The backbone registry: name -> how to build it, where its weights come from, what it eats.

timm's way: one factory (:func:`model.backbone.create_backbone`) asks this registry, so a new
backbone is one :func:`register_backbone` call (the project's own are in
:mod:`model.backbones.catalog`). The feature count is not written here: it is read from the
built model (``num_features``, timm's convention) and recorded in the weights' provenance.

A backbone built by :attr:`BackboneSpec.build` is an ``nn.Module`` with timm's interface:
``forward_features(x)``: (B, 3, H, W) -> (B, F, H/32, W/32) (output stride 32: the input
size is a multiple of 32); ``forward_head(maps, pre_logits=True)``: -> (B, F) pooled
features; ``forward(x)``: (B, 3, H, W) -> class logits (ImageNet's 1000 for the self-check);
``num_features``: F.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.choices import unknown_choice

if TYPE_CHECKING:  # torch is imported by the builders only, so ``--help`` stays quick
    from torch import nn

#: ImageNet normalisation (per RGB channel), applied to slices scaled to [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Default size (pixels, a slice's larger side) smaller slices are upsampled to before the
#: backbone; see :func:`model.backbone.to_network_input` for why it exceeds ImageNet's 224.
INPUT_SIZE = 448


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone.

    name : the ``--backbone`` name, recorded as the provenance's ``architecture`` (it enters
        the feature store's and the exported graph's names).
    build : ``build(pretrained)`` -> the model (see the module docstring); ``pretrained=True``
        only for ``--weights timm`` (timm's own download), else random weights that the
        factory then replaces by a state-dict file's, or leaves random when asked.
    default_weights : the weight resolver of ``--weights default``: () -> (state-dict file,
        source label recorded in the provenance); None when there is no default file (then
        ``--weights FILE`` or ``timm`` is needed).
    mean, std : per-RGB-channel normalisation of slices in [0, 1] (the pretraining's).
    input_size : default input size in pixels (a multiple of 32).
    summary : one line for ``--help`` and docs.
    """

    name: str
    build: Callable[[bool], nn.Module]
    default_weights: Callable[[], tuple[Path, str]] | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    input_size: int = INPUT_SIZE
    summary: str = ""


_REGISTRY: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec) -> BackboneSpec:
    """Add ``spec`` (a name already taken is an error: :func:`unregister_backbone` first)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"a backbone named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_backbone(name: str) -> None:
    """Remove a registered backbone (tests register theirs for a while)."""
    _REGISTRY.pop(name, None)


def get_backbone(name: str) -> BackboneSpec:
    """The spec of ``name``; an :class:`~studies.errors.OptionError` with a suggestion otherwise."""
    if name not in _REGISTRY:
        raise unknown_choice("backbone", name, _REGISTRY)
    return _REGISTRY[name]


def backbone_names() -> tuple[str, ...]:
    """The registered names, in registration order (``--backbone`` choices)."""
    return tuple(_REGISTRY)

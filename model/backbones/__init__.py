"""Backbones by name: the registry (:mod:`.registry`) and the project's entries (:mod:`.catalog`).

``get_backbone(name)`` -> :class:`BackboneSpec`; ``backbone_names()`` for choices;
:func:`default_backbone` for a command line without ``--backbone``.
"""

from __future__ import annotations

from model.backbones.catalog import (
    DEFAULT_BACKBONE,
    FILE_BACKBONE,
    lite0_package_weights,
    timm_builder,
)
from model.backbones.registry import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    INPUT_SIZE,
    BackboneSpec,
    backbone_names,
    get_backbone,
    register_backbone,
    unregister_backbone,
)


def default_backbone(weights: object) -> str:
    """The backbone of a command without ``--backbone``: :data:`FILE_BACKBONE` for a weights
    file, :data:`DEFAULT_BACKBONE` for ``default``, ``timm`` or random weights (None)."""
    return DEFAULT_BACKBONE if weights in ("default", "timm", None) else FILE_BACKBONE


__all__ = [
    "BackboneSpec", "register_backbone", "unregister_backbone", "get_backbone", "backbone_names",
    "default_backbone", "DEFAULT_BACKBONE", "FILE_BACKBONE", "IMAGENET_MEAN", "IMAGENET_STD", "INPUT_SIZE",
    "lite0_package_weights", "timm_builder",
]

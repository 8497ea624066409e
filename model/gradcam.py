"""Grad-CAM (Selvaraju et al.) through the backbone and the attention-MIL classifier.

For one bag of slices: the gradient of the target class logit with respect to the activations
of the backbone's last convolutional block (``forward_features``), averaged over each map's
pixels, weights that map (computed from the MIL head's gradient alone: see :func:`gradcam`); the weighted sum, ReLU'd, is each slice's CAM. Each slice's CAM is
multiplied by the slice's attention weight, upsampled (bilinear) to the slice size, and the
whole stack is scaled by its maximum to [0, 1]. :func:`heatmap_on_grid` then puts the stack
back into its volume and resamples it onto the source image's grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F

from model.features import SliceEncoder
from model.mil import AttentionMIL
from model.preprocess.slices import put_slices
from model.runtime import RuntimeEncoder


@dataclass
class CamResult:
    """``cams`` (N, H, W) in [0, 1]; ``attention`` (N,); ``proba`` (C,); ``features`` (N, F)."""

    cams: np.ndarray
    attention: np.ndarray
    proba: np.ndarray
    features: np.ndarray


def gradcam(
    encoder: SliceEncoder | RuntimeEncoder,
    mil: AttentionMIL,
    slices: np.ndarray,
    clinical: np.ndarray | None,
    *,
    target: int | None = None,
) -> CamResult:
    """Grad-CAM of ``slices`` (N, H, W) in [0, 1] with raw ``clinical`` (K,) for class ``target``
    (default: the last class, i.e. progression / high pain).

    One forward pass of the frozen backbone, without autograd, on the encoder's engine (a
    runtime or torch), gives both the maps (N, F, h', w') and the pooled features (N, F) the
    score comes from. The maps are the target layer, so the only gradients needed are those of
    the MIL head: ``g`` = d logit / d features (N, F). Global average pooling spreads each of
    them evenly over the map, so Grad-CAM's channel weight (the map gradient averaged over its
    h' x w' cells) is ``g / (h' w')``: the values of backpropagating through the backbone's
    pooling, without touching the backbone.
    """
    mil.eval()
    n, h, w = slices.shape
    maps, feats = encoder.maps_and_features(slices)  # (N, F, h', w') on the device, (N, F) CPU
    feats = feats.detach().clone().requires_grad_(True)
    c = None if clinical is None else torch.as_tensor(np.asarray(clinical, np.float32))[None]
    with torch.enable_grad():
        logits, att = mil(feats[None], c, return_attention=True)
        k = logits.shape[1] - 1 if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, k], feats)  # (N, F)
    with torch.no_grad():
        weights = (grad / (maps.shape[2] * maps.shape[3])).to(maps.device)[:, :, None, None]  # (N, F, 1, 1)
        cam = torch.relu((weights * maps).sum(1))  # (N, h', w')
        cam = cam * att[0][:, None, None].to(cam.device)
        cam = F.interpolate(cam[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0].cpu()
        top = float(cam.max())
        cam = cam / top if top > 0 else cam
    return CamResult(
        cams=cam.numpy().astype(np.float32),
        attention=att[0].detach().numpy(),
        proba=torch.softmax(logits[0], 0).detach().numpy(),
        features=feats.detach().numpy(),
    )


def heatmap_on_grid(
    cams: np.ndarray,
    oriented: sitk.Image,
    sequence: str,
    indices: np.ndarray,
    reference: sitk.Image,
) -> np.ndarray:
    """Slice CAMs (N, H, W) of the ``oriented`` volume -> float32 array on ``reference``'s grid.

    Returns the array in SimpleITK order (slice, row, column) of ``reference`` (the source
    image as read); zero outside the slices used. Nearest-neighbour exactness: the oriented
    grid is a permutation of the source grid.
    """
    shape = sitk.GetArrayViewFromImage(oriented).shape
    vol = sitk.GetImageFromArray(put_slices(cams, shape, sequence, indices))
    vol.CopyInformation(oriented)
    out = sitk.Resample(vol, reference, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return np.clip(sitk.GetArrayFromImage(out), 0.0, 1.0).astype(np.float32)

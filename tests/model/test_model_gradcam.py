"""Grad-CAM through backbone + attention-MIL, and its mapping back onto the source grid."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
import torch
from conftest import knee_like, to_image

from model.backbone import create_backbone
from model.features import SliceEncoder
from model.gradcam import gradcam, heatmap_on_grid
from model.mil import AttentionMIL
from model.preprocess.orientation import orient
from model.preprocess.slices import middle_indices, take_slices


def test_cams_are_per_slice_attention_weighted_and_scaled():
    torch.manual_seed(0)
    backbone, prov = create_backbone("efficientnet_lite0", weights=None)
    enc = SliceEncoder(backbone, prov)
    mil = AttentionMIL(n_features=1280, n_clinical=2, n_classes=2)
    slices = np.random.default_rng(0).random((8, 64, 48)).astype(np.float32)
    res = gradcam(enc, mil, slices, np.array([60.0, np.nan], np.float32))
    assert res.cams.shape == (8, 64, 48) and res.cams.dtype == np.float32
    assert res.cams.min() >= 0 and res.cams.max() <= 1
    assert res.attention.shape == (8,) and np.isclose(res.attention.sum(), 1, atol=1e-5)
    assert res.proba.shape == (2,) and np.isclose(res.proba.sum(), 1, atol=1e-5)
    # the probability equals the plain forward pass on the same features
    with torch.no_grad():
        p = torch.softmax(mil(torch.from_numpy(res.features)[None], torch.tensor([[60.0, float("nan")]])), 1)
    np.testing.assert_allclose(p[0].numpy(), res.proba, atol=1e-5)


def test_heatmap_lands_on_the_source_voxels_for_mirrored_knees():
    src_arr = knee_like((30, 12, 20))
    src = to_image(src_arr, spacing=(0.7, 3.0, 0.9), direction=(-1, 0, 0, 0, -1, 0, 0, 0, 1))
    src.SetOrigin((12.0, -5.0, 3.0))
    marker = np.zeros_like(src_arr)
    marker[17, 6, 3] = 1.0  # (slice, row, column) of the source series
    m_img = sitk.GetImageFromArray(marker)
    m_img.CopyInformation(src)
    for side in ("left", "right"):
        oriented = orient(src, side)
        o_marker = sitk.GetArrayFromImage(orient(m_img, side))
        idx = middle_indices(o_marker.shape[1])
        cams = take_slices(o_marker, "cor_iw_tse", idx)
        heat = heatmap_on_grid(cams, oriented, "cor_iw_tse", idx, src)
        assert heat.shape == src_arr.shape and heat.dtype == np.float32
        assert np.unravel_index(heat.argmax(), heat.shape) == (17, 6, 3)
        assert heat.sum() == 1.0


def _gradcam_before(enc: SliceEncoder, mil: AttentionMIL, slices: np.ndarray, clinical: np.ndarray):
    """Grad-CAM as computed before the runtime engines: the backbone's forward pass with
    autograd and the gradient backpropagated onto its last block's maps through the pooling."""
    import torch.nn.functional as F

    n, h, w = slices.shape
    with torch.enable_grad():
        maps = enc.feature_maps(slices).detach().requires_grad_(True)
        feats = enc.pool(maps)
        logits, att = mil(feats[None], torch.as_tensor(clinical)[None], return_attention=True)
        (grad,) = torch.autograd.grad(logits[0, -1], maps)
    with torch.no_grad():
        cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * maps).sum(1)) * att[0][:, None, None]
        cam = F.interpolate(cam[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        return (cam / cam.max()).numpy(), torch.softmax(logits[0], 0).numpy()


def test_heatmaps_equal_those_of_the_backbone_autograd_on_every_engine(tmp_path):
    from model.encoders import make_encoder

    torch.manual_seed(3)
    backbone, prov = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    torch_enc = SliceEncoder(backbone, prov)
    mil = AttentionMIL(n_features=1280, n_clinical=2, n_classes=2).eval()
    slices = np.random.default_rng(4).random((8, 96, 80)).astype(np.float32)  # 3 x 3 cells
    clinical = np.array([61.0, 1.0], np.float32)
    ref, proba = _gradcam_before(torch_enc, mil, slices, clinical)
    assert ref.max() == 1.0 and (ref < 0.5).mean() > 0.2  # a map with structure, not flat
    for engine in ("torch", "onnx"):
        enc = make_encoder(backbone, prov, engine=engine, graph_root=tmp_path)
        res = gradcam(enc, mil, slices, clinical)
        np.testing.assert_allclose(res.cams, ref, atol=1e-4, rtol=0, err_msg=engine)
        np.testing.assert_allclose(res.proba, proba, atol=1e-5, err_msg=engine)

"""Exactness on the real weights: the package's Lite0 ImageNet weights through ONNX Runtime
equal torch's features to 1e-4 absolute, at the default 448 px, on real MR slices."""

from __future__ import annotations

import numpy as np
import pytest

from model.backbone import create_backbone
from model.encoders import make_encoder
from model.features import SliceEncoder


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    backbone, prov = create_backbone("efficientnet_lite0")  # the package's ImageNet weights
    runtime = make_encoder(backbone, prov, engine="onnx", graph_root=tmp_path_factory.mktemp("f"), batch_size=8)
    return SliceEncoder(backbone, prov, batch_size=8), runtime


def _real_slices(shared_dir) -> np.ndarray:
    """8 preprocessed slices (8, 137, 136) in [0, 1] of the real thigh T1 (fast N4, clipping)."""
    from model.preprocess.pipeline import PreprocessConfig, VolumeJob, preprocess_job

    src = shared_dir / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"
    if not src.is_dir():
        pytest.skip(f"{src} not present")
    return preprocess_job(VolumeJob(str(src), None, mirror=False), PreprocessConfig(sequence="cor_iw_tse"))


def test_real_weights_on_real_mr_slices_match_torch(lite0, shared_dir):
    torch_enc, runtime = lite0
    slices = _real_slices(shared_dir)
    assert slices.shape[0] == 8 and 0 <= slices.min() and slices.max() <= 1
    ref, got = torch_enc.encode(slices), runtime.encode(slices)
    assert float(np.abs(ref).max()) > 1  # real activations, not a degenerate input
    diff = float(np.abs(got - ref).max())
    assert diff <= 1e-4, f"largest difference {diff:.2e} on real weights and slices"
    maps_t, _ = torch_enc.maps_and_features(slices)
    maps_r, _ = runtime.maps_and_features(slices)
    assert float((maps_r - maps_t).abs().max()) <= 1e-4


def test_real_weights_on_a_synthetic_knee_slice_size_match_torch(lite0):
    """96-px slices (the synthetic 'small' size) upsampled to 448 px, as the demo feeds them."""
    torch_enc, runtime = lite0
    slices = np.random.default_rng(0).random((8, 96, 96)).astype(np.float32)
    np.testing.assert_allclose(runtime.encode(slices), torch_enc.encode(slices), atol=1e-4, rtol=0)

"""Feature extraction speed on CPU: slices per second for both backbones.

EfficientNet-B0 runs with random weights here (no ImageNet file offline); speed does not
depend on the weights. Slices at the COR IW TSE size (384 x 384) and the synthetic 'small'
size (96 x 96), both fed at the default input size (448 px), batches of 8 (one bag), 2 torch
threads.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from model.backbone import create_backbone, network_size
from model.features import SliceEncoder


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_b0"])
@pytest.mark.parametrize("size", [384, 96])
def test_slices_per_second(name, size):
    torch.set_num_threads(2)
    model, prov = create_backbone(name, weights="default" if name == "efficientnet_lite0" else None)
    enc = SliceEncoder(model, prov, batch_size=8)
    bag = np.random.default_rng(0).random((8, size, size)).astype(np.float32)
    enc.encode(bag)  # warm-up
    reps = 3 if size == 384 else 10
    t0 = time.perf_counter()
    for _ in range(reps):
        enc.encode(bag)
    rate = 8 * reps / (time.perf_counter() - t0)
    fed = "x".join(map(str, network_size(size, size, prov.input_size)))
    print(f"\nfeatures: {name} ({prov.weights}) {size}x{size} slices fed at {fed}: {rate:.1f} slices/s on CPU")
    assert rate > 0

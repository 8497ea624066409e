"""Fixtures for the model tests: small volumes and a bias field."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk


def knee_like(shape=(40, 12, 48), seed=0) -> np.ndarray:
    """A (z, y, x) volume with structure (ellipsoids, texture) and background, float32."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    vol = 300.0 * ((x / 0.8) ** 2 + (z / 0.9) ** 2 < 1)
    vol += 200.0 * (((x - 0.3) / 0.3) ** 2 + ((z + 0.2) / 0.25) ** 2 < 1)
    vol += 150.0 * np.sin(6 * x) * np.cos(5 * z) * (vol > 0)
    vol += rng.normal(0, 10, shape)
    return np.clip(vol, 0, None).astype(np.float32)


def with_bias(vol: np.ndarray, amplitude=0.4) -> np.ndarray:
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in vol.shape], indexing="ij")
    return (vol * np.exp(amplitude * (x + 0.5 * y - 0.5 * z * z))).astype(np.float32)


def to_image(arr: np.ndarray, spacing=(0.73, 3.0, 0.73), direction=None) -> sitk.Image:
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    if direction is not None:
        img.SetDirection(direction)
    return img


@pytest.fixture
def knee_volume() -> np.ndarray:
    return knee_like()


@pytest.fixture(autouse=True)
def _model_cache(tmp_path_factory, monkeypatch):
    """Graphs exported by tests go to one session folder, never to the user's cache."""
    monkeypatch.setenv("KNEE_MODEL_CACHE", str(tmp_path_factory.getbasetemp() / "knee-model-cache"))

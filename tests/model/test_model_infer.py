"""Inference into a study package: scores, heatmaps, run.json, leakage guard, CLI."""

from __future__ import annotations

import csv
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from study_factory import make_study

from model.backbone import create_backbone
from model.cli import main
from model.infer import TRAINING_PARTICIPANTS, case_sources, choose_models, infer_study
from model.preprocess.pipeline import PreprocessConfig
from model.run import FOLDS, RunConfig, save_model, write_json
from model.training import MILClassifier
from studies.errors import InputFileError


def make_run(root, participants_by_fold: dict[int, list[str]], *, final=True, training=(),
             sequence="cor_iw_tse", name="run", task="jsn-abs", n4="none"):
    """A run folder with random-backbone provenance and tiny fitted models."""
    run = root / name
    _, prov = create_backbone("efficientnet_lite0", weights=None, input_size=64)
    cfg = RunConfig(cohort="/nowhere", task=task, weights=None, input_size=64, preprocess=PreprocessConfig(sequence=sequence, n4=n4),
                    provenance=prov.to_json(), run_id=f"{name}-x")
    write_json(run / "config.json", cfg.to_json())
    rng = np.random.default_rng(0)
    X, C, y = rng.normal(size=(20, 8, 1280)).astype(np.float32), rng.normal(size=(20, 6)).astype(np.float32), np.arange(20) % 2
    names = [f"fold_{k}" for k in participants_by_fold] + (["final"] if final else [])
    for name in names:
        save_model(run, name, MILClassifier(epochs=1, seed=len(name)).fit(X, C, y))
    rows = [{"participant_id": p, "side": "left", "visit_month": 0, "fold": k, "y": 0, "probability": 0.5}
            for k, ps in participants_by_fold.items() for p in ps]
    if rows:
        pd.DataFrame(rows).to_csv(run / FOLDS, index=False)
    if training:
        (run / TRAINING_PARTICIPANTS).write_text("\n".join(training) + "\n")
    return run


@pytest.fixture
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=2, n_practice=1)


def test_scores_heatmaps_and_provenance_with_key(tmp_path, tiny):
    sources = case_sources(tiny.key)
    pids = sorted(set(sources.values()))
    run = make_run(tmp_path, {1: pids[::2], 2: pids[1::2]}, final=False)
    info = infer_study(run, tiny.study, key=tiny.key)
    assert set(info["models_used"]) == {"fold_1", "fold_2"} and "never saw" in info["model_selection"]
    with open(tiny.study / "ai" / "scores.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["case_id", "probability", "run_id"]
    assert {r[0] for r in rows[1:]} == set(tiny.manifest.cases)  # scored and practice cases
    assert all(0 <= float(r[1]) <= 1 and r[2] == "run-x" for r in rows[1:])
    for cid in tiny.manifest.cases:
        img = nib.load(str(tiny.study / "images" / f"{cid}_cor_iw_tse.nii.gz"))
        heat = nib.load(str(tiny.study / "ai" / "heatmaps" / f"{cid}_cor_iw_tse.nii.gz"))
        assert heat.shape == img.shape and np.allclose(heat.affine, img.affine)
        data = heat.get_fdata()
        assert heat.get_data_dtype() == np.float32 and data.min() >= 0 and data.max() <= 1
        assert not (tiny.study / "ai" / "heatmaps" / f"{cid}_sag_3d_dess.nii.gz").exists()
    run_json = json.loads((tiny.study / "ai" / "run.json").read_text())
    assert run_json["backbone"]["weights"] == "random" and run_json["run_id"] == "run-x"
    assert run_json["engine"]["engine"] == "onnx" and run_json["engine"]["runtime"].startswith("onnxruntime ")
    text = (tiny.study / "ai" / "run.json").read_text()
    assert not any(p in text for p in pids)  # no source ids in the package


def test_knees_preprocessed_from_the_cohort_are_not_corrected_again(tmp_path, tiny, monkeypatch):
    """The cohort's features stage preprocessed these knees from their own files (right knees
    unmirrored); the study's cases are the same voxels, so scoring them runs no N4."""
    import SimpleITK as sitk

    from model.preprocess import pipeline as pp
    from model.preprocess.orientation import orient, read_volume

    sources = case_sources(tiny.key)
    run = make_run(tmp_path, {1: sorted(set(sources.values()))}, final=False, n4="fast")
    cfg, cache = PreprocessConfig(sequence="cor_iw_tse"), tmp_path / "cache"
    cases = sorted(tiny.manifest.cases)
    for cid in cases[1:]:  # the first case is left for the study to preprocess
        package = orient(read_volume(tiny.study / "images" / f"{cid}_cor_iw_tse.nii.gz"), None, mirror=False)
        cohort_file = tmp_path / f"cohort_{cid}.nii.gz"
        acquired = sitk.GetImageFromArray(sitk.GetArrayFromImage(package)[:, :, ::-1])  # a right knee, unmirrored
        acquired.CopyInformation(package)
        sitk.WriteImage(acquired, str(cohort_file))
        pp.preprocess_job(pp.VolumeJob(str(cohort_file), "right", mirror=True), cfg, str(cache / "preprocess"))
    corrected = []
    real = pp.n4_slab
    monkeypatch.setattr(pp, "n4_slab", lambda image, *a, **k: corrected.append(image.GetSize()) or real(image, *a, **k))
    infer_study(run, tiny.study, key=tiny.key, cache_dir=cache, workers=1)
    assert len(corrected) == 1  # the one case not preprocessed before
    corrected.clear()
    infer_study(run, tiny.study, key=tiny.key, cache_dir=cache, workers=1)
    assert corrected == []


def test_worker_processes_score_and_explain_as_one_process(tmp_path, tiny):
    """With two workers each case is preprocessed and scored in a worker process on a
    one-thread session: the same scores and heatmaps as one process (from the same
    preprocessed stacks: N4 on one ITK thread and on two differs in the last digits)."""
    import shutil

    import torch

    sources = case_sources(tiny.key)
    run = make_run(tmp_path, {1: sorted(set(sources.values()))}, final=False, n4="fast")
    out = {}
    for workers in (1, 2):
        study = tmp_path / f"study{workers}"
        shutil.copytree(tiny.study, study)
        torch.manual_seed(0)  # the same random backbone in both calls
        infer_study(run, study, key=tiny.key, cache_dir=tmp_path / "cache", workers=workers)
        out[workers] = study
    one, two = (pd.read_csv(out[w] / "ai" / "scores.csv") for w in (1, 2))
    assert np.allclose(one["probability"], two["probability"], atol=1e-6) and list(one["case_id"]) == list(two["case_id"])
    for cid in tiny.manifest.cases:
        a, b = (nib.load(str(out[w] / "ai" / "heatmaps" / f"{cid}_cor_iw_tse.nii.gz")).get_fdata() for w in (1, 2))
        assert a.max() > 0 and np.abs(a - b).max() <= 1e-5


def test_each_knee_is_scored_by_the_fold_that_never_saw_it(tmp_path, tiny):
    sources = case_sources(tiny.key)
    pids = sorted(set(sources.values()))
    run = make_run(tmp_path, {1: pids[:2], 2: pids[2:4]}, training=pids[:4])
    chosen, _ = choose_models(run, list(sources), sources)
    for case, pid in sources.items():
        want = "fold_1" if pid in pids[:2] else "fold_2" if pid in pids[2:4] else None
        assert chosen[case] == want or (want is None and chosen[case] == "final")
    # a participant used by the final model with no fold model is refused, not leaked
    run2 = make_run(tmp_path / "b", {}, training=pids)
    with pytest.raises(InputFileError, match="never saw"):
        choose_models(run2, list(sources), sources)
    # an unseen participant gets the final model
    assert set(choose_models(run2, list(sources), {c: "0000000" for c in sources})[0].values()) == {"final"}


def test_without_key_final_model_and_a_warning(tmp_path, tiny, capsys):
    run = make_run(tmp_path, {})
    assert main(["infer", "--run", str(run), "--study", str(tiny.study), "--no-heatmaps"]) == 0
    out = capsys.readouterr()
    assert "final model for every case" in out.out and "no --key" in out.err
    assert not list((tiny.study / "ai" / "heatmaps").iterdir())


def test_errors_leave_the_package_alone(tmp_path, tiny, capsys):
    run = make_run(tmp_path, {})
    infer_study(run, tiny.study, heatmaps=False)
    before = (tiny.study / "ai" / "scores.csv").read_bytes()
    victim = next(iter(tiny.manifest.cases))
    (tiny.study / "images" / f"{victim}_cor_iw_tse.nii.gz").unlink()
    with pytest.raises(InputFileError, match="image not found"):
        infer_study(run, tiny.study, heatmaps=False)
    assert (tiny.study / "ai" / "scores.csv").read_bytes() == before
    other = tmp_path / "other.json"
    other.write_text(tiny.key.read_text().replace("likely", "doubtful"))
    assert main(["infer", "--run", str(run), "--study", str(tiny.study), "--key", str(other)]) == 2
    assert "does not match this study" in capsys.readouterr().err
    assert main(["infer", "--run", str(tmp_path / "none"), "--study", str(tiny.study)]) == 2
    assert "not a model run folder" in capsys.readouterr().err


def test_heatmap_runs_read_once_trained_and_a_failed_training_changes_nothing(tmp_path, tiny):
    """A caller still training the heatmap run (the demo) lets the scoring run's cases be
    scored meanwhile; the run is read only when the training returns, and a training that
    fails leaves the package as it was."""
    run = make_run(tmp_path, {})
    infer_study(run, tiny.study, heatmaps=False)
    before = (tiny.study / "ai" / "scores.csv").read_bytes()
    dess = tmp_path / "dess"

    def fails(progress):
        raise RuntimeError("the heatmap run's training failed")

    with pytest.raises(RuntimeError, match="training failed"):
        infer_study(run, tiny.study, heatmap_runs=(dess,), heatmap_runs_trained=fails)
    assert (tiny.study / "ai" / "scores.csv").read_bytes() == before

    def trains(progress):  # the run folder does not exist until now
        make_run(tmp_path, {}, sequence="sag_3d_dess", name="dess")

    info = infer_study(run, tiny.study, heatmap_runs=(dess,), heatmap_runs_trained=trains)
    assert info["heatmap_sequences"] == ["cor_iw_tse", "sag_3d_dess"]
    for cid in tiny.manifest.cases:
        assert (tiny.study / "ai" / "heatmaps" / f"{cid}_sag_3d_dess.nii.gz").is_file()


def test_a_heatmap_run_adds_the_other_sequence_and_leaves_the_scores_alone(tmp_path, tiny):
    sources = case_sources(tiny.key)
    pids = sorted(set(sources.values()))
    folds = {1: pids[::2], 2: pids[1::2]}
    run = make_run(tmp_path, folds, final=False)
    infer_study(run, tiny.study, key=tiny.key)
    scores_alone = (tiny.study / "ai" / "scores.csv").read_bytes()
    sag = make_run(tmp_path, folds, final=False, sequence="sag_3d_dess", name="run-sag")
    info = infer_study(run, tiny.study, key=tiny.key, heatmap_runs=(sag,))
    assert info["heatmap_sequences"] == ["cor_iw_tse", "sag_3d_dess"]
    assert info["heatmap_runs"] == {"cor_iw_tse": "run-x", "sag_3d_dess": "run-sag-x"}
    assert (tiny.study / "ai" / "scores.csv").read_bytes() == scores_alone  # scores: the main run's
    for cid in tiny.manifest.cases:
        for seq in ("cor_iw_tse", "sag_3d_dess"):
            img = nib.load(str(tiny.study / "images" / f"{cid}_{seq}.nii.gz"))
            heat = nib.load(str(tiny.study / "ai" / "heatmaps" / f"{cid}_{seq}.nii.gz"))
            assert heat.shape == img.shape and np.allclose(heat.affine, img.affine)
    # a heatmap run of another task, or a second run of the same sequence, is refused
    other_task = make_run(tmp_path, folds, final=False, sequence="sag_3d_dess", name="run-pain", task="pain")
    with pytest.raises(InputFileError, match="task"):
        infer_study(run, tiny.study, key=tiny.key, heatmap_runs=(other_task,))
    twin = make_run(tmp_path, folds, final=False, name="run-twin")
    with pytest.raises(InputFileError, match="same sequence"):
        infer_study(run, tiny.study, key=tiny.key, heatmap_runs=(twin,))


def test_run_config_keeps_the_input_size_and_reads_older_runs():
    assert RunConfig.from_json(RunConfig(cohort="/c", input_size=320).to_json()).input_size == 320
    older = RunConfig(cohort="/c", provenance={"input_size": 224}).to_json()
    del older["input_size"]  # written before the option existed: fed at 224 px, as the provenance says
    assert RunConfig.from_json(older).input_size == 224


def test_cv_summary_is_the_out_of_fold_auc_with_delong_interval(tmp_path):
    from sklearn.metrics import roc_auc_score

    from model.infer import cv_summary

    run = tmp_path / "run"
    run.mkdir()
    assert cv_summary(run) is None  # no cross-validation: nothing to say
    rng = np.random.default_rng(1)
    y = np.arange(200) % 2
    p = np.clip(0.5 + 0.15 * (y - 0.5) + rng.normal(0, 0.2, 200), 0, 1)
    pd.DataFrame({"participant_id": [f"9{i // 2:06d}" for i in range(200)], "side": "left", "visit_month": 0,
                  "fold": np.arange(200) % 5 + 1, "y": y, "probability": p}).to_csv(run / FOLDS, index=False)
    s = cv_summary(run)
    assert s["auc"] == pytest.approx(roc_auc_score(y, p)) and s["ci"][0] < s["auc"] < s["ci"][1]
    assert (s["n"], s["n_positive"], s["n_negative"], s["folds"], s["participants"]) == (200, 100, 100, 5, 100)
    assert 0.1 < s["ci"][1] - s["ci"][0] < 0.3  # DeLong on 200 knees
    pd.DataFrame({"participant_id": ["1"], "side": "left", "visit_month": 0, "fold": 1, "y": 0,
                  "probability": 0.5}).to_csv(run / FOLDS, index=False)
    assert cv_summary(run) is None  # one class: no AUC


def test_errors_from_worker_processes_keep_their_fields():
    import pickle

    from studies.errors import OptionError

    err = pickle.loads(pickle.dumps(InputFileError("a.nii.gz", "image not found", column="c", value=3, hint="Check it")))
    assert isinstance(err, InputFileError) and str(err) == "a.nii.gz, column 'c': image not found (got 3). Check it"
    opt = pickle.loads(pickle.dumps(OptionError("engine", "one of onnx, torch", "onx")))
    assert isinstance(opt, OptionError) and opt.name == "engine" and "Got 'onx'" in str(opt)

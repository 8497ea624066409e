"""One synthetic cohort written in both download styles reads the same: the same knee table,
labels, pairs for a seed, chosen series and features; quirks on at their default rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.builder import BuildOptions, build_study
from studies.cli import main
from studies.cohort import load_cohort, resolve
from studies.labels import make_labels
from studies.package import SEQUENCES, load_key
from studies.pairs import SamplingConfig
from studies.synth import generate_cohort

SEED = 11
KEY = ["participant_id", "side", "visit_month"]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    root = tmp_path_factory.mktemp("styles")
    return {
        style: generate_cohort(root / style, patients=60, seed=SEED, progressor_rate=0.5, images="baseline",
                               style=style)
        for style in ("oai", "nda")
    }


@pytest.fixture(scope="module")
def read(cohorts):
    return {style: load_cohort(path) for style, path in cohorts.items()}


def test_styles_are_detected(read):
    assert read["oai"].source == "oai" and read["nda"].source == "nda"
    assert read["nda"].knees[SEQUENCES[0]].dropna().str.endswith(".tar.gz").all()


def test_same_knee_table_in_both_styles(read):
    a, b = (read[s].knees for s in ("oai", "nda"))
    cols = [c for c in a.columns if c not in SEQUENCES]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    for seq in SEQUENCES:  # the same knee-visits have a usable series of each sequence
        assert (a[seq].notna() == b[seq].notna()).all()


def test_quirks_are_there_and_read_as_intended(read, cohorts):
    oai = read["oai"]
    assert oai.report["reading_projects"]["kl_grade"].keys() >= {"15", "37", "42"}
    assert len(oai.report["reading_projects"]["jsw_mm"]) >= 2
    assert oai.report["heights_carried_forward"] > 0
    truth = pd.read_csv(cohorts["oai"] / "synthetic" / "series.csv", dtype={"participant_id": str})
    assert truth["repeat"].any() and truth["truncated"].any()


@pytest.mark.parametrize("style", ["oai", "nda"])
def test_chosen_series_are_the_ground_truth_ones(read, cohorts, style):
    """At baseline (written to disk) every knee-visit-sequence's chosen series is the one the
    generator marks as the right choice; a knee with only a truncated series has none (single
    archives are counted when resolved, as a build or the model does for the knees it reads)."""
    c = load_cohort(cohorts[style])
    base = c.knees[c.knees["visit_month"] == 0]
    resolve(c, [(r.participant_id, r.side, 0) for r in base.itertuples()])
    truth = pd.read_csv(cohorts[style] / "synthetic" / "series.csv", dtype={"participant_id": str, "barcode": str})
    truth = truth[truth["visit_month"] == 0]
    chosen = c.series[c.series["chosen"] & (c.series["visit_month"] == 0)]
    got = {(r.participant_id, r.side, r.sequence): (r.path if r.status == "complete" else None)
           for r in chosen.itertuples()}
    for g, rows in truth.groupby(["participant_id", "side", "sequence"]):
        right = rows[rows["chosen"].astype(bool)]
        want = str(cohorts[style] / right["path"].iloc[0]) if len(right) else None
        assert got.get(g) == want, (g, rows.to_dict("records"))


def test_same_labels_in_both_styles(read):
    a, b = (make_labels(read[s].knees, jsw_readings=read[s].jsw_readings) for s in ("oai", "nda"))
    cols = [c for c in a.columns if c not in SEQUENCES]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a.attrs["excluded"] == b.attrs["excluded"]


def test_same_pairs_for_a_seed_in_both_styles(cohorts, tmp_path):
    keys = {}
    for style, path in cohorts.items():
        opts = BuildOptions(sampling=SamplingConfig(n_pairs=10, strata=(1, 8, 1), seed=5), confidence=0, workers=1)
        result = build_study(path, tmp_path / f"study-{style}", tmp_path / f"key-{style}.json", opts)
        keys[style] = load_key(result.key)
    for a, b in zip(keys["oai"]["pairs"], keys["nda"]["pairs"], strict=True):
        assert a["progressor_source"] == b["progressor_source"]
        assert a["non_progressor_source"] == b["non_progressor_source"]
        assert a["jsn_mm"] == b["jsn_mm"] and a["stratum"] == b["stratum"]


def test_same_features_in_both_styles(tmp_path):
    """The model's features of one knee set read from DICOM folders and from .tar.gz archives."""
    from model.experiment import prepare
    from model.preprocess.pipeline import PreprocessConfig
    from model.run import RunConfig

    data = {}
    for style in ("oai", "nda"):
        path = generate_cohort(tmp_path / style / "cohort", patients=8, seed=SEED, progressor_rate=0.5,
                               images="baseline", style=style)
        cfg = RunConfig(cohort=str(path), task="jsn-abs", input_size=64, visits=(0,),
                        preprocess=PreprocessConfig(sequence="cor_iw_tse", n4="none"))
        _, data[style] = prepare(cfg, features_root=tmp_path / style / "features",
                                 cache_root=tmp_path / style / "preprocess")
    assert data["oai"].keys == data["nda"].keys and len(data["oai"].keys) >= 10
    np.testing.assert_array_equal(data["oai"].X, data["nda"].X)
    np.testing.assert_array_equal(data["oai"].y, data["nda"].y)


def test_inspect_cohort_json(cohorts, capsys):
    import json

    assert main(["inspect-cohort", str(cohorts["nda"]), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["style"] == "nda" and found["participants"] == 60
    assert found["visits"]["0"]["knees_with_both_sequences"] > 100
    assert found["labels"]["baseline"]["jsn_abs"]["progressors"] > 10
    assert main(["inspect-cohort", str(cohorts["oai"])]) == 0
    assert "oai download style (synthetic)" in capsys.readouterr().out

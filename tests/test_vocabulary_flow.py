"""A clinical variable added in one place (registered in the vocabulary) reaches the study
package's manifest, its check, and the text of the reader app's knee panel (domain side)."""

from __future__ import annotations

import json

import pytest

from studies.errors import InputFileError
from studies.package import Manifest, load_manifest, save_manifest
from studies.pairs import SelectedPair
from studies.plan import plan_study
from studies.vocabulary import VARIABLES, ClinicalVariable, clinical_schema, shown_variables

EFFUSION = ClinicalVariable("effusion_ml", "Effusion", "ml", digits=1, valid_range=(0, 200), shown_at=6)


@pytest.fixture
def effusion():
    with VARIABLES.added(EFFUSION) as var:
        yield var
    assert "effusion_ml" not in VARIABLES


def _row(pid: str, jsn: float, effusion_ml: float) -> dict:
    return {"participant_id": pid, "side": "left", "jsn_mm": jsn, "age": 61.4, "sex": "F", "bmi": 27.44,
            "height_m": 1.641, "weight_kg": 73.55, "jsw_mm": 4.123, "effusion_ml": effusion_ml,
            "cor_iw_tse": f"/x/{pid}_cor", "sag_3d_dess": f"/x/{pid}_sag"}


def test_a_registered_variable_reaches_the_manifest_and_its_check(effusion, tmp_path):
    assert shown_variables()[-1] is effusion
    pair = SelectedPair(_row("9000001", -1.2, 12.345), _row("9000002", 0.1, 3.0), "likely")
    plan = plan_study([pair], seed=3)
    manifest = Manifest(study_id=plan.study_id, cases=plan.cases, pairs=plan.pairs, key_sha256="0" * 64)
    save_manifest(tmp_path, manifest)
    written = json.loads((tmp_path / "manifest.json").read_text())
    clinical = sorted((c["clinical"] for c in written["cases"].values()), key=lambda c: c["effusion_ml"])
    assert [c["effusion_ml"] for c in clinical] == [3.0, 12.3]  # stored with its digits
    assert list(clinical[0]) == ["age", "sex", "bmi", "height_m", "weight_kg", "min_medial_jsw_mm", "effusion_ml"]
    assert clinical[0]["age"] == 61 and clinical[0]["min_medial_jsw_mm"] == 4.12
    assert load_manifest(tmp_path).cases  # the manifest's schema knows the new variable ...
    assert "effusion_ml" in clinical_schema()["required"]
    case = next(iter(written["cases"]))
    written["cases"][case]["clinical"]["effusion_ml"] = 500  # ... and its range
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    with pytest.raises(InputFileError, match="effusion_ml"):
        load_manifest(tmp_path)


def test_a_registered_variable_is_shown_in_the_knee_panel(effusion):
    from reader_app.domain.clinical import clinical_names, clinical_texts

    assert clinical_names()[-1] == ("effusion_ml", "Effusion")
    texts = clinical_texts({"age": 61, "sex": "M", "bmi": 27.4, "height_m": 1.64, "weight_kg": 73.5,
                            "min_medial_jsw_mm": 4.12, "effusion_ml": 12.3})
    assert texts == {"age": "61 years", "sex": "Male", "bmi": "27.4 kg/m²", "height_m": "1.64 m",
                     "weight_kg": "73.5 kg", "min_medial_jsw_mm": "4.12 mm", "effusion_ml": "12.3 ml"}
    assert clinical_texts({})["effusion_ml"] == "—"


def test_without_the_registration_the_manifest_refuses_the_variable(tmp_path):
    with VARIABLES.added(EFFUSION):
        plan = plan_study([SelectedPair(_row("1", -1.2, 5.0), _row("2", 0.1, 3.0), "likely")], seed=0)
        save_manifest(tmp_path, Manifest(study_id=plan.study_id, cases=plan.cases, pairs=plan.pairs,
                                         key_sha256="0" * 64))
    with pytest.raises(InputFileError, match="effusion_ml"):
        load_manifest(tmp_path)

"""The knee panel lays out and fills the clinical variables the vocabulary says readers see."""

from __future__ import annotations

from studies.vocabulary import VARIABLES, ClinicalVariable


def test_knee_panel_shows_the_vocabularys_variables(qapp):
    from reader_app.ui.knee_panel import KneePanel

    extra = ClinicalVariable("effusion_ml", "Effusion", "ml", valid_range=(0, 200), shown_at=6)
    with VARIABLES.added(extra):
        panel = KneePanel("A")
        panel.set_clinical({"age": 61, "sex": "F", "bmi": 27.4, "height_m": 1.64, "weight_kg": 73.5,
                            "min_medial_jsw_mm": 4.12, "effusion_ml": 12.25})
    texts = {k: label.text() for k, label in panel.clinical_values.items()}
    assert texts == {"age": "61 years", "sex": "Female", "bmi": "27.4 kg/m²", "height_m": "1.64 m",
                     "weight_kg": "73.5 kg", "min_medial_jsw_mm": "4.12 mm", "effusion_ml": "12.2 ml"}
    panel.deleteLater()

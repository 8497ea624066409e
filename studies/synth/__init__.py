"""A synthetic knee cohort in either OAI download style (the OAI's releases, or the NDA package).

See ``docs/synthetic-cohort.md`` for what is planted, which real-data quirks and how.
"""

from studies.synth.cohort import (
           generate_cohort,
           knee_series,
           label_map,
           load_synthetic,
           materialize,
           sign_mask,
)
from studies.synth.geometry import SIZES
from studies.synth.images import render_series
from studies.synth.layout import STYLES
from studies.synth.quirks import DEFAULT_QUIRKS, NO_QUIRKS, QUIRK_NAMES, Quirks

__all__ = ["generate_cohort", "materialize", "knee_series", "sign_mask", "label_map", "load_synthetic",
           "render_series", "SIZES", "STYLES", "Quirks", "DEFAULT_QUIRKS", "NO_QUIRKS", "QUIRK_NAMES"]

"""A synthetic knee cohort in the OAI's own format (tables, contents.csv, DICOM series).

See ``docs/synthetic-cohort.md`` for what is planted and how.
"""

from studies.synth.cohort import generate_cohort, label_map, load_synthetic, materialize, sign_mask
from studies.synth.geometry import SIZES

__all__ = ["generate_cohort", "materialize", "sign_mask", "label_map", "load_synthetic", "SIZES"]

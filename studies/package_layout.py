"""The study package's fixed names and limits: its folders and files, the manifest versions
this software reads, the sequences and the strata.

Plain constants with no imports, so that the modules a study package is checked with (the
file schemas, :mod:`studies.schemas`; the reading modes, :mod:`studies.decisions.modes`) need
not import :mod:`studies.package`, which imports them. :mod:`studies.package` re-exports
every name here.
"""

from __future__ import annotations

SCHEMA_VERSION = 2
#: Manifest versions this software reads.
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
#: Most steps a confidence scale may have (its buttons must fit the window).
MAX_CONFIDENCE_STEPS = 11
MANIFEST_NAME = "manifest.json"
IMAGES_DIR = "images"
AI_DIR = "ai"
AI_SCORES_NAME = "scores.csv"
AI_HEATMAPS_DIR = "heatmaps"
AI_RUN_NAME = "run.json"
DECISIONS_DIR = "decisions"

#: Sequence keys used everywhere in the package (and their OAI SeriesDescription stems).
SEQUENCES: tuple[str, ...] = ("cor_iw_tse", "sag_3d_dess")
SEQUENCE_LABELS = {"cor_iw_tse": "COR IW TSE", "sag_3d_dess": "SAG 3D DESS"}

#: Strata of progressors, as in the paper's human benchmark.
STRATA: tuple[str, ...] = ("almost_certain", "likely", "doubtful")

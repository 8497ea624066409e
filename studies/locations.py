"""Defaults shared by the three programs (one definition each): places on disk, the demo's size.

- :func:`default_model_cache`: ``knee-model``'s feature and preprocessing cache
  (``$KNEE_MODEL_CACHE``, else ``~/.cache/knee-model``);
- :data:`DEMO_DIR`: where ``make demo`` / ``knee-reader --demo`` put the demo (relative to the
  working folder); the demo keeps its own model cache in ``DEMO_DIR/model-cache``;
- :data:`DEMO_PATIENTS`, :data:`DEMO_PAIRS`: the demo's synthetic cohort and study
  (``studies.builder.build_demo``, ``knee-study demo``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEMO_DIR = "demo-output"
#: The demo's model cache, inside its folder (``model.pipeline.train_and_infer``'s default).
DEMO_CACHE = "model-cache"


def default_model_cache() -> Path:
    return Path(os.environ.get("KNEE_MODEL_CACHE", Path.home() / ".cache" / "knee-model"))


#: The demo's cohort: a small synthetic cohort enriched in progressors (about 265 baseline
#: knees, 115 of them progressors), written without images.
DEMO_PATIENTS = 150
#: The demo's scored pairs: the fewest at which the AI's AUC over the study's pairs (about 0.62
#: on the demo cohort, DeLong CI width 0.22; 0.50 with 10 pairs) is expected to clear chance,
#: and a proportion correct is known to about +-0.14. Building the study takes about 13 s on
#: 2 cores; what the size costs is scoring its 102 cases with Grad-CAM later (about 0.25 s per
#: case for both sequences on 2 cores, so about 26 s of the first demo's ~3 minutes).
DEMO_PAIRS = 50

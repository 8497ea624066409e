"""Default places on disk shared by the three programs (one definition each).

- :func:`default_model_cache`: ``knee-model``'s feature and preprocessing cache
  (``$KNEE_MODEL_CACHE``, else ``~/.cache/knee-model``);
- :data:`DEMO_DIR`: where ``make demo`` / ``knee-reader --demo`` put the demo (relative to the
  working folder); the demo keeps its own model cache in ``DEMO_DIR/model-cache``.
"""

from __future__ import annotations

import os
from pathlib import Path

DEMO_DIR = "demo-output"
#: The demo's model cache, inside its folder (``model.pipeline.train_and_infer``'s default).
DEMO_CACHE = "model-cache"


def default_model_cache() -> Path:
    return Path(os.environ.get("KNEE_MODEL_CACHE", Path.home() / ".cache" / "knee-model"))

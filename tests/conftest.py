"""Test configuration shared by the whole suite.

Qt runs headless: QT_QPA_PLATFORM=offscreen is set before anything imports Qt.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

import sys  # noqa: E402

import pytest  # noqa: E402

# Shared test helpers (tests/study_factory.py) importable from every test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[1]
#: ../shared next to the checkout (reference statistics, real MR samples).
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED

# A throwaway PostgreSQL cluster for the decisions-server tests (tests/pg_cluster.py).
from pg_cluster import pg_cluster, pg_server  # noqa: E402, F401

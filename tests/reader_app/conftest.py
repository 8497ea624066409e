"""Qt test settings for the reader app: our QApplication, Qt warnings fail, no leaked windows."""

from __future__ import annotations

import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def qapp():
    """The app as ``knee-reader`` creates it (pyqtgraph row-major images, style sheet)."""
    from reader_app.ui.app import create_app

    return create_app([])


def pytest_collection_modifyitems(config, items):
    # A Qt warning (or worse) logged during a reader-app test fails it; the offscreen
    # platform's note about size hints is not about our code.
    for item in items:
        if "tests/reader_app" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints"))


@pytest.fixture(autouse=True)
def no_leaked_windows():
    """Fail a test that leaves a visible top-level window behind (and close it)."""
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    app.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in leaked:
        w.close()
        w.deleteLater()
    app.processEvents()
    assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"


@pytest.fixture()
def two_workstations(tmp_path):
    """A study with AI scores, and two readers' decisions files written on two other
    workstations: ``(study, [r1 file, r2 file])``."""
    from study_factory import make_study

    from studies.decisions.simulate import simulate_reader
    from studies.package import decisions_path

    tiny = make_study(tmp_path / "central", n_pairs=8, with_images=False, with_ai=True)
    files = []
    for i, reader in enumerate(("r1", "r2")):
        station = tmp_path / f"ws{i}" / "study"
        shutil.copytree(tiny.study, station)
        simulate_reader(station, tiny.key, reader, 0.7, seed=i)
        files.append(decisions_path(station, reader))
    return tiny, files

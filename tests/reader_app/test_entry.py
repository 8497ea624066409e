"""``knee-reader`` parses and dispatches; the reading window, the screenshot and the demo are
typed functions that the demo calls directly (no argv rebuilt, no import of the entry)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from study_factory import make_study

import reader_app.ui.launch as launch
from reader_app import demo
from reader_app.main import main
from reader_app.ui.launch import ReadingOptions
from studies.errors import OptionError


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(launch, "run_gui", lambda options: seen.append(("gui", options)) or 0)
    monkeypatch.setattr(launch, "run_screenshot", lambda options, out: seen.append(("shot", options, out)) or 0)
    return seen


def test_the_command_line_becomes_reading_options(calls):
    assert main(["S", "--reader", "r1", "--mode", "aided", "--key", "K"]) == 0
    assert main([]) == 0
    assert main(["S", "--reader", "r1", "--screenshot", "x.png"]) == 0
    assert calls == [
        ("gui", ReadingOptions(study="S", reader="r1", mode="aided", key="K")),
        ("gui", ReadingOptions()),
        ("shot", ReadingOptions(study="S", reader="r1"), "x.png"),
    ]


def test_a_screenshot_without_a_reader_is_refused_by_name(capsys):
    assert main(["S", "--screenshot", "x.png"]) == 2
    assert capsys.readouterr().err.strip() == "knee-reader: error: --screenshot needs STUDY and --reader ID"
    with pytest.raises(OptionError, match="study and reader"):
        launch.run_screenshot(ReadingOptions(study="S"), "x.png")


def test_a_ready_demo_opens_the_reader_through_the_typed_launch(tmp_path, monkeypatch, calls):
    make_study(tmp_path, n_pairs=2, with_ai=True)
    demo.add_simulated_readers(demo.DemoPaths(tmp_path))
    monkeypatch.setattr(demo, "gui_problem", lambda: None)
    assert main(["--demo", "--demo-dir", str(tmp_path)]) == 0
    assert calls == [("gui", ReadingOptions(study=str(tmp_path.resolve() / "study"), reader="demo", mode="sequential"))]


def test_the_demo_never_imports_the_entry():
    tree = ast.parse((Path(demo.__file__)).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "reader_app.main" not in imported and "reader_app.ui.launch" in imported

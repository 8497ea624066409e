"""Review findings on the command line: a missing key is a clear message, not a traceback."""

from __future__ import annotations

import pytest
from study_factory import make_study

from studies.cli import main


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "--study", "{study}", "--key", "{key}", "--out", "{out}"],
        ["simulate-reader", "{study}", "--key", "{key}", "--reader", "r1", "--accuracy", "0.6"],
    ],
)
def test_a_missing_key_names_the_file(command, tmp_path, capsys):
    tiny = make_study(tmp_path / "s", n_pairs=3, with_images=False)
    missing = tmp_path / "no-such-key.json"
    args = [a.format(study=tiny.study, key=missing, out=tmp_path / "out") for a in command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err

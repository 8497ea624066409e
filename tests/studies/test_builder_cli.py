"""``knee-study build`` on the command line."""

from __future__ import annotations

import pytest
from builder_cohort import write_csv_cohort

from studies.cli import main
from studies.cli.build import parse_bounds
from studies.errors import OptionError
from studies.package import load_key


def build_args(csv, tmp_path, *extra: str) -> list[str]:
    return [
        "build",
        "--cohort",
        str(csv),
        "--out",
        str(tmp_path / "s"),
        "--key",
        str(tmp_path / "k.json"),
        *extra,
    ]


def test_build_cli_prints_report(tmp_path, capsys):
    csv = write_csv_cohort(tmp_path / "c")
    rc = main(
        build_args(csv, tmp_path, "--pairs", "6", "--strata", "1,4,1", "--bounds=-1.1,-0.6,-0.5")
        + ["--match", "sex", "--workers", "1", "--modes", "unaided,aided"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "almost_certain" in out and "eligible" in out and "wrote" in out
    key = load_key(tmp_path / "k.json")
    assert key["build"]["strata"] == {"almost_certain": 1, "likely": 4, "doubtful": 1}
    assert key["build"]["match"] == ["sex"]


def test_build_cli_too_small_exit_2(tmp_path, capsys):
    csv = write_csv_cohort(tmp_path / "c", n_participants=20)
    rc = main(build_args(csv, tmp_path))
    err = capsys.readouterr().err
    assert rc == 2 and "too small" in err and "<< too few" in err


def test_bounds_parsing():
    assert parse_bounds(None, None) == (-1.1, -0.6, -0.5)
    assert parse_bounds("1.2,0.7,0.5", None) == (-1.2, -0.7, -0.5)
    b = parse_bounds(None, 0.4)
    assert b[0] == pytest.approx(-1.1087, abs=1e-4) and b[1:] == (-0.6, -0.5)
    with pytest.raises(OptionError, match="bounds"):
        parse_bounds("1,2", None)


def test_build_cli_parsons_bound_recorded(tmp_path, capsys):
    csv = write_csv_cohort(tmp_path / "c")
    assert main(build_args(csv, tmp_path, "--pairs", "4", "--jsw-sd", "0.4", "--confidence", "0")) == 0
    out = capsys.readouterr().out
    assert "JSN < -1.10874" in out
    key = load_key(tmp_path / "k.json")
    assert key["build"]["jsw_sd_mm"] == 0.4
    assert key["build"]["bounds_mm"][0] == pytest.approx(-1.96 * 2**0.5 * 0.4)


def test_force_never_deletes_readers_decisions(tmp_path, capsys):
    csv = write_csv_cohort(tmp_path / "c")
    args = build_args(csv, tmp_path, "--pairs", "6", "--strata", "1,4,1", "--workers", "1")
    assert main(args) == 0
    decisions = tmp_path / "s" / "decisions"
    decisions.mkdir(exist_ok=True)
    (decisions / "r1.sqlite").write_bytes(b"a reader's answers")
    capsys.readouterr()
    assert main([*args, "--force"]) == 2
    err = capsys.readouterr().err
    assert "decisions" in err and "r1.sqlite" in err and "move" in err
    assert (decisions / "r1.sqlite").read_bytes() == b"a reader's answers"

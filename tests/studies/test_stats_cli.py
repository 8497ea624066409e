"""``knee-study roc`` and ``knee-study mrmc`` on the reference data (JSON on stdout)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from studies.cli import main


@pytest.fixture(scope="module")
def ref(shared_dir):
    return shared_dir / "reference" / "stats"


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def roc_args(ref, *scores):
    argv = ["roc", str(ref / "aSAH.csv"), "--truth", "outcome", "--positive", "Poor"]
    for sc in scores:
        argv += ["--score", sc]
    return argv


def test_roc_one_and_two_scores(ref, capsys):
    out = run_json(capsys, roc_args(ref, "s100b"))
    s = out["scores"]["s100b"]
    assert round(s["auc"], 12) == 0.731368563686
    assert [round(v, 12) for v in s["ci"]] == [0.630118211762, 0.832618915610]
    assert "comparison" not in out
    out = run_json(capsys, roc_args(ref, "wfns", "s100b"))
    assert round(out["scores"]["wfns"]["auc"], 12) == 0.823678861789
    c = out["comparison"]
    assert (round(c["z"], 3), round(c["p"], 5)) == (2.209, 0.02718)
    assert c["ci"][0] < c["difference"] < c["ci"][1]


def test_roc_errors_are_actionable(ref, capsys, tmp_path):
    assert (
        main(
            [
                "roc",
                str(ref / "aSAH.csv"),
                "--truth",
                "outcme",
                "--positive",
                "Poor",
                "--score",
                "s100b",
            ]
        )
        == 2
    )
    assert "Did you mean 'outcome'" in capsys.readouterr().err
    assert (
        main(
            [
                "roc",
                str(ref / "aSAH.csv"),
                "--truth",
                "outcome",
                "--positive",
                "poor",
                "--score",
                "s100b",
            ]
        )
        == 2
    )
    assert "Values there: Good, Poor" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("y,s\n1,0.3\n0,high\n")
    assert main(["roc", str(bad), "--truth", "y", "--positive", "1", "--score", "s"]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "column 's'" in err and "'high'" in err


def test_mrmc_vandyke_jackknife_and_delong(ref, capsys):
    out = run_json(capsys, ["mrmc", str(ref / "VanDyke_MRMCaov.csv")])
    assert [round(out["treatment_auc"][t], 8) for t in ("1", "2")] == [0.89703704, 0.94083736]
    r = out["rrrc"]
    assert (round(r["statistic"], 6), round(r["df2"], 5), round(r["p"], 6)) == (
        4.456319,
        15.25967,
        0.051666,
    )
    assert [round(v, 5) for v in r["ci"]] == [-0.08796, 0.00036]
    assert (round(out["frrc"]["statistic"], 5), round(out["frrc"]["p"], 6)) == (5.47595, 0.019280)
    f = out["rrfc"]
    assert (round(f["statistic"], 4), f["df1"], f["df2"], round(f["p"], 6)) == (
        8.704,
        1,
        4,
        0.041959,
    )
    out = run_json(capsys, ["mrmc", str(ref / "VanDyke_MRMCaov.csv"), "--cov", "delong"])
    r = out["rrrc"]
    assert (round(r["statistic"], 6), round(r["df2"], 5), round(r["p"], 6)) == (
        4.484854,
        15.06611,
        0.051233,
    )


def test_mrmc_standalone_ai_on_nico(ref, capsys):
    out = run_json(
        capsys, ["mrmc", str(ref / "NICO_dataset09_CADvsRad_ROC.csv"), "--ai-reader", "1"]
    )
    assert out["ai_reader"] == "1" and len(out["readers"]) == 9
    assert 0.5 < out["ai_auc"] < 1 and 0.5 < out["reader_mean_auc"] < 1
    for model in ("rrrc", "frrc", "rrfc"):
        d = out[model]
        assert d["estimate"] == pytest.approx(out["reader_mean_auc"] - out["ai_auc"])
        assert d["ci"][0] < d["estimate"] < d["ci"][1] and 0 < d["p"] <= 1
    assert out["rrrc"]["df"] > 8  # Hillis df between r-1 and infinity


def test_mrmc_ai_reader_per_treatment(ref, capsys, tmp_path):
    """With several treatments, the standalone analysis runs per treatment."""
    d = pd.read_csv(ref / "VanDyke_MRMCaov.csv")[["reader", "treatment", "case", "truth", "rating"]]
    ai = d[d.reader == 1].assign(reader="AI", treatment=lambda x: x.treatment)
    f = tmp_path / "vd_ai.csv"
    pd.concat([d[d.reader != 1], ai]).to_csv(f, index=False)
    out = run_json(capsys, ["mrmc", str(f), "--ai-reader", "AI"])
    assert set(out["treatments"]) == {"1", "2"}
    assert round(out["treatments"]["1"]["ai_auc"], 8) == 0.91964573


def test_mrmc_refuses_incomplete_design(tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("reader,treatment,case,truth,rating\n1,A,1,0,1\n1,A,2,1,3\n2,A,1,0,2\n")
    assert main(["mrmc", str(f)]) == 2
    assert "not fully crossed" in capsys.readouterr().err


def test_power_command_small(capsys):
    out = run_json(
        capsys,
        ["power", "--pairs", "40", "--readers", "3", "--sims", "50", "--design", "reader-vs-ai"],
    )
    p = out["reader-vs-ai"]["rrrc"]
    assert 0 <= p["power"] <= 1 and p["n_sim"] == 50
    assert main(["power", "--pairs", "40", "--readers", "1", "--sims", "50"]) == 2
    assert "readers" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["roc", "mrmc", "analyze", "power"])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"knee-study {command}" in capsys.readouterr().out


def test_roc_positive_value_as_written_when_truth_has_gaps(tmp_path, capsys):
    """A 0/1 truth column with an empty cell is read by pandas as floats (1.0); the value
    the user sees in the file, '1', must still name the positives."""
    f = tmp_path / "gaps.csv"
    f.write_text("y,s\n1,0.9\n0,0.1\n1,0.7\n,0.5\n0,0.4\n1,0.3\n")
    assert main(["roc", str(f), "--truth", "y", "--positive", "1", "--score", "s"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n_positive"], out["n_negative"], out["n_dropped_missing"]) == (3, 2, 1)

"""analyze_study on small study packages with decisions written through the decisions store."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from study_factory import make_study

from studies.analysis import analyze_study
from studies.decisions import DecisionStore
from studies.errors import InputFileError
from studies.package import decisions_path


def write_reader(
    tiny, reader, modes, p_correct, seed, *, flag=None, ai_follow=0.0, confidence=False
):
    """Decisions of one simulated reader in each mode; returns the file path.

    In sequential mode the first answer is right with ``p_correct``; the final answer follows
    the AI's choice with probability ``ai_follow``.
    """
    rng = np.random.default_rng(seed)
    path = decisions_path(tiny.study, reader)
    ai = pd.read_csv(tiny.study / "ai" / "scores.csv", dtype={"case_id": str}).set_index("case_id")[
        "probability"
    ]
    t = 1_700_000_000.0
    for mode in modes:
        with DecisionStore.open(path, reader, tiny.manifest, mode) as store:
            store.session_start(mode)
            for op in store.order:
                prog = tiny.progressors[op.pair_id]
                other = op.right_case if prog == op.left_case else op.left_case
                right = rng.random() < p_correct
                choice = prog if right else other
                conf = int(rng.integers(1, 6)) if confidence else None
                dur = float(rng.uniform(5, 60))
                if mode == "sequential":
                    store.commit_decision(
                        op.pair_id,
                        choice,
                        phase="first",
                        mode=mode,
                        confidence=conf,
                        started_at=t,
                        decided_at=t + dur,
                        active_seconds=dur,
                    )
                    ai_choice = (
                        op.left_case if ai[op.left_case] > ai[op.right_case] else op.right_case
                    )
                    final = ai_choice if rng.random() < ai_follow else choice
                    store.commit_decision(
                        op.pair_id,
                        final,
                        phase="final",
                        mode=mode,
                        ai_shown=True,
                        confidence=conf,
                        started_at=t + dur,
                        decided_at=t + dur + 3,
                        active_seconds=3.0,
                    )
                else:
                    store.commit_decision(
                        op.pair_id,
                        choice,
                        mode=mode,
                        ai_shown=mode == "aided",
                        confidence=conf,
                        started_at=t,
                        decided_at=t + dur,
                        active_seconds=dur,
                    )
                t += dur + 1
                if flag and op.pair_id == flag:
                    store.flag(op.pair_id, "motion artefact")
            store.session_stop()
    return path


@pytest.fixture(scope="module")
def study3(tmp_path_factory):
    tiny = make_study(
        tmp_path_factory.mktemp("s"),
        n_pairs=40,
        n_practice=2,
        with_images=False,
        with_ai=True,
        confidence=True,
        seed=5,
    )
    files = [
        write_reader(tiny, "r1", ["unaided", "aided"], 0.6, 1, confidence=True, flag="P003"),
        write_reader(tiny, "r2", ["unaided", "aided"], 0.7, 2, confidence=True),
        write_reader(
            tiny, "r3", ["unaided", "aided", "sequential"], 0.65, 3, confidence=True, ai_follow=0.5
        ),
    ]
    return tiny, files


def test_analyze_study_tables_and_summary(study3):
    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files, n_boot=2000)
    json.dumps(res.summary)  # JSON-able
    readers = res.tables["readers"].set_index(["reader", "condition"])
    assert set(readers.index) >= {
        ("r1", "unaided"),
        ("r2", "aided"),
        ("r3", "sequential"),
        ("r3", "sequential_first"),
    }
    r1 = readers.loc[("r1", "unaided")]
    # the flagged pair is reported and left out; practice pairs never count
    assert r1["n_flagged"] == 1 and r1["n"] == 39
    d = res.decisions
    expect = d[(d.reader == "r1") & (d.condition == "unaided") & (d.pair_id != "P003")][
        "correct"
    ].mean()
    assert r1["pc"] == pytest.approx(expect)
    assert r1["wilson_lo"] < r1["pc"] < r1["wilson_hi"] and r1["cp_lo"] < r1["pc"] < r1["cp_hi"]
    assert 0 < r1["time_q1_s"] <= r1["time_median_s"] <= r1["time_q3_s"]
    assert np.isfinite(r1["rating_auc"])
    # AI on the same pairs: higher score wins
    ai_pairs = res.ai_pairs
    scores = pd.read_csv(tiny.study / "ai" / "scores.csv", dtype={"case_id": str}).set_index(
        "case_id"
    )["probability"]
    p = ai_pairs.iloc[0]
    key = {k["pair_id"]: k for k in json.loads(tiny.key.read_text())["pairs"]}[p["pair_id"]]
    assert p["correct"] == (
        1.0 if scores[key["progressor"]] > scores[key["non_progressor"]] else 0.0
    )
    assert res.summary["ai"]["pairs"]["pc"] == pytest.approx(ai_pairs["correct"].mean())
    assert (
        res.summary["ai"]["auc"]["n_positive"] == 40
        and res.summary["ai"]["auc"]["n_negative"] == 40
    )
    lo, hi = res.summary["ai"]["auc"]["ci"]
    assert lo < res.summary["ai"]["auc"]["auc"] < hi
    # ROC data for the app: the AI curve and readers as points on the anti-diagonal
    assert res.roc["ai"]["fpr"][0] == 0 and res.roc["ai"]["tpr"][-1] == 1
    pt = next(x for x in res.roc["readers"] if x["reader"] == "r2" and x["condition"] == "unaided")
    assert pt["fpr"] + pt["tpr"] == pytest.approx(1.0)


def test_comparisons_are_present_and_consistent(study3):
    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files, n_boot=2000)
    vs = res.tables["reader_vs_ai"].set_index(["reader", "condition"]).loc[("r2", "unaided")]
    assert vs["difference"] == pytest.approx(vs["reader_pc"] - vs["ai_pc"])
    assert vs["bootstrap_lo"] <= vs["difference"] <= vs["bootstrap_hi"]
    assert 0 < vs["mcnemar_exact_p"] <= 1
    mr = res.tables["mrmc_vs_ai"]
    unaided = mr[(mr.condition == "unaided")].set_index("model")
    assert (
        unaided.loc["rrrc", "n_readers"] == 3 and unaided.loc["rrrc", "n_pairs"] == 39
    )  # r1's flag removes P003
    assert set(unaided.index) == {"rrrc", "frrc", "rrfc"}
    assert any("39 of 40 pairs" in n for n in res.summary["notes"])
    av = res.tables["aided_vs_unaided"].set_index("model")
    assert av.loc["rrrc", "difference"] == pytest.approx(
        av.loc["rrrc", "pc_aided"] - av.loc["rrrc", "pc_unaided"]
    )
    sw = res.tables["switching"].set_index("reader").loc["r3"]
    assert sw["switched_when_ai_right"] <= sw["disagreed_ai_right"]
    assert sw["switched_when_ai_wrong"] <= sw["disagreed_ai_wrong"]
    assert sw["disagreed_ai_right"] + sw["disagreed_ai_wrong"] > 0
    ag = res.tables["agreement"]
    assert {"cohen_kappa", "fleiss_kappa"} <= set(ag["statistic"])
    assert ag["kappa"].between(-1, 1).all()


def test_a_changed_key_is_refused(study3, tmp_path):
    tiny, files = study3
    bad = tmp_path / "key.json"
    data = json.loads(tiny.key.read_text())
    data["pairs"][0]["progressor"], data["pairs"][0]["non_progressor"] = (
        data["pairs"][0]["non_progressor"],
        data["pairs"][0]["progressor"],
    )
    bad.write_text(json.dumps(data, indent=2))
    with pytest.raises(InputFileError, match="does not match this study"):
        analyze_study(tiny.study, bad, files)


def test_a_tampered_decisions_file_is_refused(study3, tmp_path):
    tiny, files = study3
    import shutil

    copy = tmp_path / "r9.sqlite"
    shutil.copy(files[1], copy)
    con = sqlite3.connect(copy)
    triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in triggers:
        con.execute(f"DROP TRIGGER {name}")
    row = con.execute(
        "SELECT id, payload_json FROM audit WHERE kind='decision' ORDER BY id LIMIT 1"
    ).fetchone()
    payload = json.loads(row[1])
    payload["chosen_case"] = payload.get("case_left")
    con.execute("UPDATE audit SET payload_json=? WHERE id=?", (json.dumps(payload), row[0]))
    con.commit()
    con.close()
    with pytest.raises(InputFileError, match="audit chain is broken"):
        analyze_study(tiny.study, tiny.key, [copy])


def test_analyze_command_writes_every_output(study3, tmp_path, capsys):
    from studies.cli import main

    tiny, files = study3
    out = tmp_path / "results"
    # default decisions: STUDY/decisions/*.sqlite
    assert (
        main(
            [
                "analyze",
                "--study",
                str(tiny.study),
                "--key",
                str(tiny.key),
                "--out",
                str(out),
                "--bootstrap",
                "500",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "readers - AI (unaided" in printed and "PDF written: report.pdf (A4)" in printed
    names = {p.name for p in out.iterdir()}
    assert {
        "summary.json",
        "decisions_long.csv",
        "results.xlsx",
        "imrmc_input.imrmc",
        "mrmcaov_long.csv",
        "roc_ai_readers.png",
        "accuracy_per_stratum.png",
        "reading_times.png",
        "report.html",
        "report.pdf",
    } <= names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study_id"] == tiny.manifest.study_id and summary["readers"] == [
        "r1",
        "r2",
        "r3",
    ]
    # one sheet per table
    sheets = pd.ExcelFile(out / "results.xlsx").sheet_names
    assert {
        "readers",
        "strata",
        "ai",
        "reader_vs_ai",
        "mrmc_vs_ai",
        "aided_vs_unaided",
        "agreement",
    } <= set(sheets)
    # the HTML is self-contained: figures inline, no external references
    html = (out / "report.html").read_text()
    assert (
        html.count("data:image/png;base64,") == 4
        and "src='http" not in html
        and 'src="http' not in html
    )
    for png in ("paper_comparison.png", "roc_ai_readers.png", "accuracy_per_stratum.png", "reading_times.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run refuses the non-empty folder unless --force
    assert (
        main(["analyze", "--study", str(tiny.study), "--key", str(tiny.key), "--out", str(out)])
        == 2
    )
    assert "--force" in capsys.readouterr().err


def test_mrmc_export_round_trips_through_the_mrmc_command(study3, tmp_path, capsys):
    """Knee-level export: the AUC an MRMC program computes equals each reader's PC."""
    from studies.analysis import write_outputs
    from studies.cli import main

    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files[1:], n_boot=200)  # r2, r3: no flags
    write_outputs(res, tmp_path / "o", pdf=False)
    long = pd.read_csv(tmp_path / "o" / "mrmcaov_long.csv")
    unaided = long[(long.treatment == "unaided")][
        ["reader", "treatment", "case", "truth", "rating"]
    ]
    f = tmp_path / "unaided.csv"
    unaided.to_csv(f, index=False)
    assert main(["mrmc", str(f), "--ai-reader", "AI"]) == 0
    out = json.loads(capsys.readouterr().out)
    pcs = res.tables["readers"].set_index(["reader", "condition"])["pc"]
    assert out["reader_auc"]["r2"] == pytest.approx(pcs[("r2", "unaided")])
    assert out["ai_auc"] == pytest.approx(res.summary["ai"]["auc"]["auc"])
    imrmc = (tmp_path / "o" / "imrmc_input.imrmc").read_text().splitlines()
    assert "BEGIN DATA:" in imrmc and "N0: 40" in imrmc and "N1: 40" in imrmc
    data = imrmc[imrmc.index("BEGIN DATA:") + 1 :]
    assert sum(line.startswith("-1,") for line in data) == 80
    # the decisions CSV carries one row per answer with its truth
    dec = pd.read_csv(tmp_path / "o" / "decisions_long.csv")
    assert len(dec) == len(res.decisions) and {"correct", "condition", "stratum"} <= set(
        dec.columns
    )


def test_analysis_without_ai_scores(tmp_path):
    tiny = make_study(tmp_path, n_pairs=12, with_images=False, with_ai=True, seed=9)
    files = [write_reader(tiny, r, ["unaided"], 0.7, i) for i, r in enumerate(["a", "b"])]
    (tiny.study / "ai" / "scores.csv").unlink()
    res = analyze_study(tiny.study, tiny.key, files, n_boot=100)
    assert res.roc["ai"] is None and "reader_vs_ai" not in res.tables
    assert set(res.tables["readers"]["reader"]) == {"a", "b"}


def test_end_to_end_with_simulated_readers(tmp_path, capsys):
    """simulate-reader writes real decisions files; analyze reads them back."""
    from studies.cli import main

    tiny = make_study(tmp_path, n_pairs=30, n_practice=1, with_images=False, with_ai=True, seed=11)
    for i, (reader, acc) in enumerate([("alice", 0.9), ("bob", 0.75), ("carol", 0.6)]):
        argv = [
            "simulate-reader",
            str(tiny.study),
            "--key",
            str(tiny.key),
            "--reader",
            reader,
            "--accuracy",
            str(acc),
            "--seed",
            str(i),
        ]
        assert main(argv) == 0
    capsys.readouterr()
    out = tmp_path / "res"
    assert (
        main(
            [
                "analyze",
                "--study",
                str(tiny.study),
                "--key",
                str(tiny.key),
                "--out",
                str(out),
                "--bootstrap",
                "1000",
                "--no-pdf",
                "--include-simulated",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulated_readers"] == ["alice", "bob", "carol"]
    rows = {r["reader"]: r for r in summary["tables"]["readers"]}
    assert all(r["simulated"] for r in rows.values())
    assert set(rows) == {"alice", "bob", "carol"} and all(r["n"] == 30 for r in rows.values())
    assert rows["alice"]["pc"] > rows["carol"]["pc"]
    mr = {r["model"]: r for r in summary["tables"]["mrmc_vs_ai"]}
    assert mr["rrrc"]["n_readers"] == 3 and mr["rrrc"]["n_pairs"] == 30

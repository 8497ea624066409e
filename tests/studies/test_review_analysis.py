"""Review findings on studies.analysis: the confidence level asked for is the one computed."""

from __future__ import annotations

import pytest
from test_analysis_results import study3  # noqa: F401  (module fixture)

from studies.analysis import analyze_study
from studies.stats.binomial import clopper_pearson_ci, wilson_ci


def test_alpha_sets_every_interval(study3):  # noqa: F811
    """analyze_study(alpha=0.1) records alpha 0.1, so the per-reader, per-stratum and AI
    intervals must be 90 % intervals, not 95 % ones under a 90 % label."""
    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files, n_boot=200, alpha=0.1)
    assert res.summary["alpha"] == 0.1
    for name in ("readers", "strata"):
        for row in res.tables[name].to_dict("records"):
            k, n = int(row["correct"]), row["n"]
            assert (row["wilson_lo"], row["wilson_hi"]) == pytest.approx(wilson_ci(k, n, 0.1)), name
            assert (row["cp_lo"], row["cp_hi"]) == pytest.approx(clopper_pearson_ci(k, n, 0.1)), name
    ai = res.summary["ai"]["pairs"]
    assert (ai["wilson_lo"], ai["wilson_hi"]) == pytest.approx(
        wilson_ci(int(ai["correct"]), ai["n"], 0.1)
    )


def test_decisions_written_for_another_key_are_refused(tmp_path):
    """A study rebuilt with the same seed keeps its study id and case ids but gets another
    key. Decisions read against the old build must not be scored against the new key: the
    decisions file records the key hash it was read under, and analysis checks it."""
    import dataclasses
    import hashlib
    import json
    import shutil

    from study_factory import make_study

    from studies.decisions.simulate import simulate_reader
    from studies.errors import StudyError
    from studies.package import decisions_path, load_manifest, save_manifest

    tiny = make_study(tmp_path / "old", n_pairs=6, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    new_study, new_key = tmp_path / "new" / "study", tmp_path / "new" / "key.json"
    shutil.copytree(tiny.study, new_study, ignore=shutil.ignore_patterns("*.sqlite*"))
    key = json.loads(tiny.key.read_text())
    p = key["pairs"][0]
    p["progressor"], p["non_progressor"] = p["non_progressor"], p["progressor"]
    body = (json.dumps(key, indent=2) + "\n").encode()
    new_key.write_bytes(body)
    m = load_manifest(new_study)
    save_manifest(new_study, dataclasses.replace(m, key_sha256=hashlib.sha256(body).hexdigest()))
    old_file = decisions_path(tiny.study, "r1")
    with pytest.raises(StudyError, match="r1.sqlite.*another"):
        analyze_study(new_study, new_key, [old_file], n_boot=100)


def test_summary_records_each_files_audit_head(study3):  # noqa: F811
    """Cutting rows off the end of a decisions file leaves a valid, shorter chain; only a
    head hash recorded with the results can show it later."""
    from pathlib import Path

    from studies.decisions import verify_file

    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files, n_boot=100)
    chains = {c["file"]: c for c in res.summary["decision_chains"]}
    for f in files:
        report = verify_file(f)
        assert chains[Path(f).name]["audit_head"] == report.head
        assert chains[Path(f).name]["audit_rows"] == report.rows


def test_only_practice_answers_is_a_clear_refusal(tmp_path):
    """Readers who have only done the practice pairs: no scored answer yet. Analysis says
    so instead of failing with a KeyError."""
    from study_factory import make_study

    from studies.decisions import DecisionStore
    from studies.errors import StudyError
    from studies.package import decisions_path

    tiny = make_study(tmp_path, n_pairs=3, n_practice=1, with_images=False)
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest) as store:
        op = store.order[0]
        assert op.practice
        store.commit_decision(op.pair_id, op.left_case, started_at=1.0, decided_at=2.0, active_seconds=1.0)
    with pytest.raises(StudyError, match="no answers to scored pairs"):
        analyze_study(tiny.study, tiny.key, n_boot=50)

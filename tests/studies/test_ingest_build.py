"""The study builder on the real data's damage: a chosen knee whose series turns out truncated
or unreadable is left out, counted, and the pairs are drawn again (reproducibly)."""

from __future__ import annotations

from pathlib import Path

from studies.builder import BuildOptions, build_study
from studies.package import load_key
from studies.pairs import SamplingConfig
from studies.synth import generate_cohort


def _knees(key: dict) -> set[tuple[str, str]]:
    return {(p[f"{r}_source"]["participant_id"], p[f"{r}_source"]["side"])
            for p in key["pairs"] for r in ("progressor", "non_progressor")}


def _options() -> BuildOptions:
    return BuildOptions(sampling=SamplingConfig(n_pairs=6, strata=(1, 4, 1), seed=3), confidence=0, workers=1)


def test_a_chosen_knee_with_a_truncated_series_is_left_out_and_counted(tmp_path):
    cohort = generate_cohort(tmp_path / "cohort", patients=60, seed=4, progressor_rate=0.5, images="none")
    first = build_study(cohort, tmp_path / "s1", tmp_path / "k1.json", _options())
    before = _knees(load_key(first.key))
    assert "no complete series (truncated or unreadable)" not in first.report["exclusions"]

    victim = sorted(before)[0]
    folders = [p for p in Path(cohort).glob(f"00m/*/{victim[0]}/*/*") if p.is_dir()]
    assert folders
    for folder in folders:  # every baseline series of that participant cut to 3 slices
        for f in sorted(folder.iterdir())[3:]:
            f.unlink()
    second = build_study(cohort, tmp_path / "s2", tmp_path / "k2.json", _options())
    after = _knees(load_key(second.key))
    assert all(p != victim[0] for p, _ in after)
    # a folder is counted when the cohort is read: the knee has no usable series of either sequence
    lost = sum(v for k, v in second.report["exclusions"].items() if k.startswith("no ") and k.endswith(" series"))
    was = sum(v for k, v in first.report["exclusions"].items() if k.startswith("no ") and k.endswith(" series"))
    assert lost >= was + 1
    assert (second.report["cohort"]["series_choice"]["truncated"]
            == first.report["cohort"]["series_choice"]["truncated"] + len(folders))

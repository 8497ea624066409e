"""The real data's quirks the generator plants: on by default at realistic rates, each switchable.

Rates on a 400-participant cohort without images; every quirk off with NO_QUIRKS (and the
patients unchanged); a higher rate adds to a lower one's choices; the table-format quirks;
the flat per-release contents files; the CLI's flags recorded in cohort.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studies.cli import main
from studies.errors import OptionError
from studies.synth import DEFAULT_QUIRKS, NO_QUIRKS, QUIRK_NAMES, generate_cohort, label_map
from studies.synth.measure import medial_jsw_on_labels
from studies.synth.quirks import Quirks, parse_rate
from studies.synth.truth_quirks import REAL_CODES

PATIENTS, SEED = 400, 1
KEY = ["participant_id", "side", "visit_month"]


def _cohort(root: Path, name: str, **kw) -> Path:
    return generate_cohort(root / name, patients=kw.pop("patients", PATIENTS), seed=SEED, images="none", **kw)


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quirks")
    return {"default": _cohort(root, "default"), "none": _cohort(root, "none", quirks=NO_QUIRKS)}


def _synthetic(cohort: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(cohort / "synthetic" / name, dtype={"participant_id": str, "code": str, "blank_cells": str,
                                                           "jsw_table_code": str, "kl_table_code": str,
                                                           "womac_table_code": str}, keep_default_na=False,
                       na_values={"value": [""], "jsn_next_mm": [""]})


def _tables(cohort: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in cohort.glob("*.txt")}


def _table(cohort: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(_tables(cohort)[name.lower()], sep="|", dtype=str, keep_default_na=False)


def test_series_quirks_at_realistic_rates(cohorts):
    s = _synthetic(cohorts["default"], "series.csv")
    groups = s.groupby([*KEY, "sequence"])
    n = groups.ngroups
    two = groups.size().gt(1)
    assert 0.02 <= two.mean() <= 0.05  # ~2 % repeats + ~1.2 % rescans after a truncation
    trunc = s[s.truncated]
    assert 0.007 <= len(trunc) / len(s) <= 0.025
    assert (trunc.n_slices < trunc.expected_slices).all() and (trunc.n_slices >= 1).all()
    assert not trunc.repeat.any() and not trunc.chosen.any()  # truncated: the first scan, never chosen
    # a truncated series is usually followed by a complete rescan, sometimes alone
    rescanned = two[two].index
    alone = [k for k in trunc.set_index([*KEY, "sequence"]).index if k not in rescanned]
    assert 0 < len(alone) < len(trunc) / 2
    # chosen: one complete series per group (the highest series number), none where only a truncated one exists
    chosen = s[s.chosen]
    assert not chosen.truncated.any()
    assert groups.chosen.sum().le(1).all() and groups.chosen.sum().eq(0).sum() == len(alone)
    best = s[~s.truncated].sort_values("series_number").groupby([*KEY, "sequence"]).tail(1)
    assert set(best.index) == set(chosen.index)
    # a repeat: same date, its own barcode and folder, a higher series number
    rep = s[s.repeat]
    assert len(rep) == two.sum() and s.barcode.is_unique and s.path.is_unique
    firsts = s[~s.repeat].set_index([*KEY, "sequence"])
    for r in rep.itertuples():
        f = firsts.loc[(r.participant_id, r.side, r.visit_month, r.sequence)]
        assert r.series_number > f.series_number and r.barcode > f.barcode
        assert r.path.split("/")[:-1] == f.path.split("/")[:-1]  # same release, participant, date
    assert n > 5000


def test_bone_on_bone_knees(cohorts):
    t = _synthetic(cohorts["default"], "ground_truth.csv").sort_values(KEY)
    knees = t[t.bone_on_bone].groupby(["participant_id", "side"]).ngroups
    assert 1 <= knees / (PATIENTS / 100) <= 8  # a few per hundred participants
    for _, k in t.groupby(["participant_id", "side"]):
        zero = (k.jsw_mm == 0).to_numpy()
        if zero.any():  # once at 0.000 mm, it stays there; KL 4
            first = int(np.argmax(zero))
            assert zero[first:].all() and (k.kl_grade[zero] == 4).all()
            assert (k.bone_on_bone.to_numpy() == zero).all()
            jsn = k.jsn_next_mm.to_numpy()
            assert np.allclose(jsn[first:-1], 0.0)
    readings = _synthetic(cohorts["default"], "readings.csv")
    on = readings.merge(t[t.bone_on_bone][KEY], on=KEY)
    on = on[(on.table == "jsw") & (on.code == "")]
    assert len(on) and (on.value == 0.0).all()
    text = "".join(_tables(cohorts["default"])[f"kxr_qjsw_duryea{vv}.txt"].read_text() for vv in ("00", "01", "03", "05"))
    assert "|0.000" in text
    assert not _synthetic(cohorts["none"], "ground_truth.csv").bone_on_bone.any()


def test_bone_on_bone_phantom_touches(tmp_path):
    """A knee at 0.000 mm is drawn with femur and tibia touching (measured gap 0 within 0.2 mm)."""
    c = generate_cohort(tmp_path / "c", patients=40, seed=3, images="none",
                        quirks=NO_QUIRKS.with_rates({"bone_on_bone": 0.5}))
    t = _synthetic(c, "ground_truth.csv")
    r = t[t.bone_on_bone & t.has_cor_iw_tse].iloc[0]
    labels, grid = label_map(c, r.participant_id, r.side, int(r.visit_month), "cor_iw_tse", oversample=(1, 16, 1))
    x = grid.origin[0] + grid.spacing[2] * np.arange(labels.shape[2])
    centre = -100.0 if r.side == "right" else 100.0
    medial = (x > centre + 2) if r.side == "right" else (x < centre - 2)
    assert medial_jsw_on_labels(labels, grid.spacing[1], medial) == pytest.approx(0.0, abs=0.2)


def test_reading_projects(cohorts):
    r = _synthetic(cohorts["default"], "readings.csv")
    t = _synthetic(cohorts["default"], "ground_truth.csv")
    kl, jsw = r[r.table == "kl"], r[r.table == "jsw"]
    # KL at every visit; project 15 for nearly every knee-visit, 37 / 42 for a subset
    assert set(kl.visit_month) == {0, 12, 24, 36}
    per = kl.groupby(KEY).project.apply(set)
    assert 0.95 <= per.apply(lambda p: 15 in p).mean() < 1.0
    assert 0.15 <= per.apply(lambda p: bool(p & {37, 42})).mean() <= 0.45
    assert per.apply(lambda p: {37, 42} <= p).any()
    wide = kl.pivot_table(index=KEY, columns="project", values="value")
    both = wide[[15, 37]].dropna()
    assert (both[15] != both[37]).any() and ((both[15] - both[37]).abs() <= 1).all()
    truth = t.set_index(KEY).kl_grade
    main = kl[(kl.project == 15) & kl.value.notna()].set_index(KEY).value
    assert (main == truth.loc[main.index]).all()
    # JSW: project 15 for every knee; a second project (37) for a subset of knees at some visits only
    assert jsw.groupby(KEY).project.apply(lambda p: 15 in set(p)).all()
    second = jsw[jsw.project == 37]
    knees37 = second.groupby(["participant_id", "side"])
    assert 0.03 <= knees37.ngroups / (2 * PATIENTS) <= 0.15
    visits15 = jsw[jsw.project == 15].groupby(["participant_id", "side"]).visit_month.nunique()
    for knee, g in knees37:
        assert 1 <= len(g) < visits15.loc[knee]  # some visits, never all
    paired = second.merge(jsw[jsw.project == 15], on=KEY, suffixes=("", "_15")).dropna(subset=["value_15"])
    assert (paired.value - paired.value_15).abs().mean() > 0.1  # the projects measure differently
    none = _synthetic(cohorts["none"], "readings.csv")
    assert set(none.project) == {15}


def test_missing_codes_and_blank_cells(cohorts):
    t = _synthetic(cohorts["default"], "ground_truth.csv")
    codes = pd.concat([t.jsw_table_code, t.kl_table_code, t.womac_table_code])
    codes = codes[codes != ""]
    real = codes.isin(REAL_CODES)
    assert 0.25 < real.mean() < 0.75 and codes[real].nunique() >= 5
    text = "".join(p.read_text() for p in _tables(cohorts["default"]).values())
    for code in (".D: Don't Know/Unknown/Uncertain", ".R: Refused", ".T: Technical Problems", "|.M|", "|.S\n"):
        assert code in text or code.strip("|\n") in text
    blank = t[t.blank_cells != ""]
    assert 0.005 < len(blank) / len(t) < 0.1
    clin = _table(cohorts["default"], "AllClinical03.txt")
    clin.columns = [c.upper() for c in clin.columns]
    assert (clin.V03BMI == "").any()
    none = _synthetic(cohorts["none"], "ground_truth.csv")
    assert not pd.concat([none.jsw_table_code, none.kl_table_code, none.womac_table_code]).isin(REAL_CODES).any()
    assert (none.blank_cells == "").all()


def test_table_format_quirks(cohorts):
    tables = _tables(cohorts["default"])
    names = [p.name for p in tables.values()]
    assert any(n[:-4].isupper() for n in names) and any(not n[:-4].isupper() for n in names)
    headers = {n: p.read_text().split("\n", 1)[0].split("|") for n, p in tables.items()}
    assert any("id" in h for h in headers.values()) and any("ID" in h for h in headers.values())
    sides = {n: set(_table(cohorts["default"], n).iloc[:, 2]) for n in tables if n.startswith("kxr")}
    assert any(s <= {"1", "2"} for s in sides.values()) and any(s <= {"1: Right", "2: Left"} for s in sides.values())
    kl_text = "".join(tables[f"kxr_sq_bu{vv}.txt"].read_text() for vv in ("00", "01", "03", "05"))
    assert "|2: 2" in kl_text
    enr = _table(cohorts["default"], "Enrollees.txt")
    assert set(enr.iloc[:, 3]) <= set("ABCDE")  # V00SITE a bare letter
    heights = {n: [c for c in h if c.upper().endswith("HEIGHT")] for n, h in headers.items() if n.startswith("allclin")}
    assert heights == {"allclinical00.txt": ["P01HEIGHT"], "allclinical01.txt": [], "allclinical03.txt": ["V03HEIGHT"],
                       "allclinical05.txt": []}
    contents = pd.concat([pd.read_csv(cohorts["default"] / v / "contents.csv", dtype=str) for v in ("00m", "12m")])
    assert contents.StudyDescription.str.endswith(" ").any() and not contents.Barcode.str.startswith("0").any()
    assert {f.split("/")[0] for f in contents.Folder} >= {"0.C.2", "0.E.1", "1.C.2"}
    assert (contents.Folder.str.split("/").str[-1] == contents.Barcode.str[-8:]).all()


def test_no_quirks_switches_everything_off_and_keeps_the_patients(cohorts):
    c = cohorts["none"]
    tables = _tables(c)
    assert sorted(p.name for p in tables.values()) == sorted(
        ["Enrollees.txt"] + [f"{t}{vv}.txt" for t in ("AllClinical", "kxr_qjsw_duryea", "kxr_sq_bu")
                             for vv in ("00", "01", "03", "05")])
    for n, p in tables.items():
        header = p.read_text().split("\n", 1)[0].split("|")
        assert header[:2] == ["ID", "VERSION"]
        if n.startswith("kxr"):
            assert set(_table(c, n).SIDE) <= {"1: Right", "2: Left"}
    assert "V01HEIGHT" in tables["allclinical01.txt"].read_text()  # absent_heights off: every visit measured
    s = _synthetic(c, "series.csv")
    assert not s.repeat.any() and not s.truncated.any() and s.chosen.all()
    contents = pd.read_csv(c / "00m" / "contents.csv", dtype=str)
    assert set(contents.Folder.str[:5]) == {"0.C.2"} and not contents.StudyDescription.str.endswith(" ").any()
    assert contents.Barcode.str.startswith("0").all()
    assert 1 not in set(_table(c, "Enrollees.txt").V00SITE.str.len())  # 'A: Memorial ...'
    # the same participants and measurements: the quirks draw from streams of their own
    a, b = _synthetic(cohorts["default"], "ground_truth.csv"), _synthetic(c, "ground_truth.csv")
    for col in ("participant_id", "side", "visit_month", "age", "bmi", "sex", "womac_pain", "effusion", "bml"):
        assert (a[col] == b[col]).all(), col
    same = ~a.bone_on_bone
    assert (a.jsw_mm[same] == b.jsw_mm[same]).all()


def test_a_higher_rate_adds_to_a_lower_one(tmp_path):
    lo = _cohort(tmp_path, "lo", patients=60, quirks=NO_QUIRKS.with_rates({"repeat_scans": 0.05, "bone_on_bone": 0.02}))
    hi = _cohort(tmp_path, "hi", patients=60, quirks=NO_QUIRKS.with_rates({"repeat_scans": 0.2, "bone_on_bone": 0.1}))
    keys = [*KEY, "sequence"]
    rep_lo = set(map(tuple, _synthetic(lo, "series.csv").query("repeat")[keys].to_numpy()))
    rep_hi = set(map(tuple, _synthetic(hi, "series.csv").query("repeat")[keys].to_numpy()))
    assert rep_lo < rep_hi
    b_lo = set(map(tuple, _synthetic(lo, "ground_truth.csv").query("bone_on_bone")[KEY].to_numpy()))
    b_hi = set(map(tuple, _synthetic(hi, "ground_truth.csv").query("bone_on_bone")[KEY].to_numpy()))
    assert b_lo <= b_hi and len(b_hi) > len(b_lo)


def test_flat_contents_per_release(tmp_path):
    c = _cohort(tmp_path, "flat", patients=20, flat_contents=True)
    names = sorted(p.name for p in c.glob("contents.*.csv"))
    assert names == ["contents.0C2.csv", "contents.0E1.csv", "contents.1C2.csv", "contents.3C2.csv", "contents.5C1.csv"]
    assert not list(c.glob("*/contents.csv"))
    series = _synthetic(c, "series.csv")
    rows = pd.concat([pd.read_csv(c / n, dtype=str).assign(file=n) for n in names])
    assert len(rows) == len(series)
    visit = {"0": "00m", "1": "12m", "3": "24m", "5": "36m"}
    assert set(visit[f[9]] + "/" + r for f, r in zip(rows.file, rows.Folder, strict=True)) == set(series.path)
    assert all(r.Folder.startswith(r.file[9] + "." + r.file[10] + "." + r.file[11]) for r in rows.itertuples())
    assert json.loads((c / "synthetic" / "cohort.json").read_text())["flat_contents"] is True


def test_quirks_options_and_cli(tmp_path, capsys):
    assert DEFAULT_QUIRKS.check() is DEFAULT_QUIRKS and all(getattr(NO_QUIRKS, n) == 0 for n in QUIRK_NAMES)
    assert parse_rate("repeat-scans=0.1") == ("repeat_scans", 0.1)
    for bad in ("repeat_scans", "repeat_scans=x", "repeat_scan=0.1"):
        with pytest.raises(OptionError, match="quirk"):
            parse_rate(bad)
    with pytest.raises(OptionError, match="repeat_scans"):
        Quirks(repeat_scans=1.5).check()
    with pytest.raises(OptionError, match="0 \\(off\\) or 1"):
        Quirks(absent_heights=0.5).check()
    out = tmp_path / "cli"
    assert main(["synth-cohort", "--out", str(out), "--patients", "3", "--images", "none", "--style", "nda",
                 "--no-quirks", "--quirk", "repeat_scans=0.5"]) == 0
    assert "nda download style" in capsys.readouterr().out
    params = json.loads((out / "synthetic" / "cohort.json").read_text())
    assert params["style"] == "nda" and params["quirks"] == {**NO_QUIRKS.as_dict(), "repeat_scans": 0.5}
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "3", "--quirk", "repeat_scan=1"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'repeat_scans'" in err and "Traceback" not in err
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "3", "--style", "bids"]) == 2
    assert "'style'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

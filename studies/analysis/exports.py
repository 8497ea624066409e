"""Every file of ``knee-study analyze``, written into one folder all-or-nothing.

``summary.json``; ``decisions_long.csv`` (one row per answer, with truth and ``correct``);
``results.xlsx`` (one sheet per table); ``measurements.csv`` and ``measurements_long.csv``
(the readers' caliper measurements per reader and one per row,
:mod:`studies.analysis.measurements`); ``imrmc_input.imrmc`` (iMRMC's input format) and
``mrmcaov_long.csv`` (MRMCaov/RJafroc long format ``reader,treatment,case,truth,rating``);
the PNG figures; ``report.html`` and ``report.pdf`` (the same report, A4 or Letter,
:mod:`studies.analysis.report_pdf`).

In the two MRMC exports each pair's two knees are cases (progressor truth 1, non-progressor
0) and a reader's rating of a knee is 1 when chosen and 0 otherwise, so the empirical AUC an
MRMC program computes for a reader equals the reader's proportion correct over the pairs
(``PC^2 + 2 PC(1-PC)/2 = PC``). Those programs treat knees as independent cases, so their
variances ignore the pairing; the project's own analysis (pairs as cases) does not. The AI
appears as reader ``AI`` in ``mrmcaov_long.csv`` with its scores, under every condition, so
``knee-study mrmc mrmcaov_long.csv --ai-reader AI`` runs the standalone analysis per condition.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from studies.analysis import figures, measurements, report, report_pdf
from studies.analysis.results import StudyResults
from studies.atomic import atomic_directory, check_output_dir
from studies.errors import OptionError
from studies.spreadsheet_safe import safe_frame

DECISION_EXPORT_COLUMNS = [
    "reader",
    "simulated",
    "condition",
    "mode",
    "phase",
    "pair_id",
    "case_left",
    "case_right",
    "chosen_case",
    "correct",
    "progressor",
    "non_progressor",
    "stratum",
    "confidence",
    "ai_shown",
    "active_seconds",
    "started_at",
    "decided_at",
    "flagged",
    "flag_reason",
]


def knee_level_ratings(results: StudyResults) -> pd.DataFrame:
    """Long format over knees: reader, treatment, case, truth, rating, pair_id (unflagged answers)."""
    d = results.decisions[~results.decisions["flagged"].astype(bool)]
    chose = (d["chosen_case"] == d["progressor"]).astype(int)
    pos = pd.DataFrame(
        {
            "reader": d["reader"],
            "treatment": d["condition"],
            "case": d["progressor"],
            "truth": 1,
            "rating": chose,
            "pair_id": d["pair_id"],
        }
    )
    neg = pd.DataFrame(
        {
            "reader": d["reader"],
            "treatment": d["condition"],
            "case": d["non_progressor"],
            "truth": 0,
            "rating": 1 - chose,
            "pair_id": d["pair_id"],
        }
    )
    out = pd.concat([pos, neg], ignore_index=True)
    if results.ai_cases is not None:
        ai = results.ai_cases
        pair_of = (
            pd.concat(
                [
                    results.decisions[["progressor", "pair_id"]].rename(
                        columns={"progressor": "case_id"}
                    ),
                    results.decisions[["non_progressor", "pair_id"]].rename(
                        columns={"non_progressor": "case_id"}
                    ),
                ]
            )
            .drop_duplicates("case_id")
            .set_index("case_id")["pair_id"]
        )
        for cond in sorted(results.decisions["condition"].unique()):
            out = pd.concat(
                [
                    out,
                    pd.DataFrame(
                        {
                            "reader": "AI",
                            "treatment": cond,
                            "case": ai["case_id"],
                            "truth": ai["progressor"].astype(int),
                            "rating": ai["score"],
                            "pair_id": ai["case_id"].map(pair_of),
                        }
                    ),
                ],
                ignore_index=True,
            )
    return out.sort_values(
        ["treatment", "reader", "pair_id", "truth"], kind="mergesort"
    ).reset_index(drop=True)


def imrmc_text(results: StudyResults, study_id: str = "") -> str:
    """The iMRMC input file: header, ``BEGIN DATA:``, truth rows (reader -1, modality 0), ratings."""
    long = knee_level_ratings(results)
    humans = long[long["reader"] != "AI"]
    truth = long.drop_duplicates("case")[["case", "truth"]]
    lines = [
        f"Knee reader study {study_id}: 2AFC answers as knee-level ratings (1 = chosen, 0 = not chosen)",
        f"NR: {humans['reader'].nunique()}",
        f"N0: {int((truth['truth'] == 0).sum())}",
        f"N1: {int((truth['truth'] == 1).sum())}",
        f"NM: {humans['treatment'].nunique()}",
        "",
        "BEGIN DATA:",
    ]
    lines += [f"-1,{c},0,{t}" for c, t in zip(truth["case"], truth["truth"], strict=True)]
    lines += [
        f"{r},{c},{m},{v}"
        for r, c, m, v in zip(
            humans["reader"], humans["case"], humans["treatment"], humans["rating"], strict=True
        )
    ]
    return "\n".join(lines) + "\n"


def xlsx_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per table (sheet names cut to Excel's 31 characters)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            safe_frame(df).to_excel(xw, sheet_name=name[:31], index=False)
    return buf.getvalue()


def check_outside_study(
    out_dir: str | Path, study: str | Path, key: str | Path | None = None
) -> None:
    """Refuse an output folder inside the study package (results name every pair's
    progressor and would reach readers with the package, as the key would), and one that
    holds the package or the key (replacing it, ``--force``, would delete them)."""
    o, s = Path(out_dir).resolve(), Path(study).resolve()
    if o == s or s in o.parents:
        raise OptionError(
            "out", f"a folder outside the study package {study} (readers must never get it)", str(out_dir)
        )
    for what, path in (("the study package", s), ("the key", key)):
        if path is not None and o in Path(path).resolve().parents:
            raise OptionError(
                "out",
                f"a new folder for the results; {out_dir} holds {what} ({path}) and would be replaced",
                str(out_dir),
            )


def write_outputs(
    results: StudyResults,
    out_dir: str | Path,
    *,
    force: bool = False,
    pdf: bool = True,
    paper: str = "a4",
    study: str | Path | None = None,
) -> dict:
    """Write every output into ``out_dir`` (refused when non-empty unless ``force``, and
    when inside ``study``, the package the results come from); ``report.pdf`` unless not
    ``pdf``, on ``paper`` "a4" or "letter".

    The folder is built under a temporary name and renamed when complete, so an interrupted
    run leaves nothing that looks finished. Returns ``{"files": [...], "pdf": message}``.
    """
    if study is not None:
        check_outside_study(out_dir, study)
    if paper not in report_pdf.PAGE_SIZES:
        raise OptionError("paper", f"one of {', '.join(report_pdf.PAGE_SIZES)}", paper)
    out_dir = check_output_dir(out_dir, force=force)
    figs = figures.all_figures(results)
    pngs = {name: figures.png_bytes(fig) for name, fig in figs.items()}
    html_text = report.render_html(results, pngs)
    pdf_data = report_pdf.render_pdf(results, figs, paper) if pdf else None
    study_id = str(results.summary.get("study_id", ""))
    with atomic_directory(out_dir, force=True) as tmp:
        (tmp / "summary.json").write_text(
            json.dumps(results.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        cols = [c for c in DECISION_EXPORT_COLUMNS if c in results.decisions.columns]
        safe_frame(results.decisions[cols]).to_csv(tmp / "decisions_long.csv", index=False)
        (tmp / "results.xlsx").write_bytes(xlsx_bytes(results.tables))
        (tmp / "imrmc_input.imrmc").write_text(imrmc_text(results, study_id), encoding="utf-8")
        safe_frame(knee_level_ratings(results)).to_csv(tmp / "mrmcaov_long.csv", index=False)
        if "measurements" in results.tables:
            safe_frame(results.tables["measurements"]).to_csv(tmp / "measurements.csv", index=False)
            rows = measurements.measurement_rows(results.decisions, results.cases)
            safe_frame(rows).to_csv(tmp / "measurements_long.csv", index=False)
        for name, png in pngs.items():
            (tmp / name).write_bytes(png)
        (tmp / "report.html").write_text(html_text, encoding="utf-8")
        if pdf_data is not None:
            (tmp / "report.pdf").write_bytes(pdf_data)
        pdf_msg = (
            f"PDF written: report.pdf ({paper.upper() if paper == 'a4' else 'Letter'})"
            if pdf_data is not None
            else "PDF skipped: not requested"
        )
        files = sorted(p.name for p in tmp.iterdir())
    return {"files": files, "pdf": pdf_msg, "out": str(out_dir)}

"""The comparison with the paper at a glance: this study's AUCs beside the published ones.

One row per reader and reading (pairwise AUC with its Wilson interval), the AI on the same
pairs (Wilson) and over all progressor x non-progressor combinations (DeLong), then, below a
rule and drawn as open reference marks without intervals, the figures Schiratti et al. (2021)
published: their junior radiologist 57.82 % and senior radiologist 59.72 % on their 150 pairs,
and their model's 65 %, a cross-validated AUC over the whole cohort (not on pairs).
Simulated readers are drawn hollow and grey and labelled "(simulated)".
"""

from __future__ import annotations

from matplotlib.figure import Figure

from studies.analysis import formatting as fmt
from studies.analysis.results import StudyResults

#: The paper's published figures: (label, AUC). Not this study's; drawn as reference marks.
PUBLISHED: tuple[tuple[str, float], ...] = (
    ("Paper: junior radiologist, its 150 pairs", 0.5782),
    ("Paper: senior radiologist, its 150 pairs", 0.5972),
    ("Paper: model, cross-validated AUC over the whole cohort (not on pairs)", 0.65),
)
PAPER_NOTE = "Schiratti et al., Arthritis Res Ther 2021 (published figures, not this study)"


def _rows(results: StudyResults) -> list[dict]:
    rows = []
    readers = results.tables.get("readers")
    if readers is not None:
        for r in readers.to_dict("records"):
            sim = bool(r.get("simulated", False))
            rows.append(
                {
                    "label": f"{fmt.reader_label(r['reader'], sim)}, {fmt.condition_label(r['condition'])}",
                    "est": r["pc"], "lo": r["wilson_lo"], "hi": r["wilson_hi"],
                    "kind": "simulated" if sim else "reader",
                }
            )
    ai = results.summary.get("ai")
    if ai:
        p, a = ai["pairs"], ai["auc"]
        rows.append({"label": "AI, on the same pairs", "est": p["pc"], "lo": p["wilson_lo"],
                     "hi": p["wilson_hi"], "kind": "ai"})
        rows.append({"label": "AI, all progressor x non-progressor combinations", "est": a["auc"],
                     "lo": a["ci"][0], "hi": a["ci"][1], "kind": "ai"})
    return rows


STYLE = {
    "reader": {"marker": "o", "color": "C0", "mfc": "C0"},
    "simulated": {"marker": "o", "color": "0.55", "mfc": "white"},
    "ai": {"marker": "s", "color": "k", "mfc": "k"},
}


def paper_comparison_figure(results: StudyResults) -> Figure:
    """This study's pairwise AUCs with intervals beside the paper's published figures."""
    rows = _rows(results)
    n = len(rows) + len(PUBLISHED)
    fig = Figure(figsize=(7.0, 1.3 + 0.27 * n), dpi=110)
    ax = fig.add_subplot()
    y = n - 1
    level = f"{100 * (1 - float(results.summary.get('alpha', 0.05))):g} %"
    labels = []
    for r in rows:
        st = STYLE[r["kind"]]
        if not fmt.missing(r["est"]):
            err = [[max(r["est"] - r["lo"], 0)], [max(r["hi"] - r["est"], 0)]]
            ax.errorbar([r["est"]], [y], xerr=err, fmt=st["marker"], color=st["color"],
                        mfc=st["mfc"], mec=st["color"], ms=6, capsize=3, lw=1.2)
        labels.append((y, r["label"]))
        y -= 1
    ax.axhline(y + 0.5, color="0.7", lw=0.8)
    for label, value in PUBLISHED:
        ax.plot([value], [y], marker="D", ms=7, mfc="white", mec="C3", mew=1.5, ls="none")
        ax.text(value + 0.022, y, fmt.percent(value), va="center", fontsize=7, color="C3")
        labels.append((y, label))
        y -= 1
    ax.axvline(0.5, color="0.6", ls=":", lw=1)
    ax.set_yticks([p for p, _ in labels], [t for _, t in labels], fontsize=7)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0.3, 1.0)
    ax.set_xlabel(f"pairwise AUC (proportion of pairs correct), {level} interval", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("This study beside the paper", fontsize=9)
    fig.text(0.01, 0.01, PAPER_NOTE + "; open diamonds: published values", fontsize=6, color="C3")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig

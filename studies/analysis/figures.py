"""The result figures as matplotlib ``Figure`` objects and PNG bytes (no pyplot, no display).

- :func:`roc_figure`: the AI's empirical ROC curve over every progressor x non-progressor
  of the study, with each reader (per condition) as a point. A 2AFC reader who picks the
  progressor in a fraction PC of pairs, seen knee by knee, calls a fraction PC of progressors
  and 1 - PC of non-progressors "progressing": the point (1 - PC, PC) on the anti-diagonal.
  A reader point below the AI curve is a reader the AI beats at that operating point.
- :func:`strata_figure`: proportion correct per stratum with Wilson 95 % intervals.

The ROC and strata figures draw the plot data of :mod:`studies.analysis.chart_data`, the same
data the coordinator's pyqtgraph plots draw.
- :func:`times_figure`: reading time per answer (seconds) per reader and condition.
- :func:`studies.analysis.paper_figure.paper_comparison_figure`: this study beside the paper.

Simulated readers (``simulate-reader``) are drawn hollow or hatched and labelled
"(simulated)" in every figure. :func:`all_figures` builds them once; :func:`png_bytes` and
:func:`pdf_bytes` (vector, fonts embedded as TrueType) render them.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from studies.analysis.chart_data import roc_chart, strata_chart
from studies.analysis.formatting import reader_label
from studies.analysis.paper_figure import paper_comparison_figure
from studies.analysis.results import StudyResults

MARKERS = "osD^vP*Xh<>"


def roc_figure(results: StudyResults) -> Figure:
    chart = roc_chart(results)
    fig = Figure(figsize=(5.5, 5.2), dpi=110)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", c="0.6", lw=1)
    ax.plot([0, 1], [1, 0], ls="--", c="0.85", lw=1)
    if chart.ai is not None:
        lo, hi = chart.ai.ci
        ax.plot(
            chart.ai.fpr,
            chart.ai.tpr,
            c="k",
            lw=2,
            label=f"AI: AUC {chart.ai.auc:.3f} (95% CI {lo:.3f}-{hi:.3f})",
        )
    for p in chart.points:
        colour = f"C{p.condition_index}"
        ax.plot(
            p.fpr,
            p.tpr,
            MARKERS[p.reader_index % len(MARKERS)],
            c=colour,
            mfc="none" if p.simulated else colour,
            ms=7,
            mec=colour if p.simulated else "k",
            label=p.label,
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="1 - specificity (non-progressors called progressing)",
        ylabel="sensitivity (progressors found)",
        title="AI ROC curve and readers",
        aspect="equal",
    )
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def strata_figure(results: StudyResults) -> Figure:
    chart = strata_chart(results)
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.add_subplot()
    if chart is None:
        ax.text(0.5, 0.5, "no answers", ha="center")
        return fig
    for bars in chart.groups:
        ax.bar(
            bars.x,
            bars.pc,
            chart.width,
            yerr=np.vstack([bars.err_low, bars.err_high]),
            capsize=2,
            label=bars.label,
            color="k" if bars.ai else f"C{bars.index % 10}",
            hatch="///" if bars.simulated else None,
            alpha=0.45 if bars.simulated else 1.0,
        )
    ax.axhline(chart.chance, c="0.5", ls=":", lw=1)
    ax.set(
        xticks=np.arange(len(chart.strata)),
        xticklabels=list(chart.tick_labels),
        ylim=(0, 1),
        ylabel="proportion correct (95% Wilson CI)",
        title="Accuracy per stratum",
    )
    # outside the axes, under them: a legend inside covered the bars
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    fig.tight_layout()
    return fig


def times_figure(results: StudyResults) -> Figure:
    df = results.tables.get("times", pd.DataFrame())
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.add_subplot()
    if df.empty:
        ax.text(0.5, 0.5, "no reading times", ha="center")
        return fig
    groups = list(df.groupby(["reader", "condition"], sort=True))
    sim = set(results.summary.get("simulated_readers") or [])
    ax.boxplot([g["active_seconds"].to_numpy() for _, g in groups], showfliers=True)
    ax.set_xticks(
        range(1, len(groups) + 1),
        [f"{reader_label(r, r in sim)}\n{c}" for (r, c), _ in groups],
        fontsize=7,
    )
    ax.set(ylabel="active reading time per pair (s)", title="Reading times")
    fig.tight_layout()
    return fig


#: File name -> (figure maker, caption), in the report's order.
FIGURES = {
    "paper_comparison.png": (
        paper_comparison_figure,
        "This study's pairwise AUCs (95 % intervals) beside the figures Schiratti et al. published "
        "(open diamonds): their radiologists on their own 150 pairs, and their model's "
        "cross-validated AUC over the whole cohort, which is not a figure on pairs.",
    ),
    "roc_ai_readers.png": (
        roc_figure,
        "The AI's ROC curve over every progressor x non-progressor combination, each reader as "
        "the point (1 - PC, PC): a reader below the curve is beaten by the AI at that point.",
    ),
    "accuracy_per_stratum.png": (strata_figure, "Proportion correct per stratum, Wilson 95 % intervals."),
    "reading_times.png": (times_figure, "Active reading time per pair (pauses excluded)."),
}


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def pdf_bytes(fig: Figure) -> bytes:
    """Render a figure to a one-page vector PDF at its own size, fonts embedded as TrueType
    (Type 42, so their text can be searched and copied)."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig.savefig(buf, format="pdf", metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return buf.getvalue()


def all_figures(results: StudyResults) -> dict[str, Figure]:
    """File name -> figure, every figure the results have (no ROC figure without readers)."""
    out = {}
    for name, (make, _) in FIGURES.items():
        if name.startswith("roc") and not results.roc.get("ai") and not results.roc.get("readers"):
            continue
        out[name] = make(results)
    return out


def caption(name: str) -> str:
    """The figure's caption in the report ("" for a figure not in :data:`FIGURES`)."""
    return FIGURES[name][1] if name in FIGURES else ""


def all_pngs(results: StudyResults) -> dict[str, bytes]:
    """File name -> PNG bytes of every figure."""
    return {name: png_bytes(fig) for name, fig in all_figures(results).items()}

"""``knee-study inspect-cohort``: what an OAI download holds, before any image is decoded.

A coordinator who has just downloaded hundreds of GB needs to know, first, whether the tools
see what they expect: the style, the visits, the participants, the knees with both sequences
at each visit, repeated and truncated series and the one chosen, the X-ray reading projects,
the variables found and missing, and how many knees each label would have. Everything here
comes from the indexes, the tables and directory listings (a ``.tar.gz`` is streamed only when
a knee has two series to choose from); no pixel is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from studies.cohort import IngestOptions, load_cohort
from studies.labels import make_labels
from studies.package import SEQUENCES
from studies.vocabulary import LABELS, Label

#: How many not-chosen series the text form lists (the JSON form lists all).
LIST_LIMIT = 12


def inspect_cohort(root: str | Path, options: IngestOptions | None = None) -> dict[str, Any]:
    """The inspection of the cohort at ``root`` as a JSON-ready dict (see module docstring)."""
    cohort = load_cohort(root, options)
    knees, rep = cohort.knees, cohort.report
    visits: dict[str, Any] = {}
    for month, g in knees.groupby("visit_month"):
        has = {seq: g[seq].notna() for seq in SEQUENCES}
        visits[f"{int(month)}"] = {
            "participants": int(g["participant_id"].nunique()),
            "knees_with_jsw": int(g["jsw_mm"].notna().sum()),
            **{f"knees_with_{seq}": int(h.sum()) for seq, h in has.items()},
            "knees_with_both_sequences": int((has[SEQUENCES[0]] & has[SEQUENCES[1]]).sum()),
        }
    labels = make_labels(knees, jsw_readings=cohort.jsw_readings)
    series = cohort.series if cohort.series is not None else pd.DataFrame(columns=["status"])
    return {
        "cohort": str(Path(root)),
        "style": cohort.source,
        "synthetic": cohort.is_synthetic,
        "participants": int(knees["participant_id"].nunique()),
        "knee_visits": len(knees),
        "visits": visits,
        "series": {
            "listed": int(len(series)),
            "by_status": {str(k): int(v) for k, v in series["status"].value_counts().items()},
            **{k: v for k, v in rep.get("series_choice", {}).items()},
            "ignored_other_series": int(rep.get("series_ignored", 0)),
            "later_visits_ignored": int(rep.get("series_later_visits", 0)),
        },
        "reading_projects": rep.get("reading_projects", {}),
        "jsw_projects_in_order": rep.get("jsw_projects", []),
        "kl_projects_in_order": rep.get("kl_projects", []),
        "variables_found": rep.get("found", {}),
        "variables_missing": rep.get("missing", []),
        "heights_carried_forward": int(rep.get("heights_carried_forward", 0)),
        "labels": label_counts(labels),
        "warnings": list(rep.get("warnings", [])),
    }


def counted_labels() -> tuple[Label, ...]:
    """The labels whose classes the inspection counts (``Label.counted_as``), in registry order."""
    return tuple(lab for lab in LABELS if lab.counted_as)


def label_counts(labels: pd.DataFrame) -> dict[str, Any]:
    """Knee-windows per label and class (positive class first; windows without the label left
    out), at baseline and over the sliding window, for each of :func:`counted_labels`."""
    out: dict[str, Any] = {"windows": len(labels), "excluded": dict(labels.attrs.get("excluded", {})),
                           "excluded_from_jsn_rel": dict(labels.attrs.get("excluded_rel", {}))}
    for scope, df in (("baseline", labels[labels["visit_month"] == 0]), ("all_windows", labels)):
        out[scope] = {lab.counted_as: _class_counts(df[lab.column], lab) for lab in counted_labels()}
    return out


def _class_counts(column: pd.Series, label: Label) -> dict[str, int]:
    """{count name: windows} of a two-class label column (bool, nullable boolean or 0/1 float)."""
    values = column.dropna().astype(float)
    return {label.count_names[k]: int((values == k).sum()) for k in reversed(range(label.n_classes))}


def _label_line(scope: str, counts: dict[str, dict[str, int]]) -> str:
    """``labels (baseline): jsn-abs 12 progressors / 30 non; jsn-rel 4 / 38; ...``: the first
    label spells its classes out, the others give the same two counts."""
    parts = []
    for i, (key, classes) in enumerate(counts.items()):
        (positive, n_pos), (negative, n_neg) = classes.items()
        words = (f" {positive}", f" {negative.split('_')[0]}") if i == 0 else ("", "")
        parts.append(f"{key.replace('_', '-')} {n_pos}{words[0]} / {n_neg}{words[1]}")
    return f"  labels ({scope.replace('_', ' ')}): " + "; ".join(parts)


def _not_chosen_lines(items: list[str], where_all: str) -> list[str]:
    """The first :data:`LIST_LIMIT` series not chosen, and how many more (and where to see them)."""
    lines = [f"    not chosen: {item}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"    ... and {len(items) - LIST_LIMIT} more ({where_all})")
    return lines


def format_inspection(d: dict[str, Any]) -> str:
    """The inspection as text for the terminal."""
    s = d["series"]
    lines = [
        f"{d['cohort']}: {d['style']} download style{' (synthetic)' if d['synthetic'] else ''}",
        f"  {d['participants']} participants, {d['knee_visits']} knee-visits",
        "  visit   participants  knees: JSW  COR IW TSE  SAG 3D DESS  both",
    ]
    for month, v in d["visits"].items():
        lines.append(f"  {month:>3} m   {v['participants']:>12}  {v['knees_with_jsw']:>10}  "
                     f"{v['knees_with_cor_iw_tse']:>10}  {v['knees_with_sag_3d_dess']:>11}  "
                     f"{v['knees_with_both_sequences']:>4}")
    lines.append(
        f"  series: {s['listed']} listed ({', '.join(f'{k} {v}' for k, v in s['by_status'].items()) or 'none'}); "
        f"{s.get('repeated_groups', 0)} knee-visit-sequences scanned more than once, "
        f"{s.get('series_not_chosen', 0)} series not chosen; "
        f"{s.get('knee_visits_without_complete_series', 0)} without a complete series")
    lines += _not_chosen_lines(s.get("not_chosen", []), "--json lists all")
    if s.get("by_status", {}).get("unknown"):
        lines.append(f"    {s['by_status']['unknown']} single .tar.gz series not counted yet: "
                     "counted when a study or the model reads them")
    lines.append(f"  other series ignored: {s['ignored_other_series']}; series after 36 months: "
                 f"{s['later_visits_ignored']}")
    for var, counts in d["reading_projects"].items():
        lines.append(f"  reading projects of {var}: " + ", ".join(f"{p}: {n} rows" for p, n in counts.items()))
    lines.append(f"  JSW projects in order of use: {', '.join(d['jsw_projects_in_order']) or '-'}; "
                 f"KL: {', '.join(d['kl_projects_in_order']) or '-'}")
    found = ", ".join(f"{k} ({v[0]}{', ...' if len(v) > 1 else ''})" for k, v in d["variables_found"].items())
    lines.append(f"  variables found: {found}")
    for m in d["variables_missing"]:
        lines.append(f"  missing: {m}")
    lines.append(f"  heights carried forward from an earlier visit: {d['heights_carried_forward']} participant-visits")
    lab = d["labels"]
    for scope in ("baseline", "all_windows"):
        lines.append(_label_line(scope, lab[scope]))
    lines.append(f"  windows left out: {lab['excluded']}; out of jsn-rel: {lab['excluded_from_jsn_rel']}")
    for w in d["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def format_ingest(cohort_report: dict[str, Any]) -> str:
    """The build report's lines about reading the cohort: style, series chosen, reading
    projects, heights carried forward (nothing for a plain-CSV cohort)."""
    r = cohort_report
    if r.get("source") == "csv":
        return f"cohort: plain CSV, {r.get('participants', 0)} participants"
    lines = [f"cohort: {r.get('source')} download style, {r.get('participants', 0)} participants, "
             f"{r.get('knee_visits', 0)} knee-visits"]
    sc = r.get("series_choice", {})
    if sc:
        lines.append(f"  series: {sc.get('series', 0)} listed; {sc.get('repeated_groups', 0)} knee-visit-sequences "
                     f"scanned more than once; {sc.get('series_not_chosen', 0)} not chosen "
                     f"({sc.get('truncated', 0)} truncated, {sc.get('unreadable', 0)} unreadable)")
        lines += _not_chosen_lines(sc.get("not_chosen", []), "knee-study inspect-cohort --json")
    for var, counts in r.get("reading_projects", {}).items():
        lines.append(f"  reading projects of {var}: " + ", ".join(f"{p}: {n} rows" for p, n in counts.items()))
    if r.get("jsw_projects"):
        lines.append(f"  JSW projects in order of use: {', '.join(r['jsw_projects'])}; "
                     f"windows without a common project: {r.get('windows_without_common_jsw_project', 0)}")
    if "heights_carried_forward" in r:
        lines.append(f"  heights carried forward from an earlier visit: {r['heights_carried_forward']}")
    return "\n".join(lines)

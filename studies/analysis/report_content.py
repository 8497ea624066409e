"""What the report says, once, as a list of blocks; the HTML and the PDF render the same list.

The order reads like a paper's results section: the study's facts and caveats, the pooled
result in a sentence, Table 1 (the study), Table 2 (AUCs) with the comparison with the paper,
Table 3 (each reader vs the AI), the multi-reader tables, agreement, accuracy per stratum,
the readers' caliper measurements, the other figures, then the generated methods paragraph and its references.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.analysis import paper_mrmc, paper_tables
from studies.analysis.formatting import condition_label, reader_label
from studies.analysis.measurements import NOBODY_MEASURED
from studies.analysis.methods_text import REFERENCES, methods_paragraphs
from studies.analysis.paper_tables import PaperTable
from studies.analysis.results import StudyResults


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str
    style: str = "body"  # "body", "note" or "reference"


@dataclass(frozen=True)
class Facts:
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class TableBlock:
    table: PaperTable


@dataclass(frozen=True)
class FigureBlock:
    name: str  # the figure's file name (studies.analysis.figures.FIGURES)
    caption: str


Block = Heading | Text | Facts | TableBlock | FigureBlock


def facts(results: StudyResults) -> list[tuple[str, str]]:
    s = results.summary
    simulated = set(s.get("simulated_readers") or [])
    rows = [
        ("Study", s.get("study_id")),
        ("Question", s.get("question")),
        ("Scored pairs", s.get("n_pairs")),
        ("Readers", ", ".join(reader_label(r, r in simulated) for r in s.get("readers", []))),
        ("Reading", ", ".join(condition_label(c) for c in s.get("conditions", []))),
        ("Key SHA-256 (verified against the manifest)", s.get("key_sha256_verified")),
        ("Decisions files (audit chains verified)", ", ".join(s.get("decision_files", []))),
    ]
    return [(k, str(v)) for k, v in rows if v not in (None, "")]


def build_document(results: StudyResults, figure_names: list[str]) -> list[Block]:
    """The report's blocks; ``figure_names`` are the figures available (file names)."""
    from studies.analysis.figures import caption

    title = str(results.summary.get("title") or "Reader study results")
    doc: list[Block] = [Heading(title, 1), Facts(facts(results))]
    doc += [Text(f"Note: {n}", "note") for n in results.summary.get("notes", [])]
    doc.append(Heading("Results"))
    doc += [Text(t) for t in paper_mrmc.mrmc_sentences(results)]

    def table(t: PaperTable | None) -> None:
        if t is not None:
            doc.append(TableBlock(t))

    def figure(name: str) -> None:
        if name in figure_names:
            doc.append(FigureBlock(name, caption(name)))

    table(paper_tables.table_study(results))
    table(paper_tables.table_accuracy(results))
    figure("paper_comparison.png")
    table(paper_tables.table_reader_vs_ai(results))
    table(paper_mrmc.table_mrmc(results))
    table(paper_mrmc.table_conditions(results))
    table(paper_mrmc.table_switching(results))
    table(paper_tables.table_agreement(results))
    table(paper_tables.table_strata(results))
    if "measurements" in results.tables:
        measured = paper_tables.table_measurements(results)
        table(measured)
        if measured is None:
            doc.append(Text(NOBODY_MEASURED))
    for name in figure_names:
        if name != "paper_comparison.png":
            figure(name)
    doc.append(Heading("Methods"))
    doc += [Text(p) for p in methods_paragraphs(results)]
    doc.append(Heading("References"))
    doc += [Text(f"[{i}] {ref}", "reference") for i, ref in enumerate(REFERENCES, 1)]
    return doc


def paper_tables_of(results: StudyResults) -> list[PaperTable]:
    """Every formatted table of the report, in its order (the coordinator view lists them)."""
    return [b.table for b in build_document(results, []) if isinstance(b, TableBlock)]

"""The report on a real study package: the PDF's text (read back with pypdf) holds the key
numbers of the HTML, fonts are embedded, figures are vectors; simulated readers are marked
and left out of pooled analyses unless asked for."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from pypdf import PdfReader
from study_factory import make_study

from studies.analysis import analyze_study, formatting, write_outputs
from studies.analysis.report_content import paper_tables_of
from studies.decisions import DecisionStore
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path


def person_reader(tiny, reader: str, p_correct: float, seed: int):
    """A person's unaided reading, written through the decisions store."""
    rng = np.random.default_rng(seed)
    path = decisions_path(tiny.study, reader)
    t = 1_700_000_000.0
    with DecisionStore.open(path, reader, tiny.manifest, "unaided") as store:
        store.session_start("unaided")
        for op in store.order:
            prog = tiny.progressors[op.pair_id]
            other = op.right_case if prog == op.left_case else op.left_case
            dur = float(rng.uniform(5, 60))
            store.commit_decision(
                op.pair_id, prog if rng.random() < p_correct else other, mode="unaided",
                started_at=t, decided_at=t + dur, active_seconds=dur,
            )
            t += dur + 1
        store.session_stop()
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tiny = make_study(tmp_path_factory.mktemp("pdf"), n_pairs=40, with_images=False, with_ai=True, seed=4)
    files = [person_reader(tiny, r, 0.65, i) for i, r in enumerate(("r1", "r2", "r3"))]
    simulate_reader(tiny.study, tiny.key, "sim1", 0.9, seed=1)
    return tiny, [*files, decisions_path(tiny.study, "sim1")]


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    tiny, files = study
    res = analyze_study(tiny.study, tiny.key, files, n_boot=500)
    out = tmp_path_factory.mktemp("out") / "results"
    write_outputs(res, out)
    letter = tmp_path_factory.mktemp("letter") / "results"
    write_outputs(res, letter, paper="letter")
    return res, out, letter


def pdf_text(path) -> str:
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


def html_text(path) -> str:
    import html as h

    raw = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", h.unescape(raw))


def test_pdf_holds_the_key_numbers_of_the_analysis(written):
    res, out, _ = written
    text = pdf_text(out / "report.pdf")
    r1 = res.tables["readers"].set_index("reader").loc["r1"]
    assert formatting.estimate_ci(r1["pc"], r1["wilson_lo"], r1["wilson_hi"]) in text
    ai = res.summary["ai"]["auc"]
    assert formatting.estimate_ci(ai["auc"], *ai["ci"]) in text
    mr = res.tables["mrmc_vs_ai"].set_index("model").loc["rrrc"]
    assert formatting.estimate_ci(mr["difference"], mr["ci_lo"], mr["ci_hi"]) in text
    vs = res.tables["reader_vs_ai"].set_index("reader").loc["r2"]
    assert formatting.estimate_ci(vs["newcombe_difference"], vs["newcombe_lo"], vs["newcombe_hi"]) in text
    for title in ("Table 1.", "Table 2.", "Table 3.", "Table 4.", "Methods", "References"):
        assert title in text
    # the methods paragraph: methods, study id, key hash, each decisions file's chain head
    for word in ("Wilson", "Clopper-Pearson", "DeLong", "McNemar", "Newcombe", "method 10",
                 "Obuchowski-Rockette", "Hillis", "Cohen", "Fleiss", "alpha = 0.05", "knee-reader-study 0.1.0"):
        assert word in text, word
    s = res.summary
    compact = text.replace(" ", "")
    assert s["study_id"] in text and s["key_sha256_verified"] in compact
    for chain in s["decision_chains"]:
        assert chain["audit_head"] in compact, chain["file"]
    # the paper's published figures, labelled as the paper's (figure text is searchable)
    assert "57.82 %" in text and "59.72 %" in text and "65.00 %" in text
    assert "cross-validated AUC over the whole cohort" in text


def test_html_and_pdf_say_the_same(written):
    res, out, _ = written
    pdf, html = pdf_text(out / "report.pdf"), html_text(out / "report.html")
    for table in paper_tables_of(res):
        for doc in (pdf, html):
            assert table.title in doc
        for row in table.rows:
            cells = [" ".join(c.split()) for c in row if re.search(r"\d\.\d", c)]
            for cell in cells[:2]:
                assert cell in pdf and cell in html, (table.key, cell)


def test_page_sizes_embedded_fonts_and_vector_figures(written):
    _, a4, letter = written
    for path, size in ((a4 / "report.pdf", (595.3, 841.9)), (letter / "report.pdf", (612, 792))):
        reader = PdfReader(path)
        assert len(reader.pages) >= 3
        fonts, images = set(), 0
        for page in reader.pages:
            box = page.mediabox
            assert (float(box.width), float(box.height)) == pytest.approx(size, abs=0.5)
            res = page["/Resources"]
            for font in (res.get("/Font") or {}).values():
                font = font.get_object()
                assert font["/Subtype"] != "/Type1", f"{font['/BaseFont']} is not embedded"
                if "/DescendantFonts" in font:
                    font = font["/DescendantFonts"][0].get_object()
                desc = font["/FontDescriptor"].get_object()
                assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
                fonts.add(str(font["/BaseFont"]))
            for xo in (res.get("/XObject") or {}).values():
                images += xo.get_object().get("/Subtype") == "/Image"
        assert images == 0  # every figure is vector graphics
        assert any("DejaVuSans" in f for f in fonts) and not any("Helvetica" in f for f in fonts)


def test_simulated_readers_are_marked_and_left_out_of_pooled_analyses(study, written):
    tiny, files = study
    res, out, _ = written
    assert res.summary["simulated_readers"] == ["sim1"]
    readers = res.tables["readers"].set_index("reader")["simulated"]
    assert readers["sim1"] and not readers[["r1", "r2", "r3"]].any()
    assert set(res.tables["mrmc_vs_ai"]["n_readers"]) == {3}  # sim1 left out
    assert "sim1" not in " ".join(res.tables["agreement"]["raters"])
    text = pdf_text(out / "report.pdf")
    assert "sim1 (simulated)" in text and "left out of the pooled analyses" in text
    assert "sim1 (simulated)" in html_text(out / "report.html")
    both = analyze_study(tiny.study, tiny.key, files, n_boot=200, include_simulated=True)
    assert set(both.tables["mrmc_vs_ai"]["n_readers"]) == {4}
    assert "included in the pooled analyses" in both.summary["notes"][0]


def test_pdf_is_the_same_for_the_same_results(written, tmp_path):
    res, out, _ = written
    write_outputs(res, tmp_path / "again")
    first = PdfReader(io.BytesIO((out / "report.pdf").read_bytes()))
    second = PdfReader(io.BytesIO((tmp_path / "again" / "report.pdf").read_bytes()))
    assert [p.extract_text() for p in first.pages] == [p.extract_text() for p in second.pages]

"""``knee-reader --coordinator STUDY --key KEY``: follow, collect and export a study.

Three tabs:

- **Readers**: each decisions file's progress, flags, reading modes, last answer and audit
  chain status; "Collect decisions files…" brings files from other workstations in
  (``studies.decisions.merge``: duplicates skipped, conflicts kept aside and listed).
- **Results**: the same analysis as ``knee-study analyze`` (``analyze_study``), drawn with
  pyqtgraph: the AI's ROC curve with each reader as a point, accuracy per stratum with Wilson
  intervals, and the report's formatted tables (Table 1, 2, 3...; the same cells as the PDF).
  Simulated readers are marked. It refreshes as decisions files change.
- **Export**: writes every output of ``knee-study analyze`` (``write_outputs``), the PDF
  report included, to a folder.

The view is layout; :class:`CoordinatorController` decides.
"""

from __future__ import annotations

import argparse
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reader_app.domain.coordination import ReaderStatus, analyzable, reader_statuses
from reader_app.domain.interpretation import ai_sentences, study_context
from reader_app.ui.errors import error_display
from reader_app.ui.paper_table_view import fill_paper_table
from studies.analysis import analyze_study
from studies.analysis.exports import write_outputs
from studies.analysis.formatting import reader_label
from studies.analysis.paper_mrmc import mrmc_sentences
from studies.analysis.paper_tables import PaperTable
from studies.analysis.report_content import paper_tables_of
from studies.analysis.results import StudyResults
from studies.decisions.merge import MergeItem, merge_decisions
from studies.package import load_key, load_manifest, verify_key

REFRESH_MS = 15_000
READER_COLUMNS = ("Reader", "Answered", "Flagged", "Modes", "Last answer", "Audit chain")
SYMBOLS = ("o", "s", "d", "t", "t1", "p", "h", "star", "+", "x")
COLOURS = ("#4e9af1", "#f1a24e", "#5fd37a", "#e25d5d", "#b07ef0", "#e0d25a", "#5ad0e0", "#e07ab8")


def _fill_table(table: QTableWidget, header: list[str], rows: list[list[str]]) -> None:
    table.clear()
    table.setColumnCount(len(header))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(header)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


class CoordinatorView(QMainWindow):
    """Layout only: tabs, tables, plots and buttons; the controller fills them."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setWindowTitle(f"Coordinator — {title}")
        self.resize(1200, 820)
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)

        readers = QWidget()
        lay = QVBoxLayout(readers)
        self.readers_summary = QLabel()
        self.readers_table = QTableWidget()
        self.readers_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        buttons = QHBoxLayout()
        self.collect_button = QPushButton("Collect decisions files…")
        self.collect_button.setToolTip("Bring readers' decisions files from other workstations into this study")
        self.refresh_button = QPushButton("Refresh")
        buttons.addWidget(self.collect_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        self.merge_report = QLabel()
        self.merge_report.setWordWrap(True)
        self.merge_report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.readers_summary)
        lay.addWidget(self.readers_table, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.merge_report)
        self.tabs.addTab(readers, "Readers")

        results = QWidget()
        lay = QVBoxLayout(results)
        self.results_summary = QLabel("No answers yet.")
        self.results_summary.setWordWrap(True)
        plots = QHBoxLayout()
        self.roc_plot = pg.PlotWidget(title="AI ROC curve and readers")
        self.roc_plot.setLabel("bottom", "1 − specificity")
        self.roc_plot.setLabel("left", "sensitivity")
        self.roc_plot.setXRange(0, 1, padding=0.02)
        self.roc_plot.setYRange(0, 1, padding=0.02)
        self.roc_plot.setLimits(xMin=-0.05, xMax=1.05, yMin=-0.05, yMax=1.05)
        self.roc_legend = self.roc_plot.addLegend(offset=(-10, -10))
        self.strata_plot = pg.PlotWidget(title="Accuracy per stratum (95 % Wilson CI)")
        self.strata_plot.setYRange(0, 1)
        self.strata_plot.setLabel("left", "proportion correct")
        # the legend right of the plot area, not over the bars (issue 15)
        self.strata_legend = pg.LegendItem(offset=None)
        self.strata_plot.plotItem.layout.addItem(self.strata_legend, 2, 3)
        self.strata_plot.plotItem.legend = self.strata_legend
        plots.addWidget(self.roc_plot, 1)
        plots.addWidget(self.strata_plot, 1)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Table:"))
        self.table_choice = QComboBox()
        pick.addWidget(self.table_choice)
        pick.addStretch(1)
        self.results_table = QTableWidget()
        lay.addWidget(self.results_summary)
        lay.addLayout(plots, 3)
        lay.addLayout(pick)
        lay.addWidget(self.results_table, 2)
        self.tabs.addTab(results, "Results")

        export = QWidget()
        lay = QVBoxLayout(export)
        lay.addWidget(
            QLabel(
                "Writes the report as PDF (A4) and HTML, summary.json, the long-format decisions "
                "CSV, an XLSX workbook (full precision), the iMRMC and MRMCaov inputs and the "
                "figures: the same files as `knee-study analyze`."
            )
        )
        self.export_button = QPushButton("Export results…")
        self.export_status = QLabel()
        self.export_status.setWordWrap(True)
        lay.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.export_status)
        lay.addStretch(1)
        self.tabs.addTab(export, "Export")

        #: pyqtgraph items drawn for the current results (tests read their data).
        self.roc_curve: pg.PlotDataItem | None = None
        self.reader_points: list[pg.ScatterPlotItem] = []
        self.strata_bars: list[pg.BarGraphItem] = []
        self._tables: dict[str, PaperTable] = {}
        self.table_choice.currentTextChanged.connect(self._show_table)

    # -- readers ---------------------------------------------------------------------------
    def show_statuses(self, statuses: list[ReaderStatus], total: int) -> None:
        rows = [
            [
                reader_label(s.reader_id, s.simulated),
                f"{s.answered} / {s.total}",
                str(s.flagged),
                ", ".join(s.modes),
                s.last_answer.replace("T", " ")[:19],
                "intact" if s.chain_ok else f"BROKEN: {s.chain_reason}",
            ]
            for s in statuses
        ]
        _fill_table(self.readers_table, list(READER_COLUMNS), rows)
        for r, s in enumerate(statuses):
            if s.simulated:
                self.readers_table.item(r, 0).setToolTip(
                    "Written by simulate-reader: random answers, machine reading times"
                )
            if not s.chain_ok:
                self.readers_table.item(r, 5).setForeground(pg.mkColor("#ff6b6b"))
        done = sum(s.complete for s in statuses)
        self.readers_summary.setText(
            f"{len(statuses)} reader(s); {done} finished all {total} pairs."
            if statuses
            else "No decisions files collected yet: readers' files go in the study's decisions/ folder, "
            "or use “Collect decisions files…”."
        )

    def show_merge_report(self, items: list[MergeItem]) -> None:
        lines = []
        for it in items:
            lines.append(
                f"<b>{it.status}</b> {escape(it.reader_id or '?')} — {escape(it.source.name)}: "
                f"{escape(it.detail)}"
            )
            for d in it.differences:
                lines.append(
                    f"&nbsp;&nbsp;pair {escape(str(d['pair_id']))}: collected {escape(str(d['existing']))}, "
                    f"incoming {escape(str(d['incoming']))}"
                )
        self.merge_report.setText("<br>".join(lines))

    # -- results ---------------------------------------------------------------------------
    def show_results(self, results: StudyResults | None, message: str = "") -> None:
        self.roc_plot.clear()
        self.strata_plot.clear()
        self.roc_legend.clear()
        self.strata_legend.clear()
        self.roc_curve, self.reader_points, self.strata_bars = None, [], []
        if results is None:
            self.results_summary.setText(message or "No answers yet.")
            self._tables = {}
            self.table_choice.clear()
            self.results_table.clear()
            return
        self.results_summary.setText(message)
        self.roc_plot.plot([0, 1], [0, 1], pen=pg.mkPen("#666", style=Qt.PenStyle.DotLine))
        ai = results.roc.get("ai")
        if ai:
            lo, hi = ai["ci"]
            self.roc_curve = self.roc_plot.plot(
                ai["fpr"], ai["tpr"], pen=pg.mkPen("#f0f0f0", width=2),
                name=f"AI: AUC {ai['auc']:.3f} ({lo:.3f}–{hi:.3f})",
            )
        readers = sorted({p["reader"] for p in results.roc["readers"]})
        conditions = sorted({p["condition"] for p in results.roc["readers"]})
        for p in results.roc["readers"]:
            if p["pc"] is None:
                continue
            colour = COLOURS[readers.index(p["reader"]) % len(COLOURS)]
            sim = bool(p.get("simulated", False))
            item = pg.ScatterPlotItem(
                [p["fpr"]], [p["tpr"]], size=11,
                symbol=SYMBOLS[conditions.index(p["condition"]) % len(SYMBOLS)],
                brush=pg.mkBrush(None) if sim else pg.mkBrush(colour),
                pen=pg.mkPen(colour, width=2) if sim else pg.mkPen("k"),
                name=f"{reader_label(p['reader'], sim)} ({p['condition']}): PC {p['pc']:.3f}",
            )
            self.roc_plot.addItem(item)
            self.reader_points.append(item)
        self._draw_strata(results.tables.get("strata"))
        self._tables = {t.title: t for t in paper_tables_of(results)}
        current = self.table_choice.currentText()
        first = next((k for k in self._tables if k.startswith("Table 2")), next(iter(self._tables), ""))
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        self.table_choice.addItems(list(self._tables))
        self.table_choice.blockSignals(False)
        self.table_choice.setCurrentText(current if current in self._tables else first)
        self._show_table(self.table_choice.currentText())

    def _draw_strata(self, df: pd.DataFrame | None) -> None:
        if df is None or df.empty:
            return
        strata = list(dict.fromkeys(df["stratum"]))
        groups = list(dict.fromkeys(zip(df["reader"], df["condition"], strict=True)))
        width = 0.8 / len(groups)
        x = np.arange(len(strata), dtype=float)
        for i, (reader, cond) in enumerate(groups):
            g = df[(df["reader"] == reader) & (df["condition"] == cond)].set_index("stratum").reindex(strata)
            pos = x - 0.4 + width * (i + 0.5)
            pc = g["pc"].to_numpy(dtype=float)
            colour = "#f0f0f0" if reader == "AI" else COLOURS[i % len(COLOURS)]
            sim = bool(g["simulated"].fillna(False).any()) if "simulated" in g else False
            fill = pg.mkColor(colour)
            if sim:  # simulated readers: a faint bar with a solid outline
                fill.setAlpha(70)
            bars = pg.BarGraphItem(x=pos, height=np.nan_to_num(pc), width=width, brush=fill,
                                   pen=pg.mkPen(colour), name=f"{reader_label(reader, sim)} ({cond})")
            self.strata_plot.addItem(bars)
            self.strata_bars.append(bars)
            err = pg.ErrorBarItem(
                x=pos, y=np.nan_to_num(pc),
                bottom=np.nan_to_num(pc - g["wilson_lo"].to_numpy(dtype=float)),
                top=np.nan_to_num(g["wilson_hi"].to_numpy(dtype=float) - pc),
                beam=width * 0.3, pen=pg.mkPen("#bbb"),
            )
            self.strata_plot.addItem(err)
        self.strata_plot.getAxis("bottom").setTicks([[(i, s.replace("_", " ")) for i, s in enumerate(strata)]])
        self.strata_plot.addLine(y=0.5, pen=pg.mkPen("#666", style=Qt.PenStyle.DotLine))

    def _show_table(self, title: str) -> None:
        fill_paper_table(self.results_table, self._tables.get(title))


class CoordinatorController:
    """Decides what the coordinator view shows; no layout here."""

    def __init__(self, study: str | Path, key: str | Path, view: CoordinatorView, *, n_boot: int = 10_000) -> None:
        self.study = Path(study)
        self.key = Path(key)
        self.view = view
        self.n_boot = n_boot
        self.manifest = load_manifest(self.study)
        verify_key(self.study, self.key)  # refuse a key that does not belong to this study
        self.statuses: list[ReaderStatus] = []
        self.results: StudyResults | None = None
        self._signature: tuple | None = None
        view.refresh_button.clicked.connect(lambda: self.refresh(force=True))
        view.collect_button.clicked.connect(self._ask_collect)
        view.export_button.clicked.connect(self._ask_export)
        view.export_button.setEnabled(False)
        view.export_button.setToolTip("No results yet: collect readers' decisions first")

    def _files_signature(self) -> tuple:
        return tuple((s.path.name, s.path.stat().st_mtime_ns, s.answered) for s in self.statuses if s.path.exists())

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the decisions files; re-run the analysis when any of them changed."""
        with error_display(self.view, "Reading the decisions files"):
            self.statuses = reader_statuses(self.study)
            self.view.show_statuses(self.statuses, len(self.manifest.pairs))
            signature = self._files_signature()
            if force or signature != self._signature:
                self._signature = signature
                self._analyze()

    def _analyze(self) -> None:
        files = analyzable(self.statuses)
        broken = [s.reader_id for s in self.statuses if not s.chain_ok]
        if not files:
            self.results = None
            self.view.show_results(None, "No answers yet." + (f" Left out (broken audit chain): {', '.join(broken)}." if broken else ""))
        else:
            self.results = analyze_study(self.study, self.key, files, n_boot=self.n_boot)
            s = self.results.summary
            simulated = tuple(st.reader_id for st in self.statuses if st.simulated and st.path in files)
            context = study_context(self.study, load_key(self.key), simulated)
            text = " ".join([f"{len(s['readers'])} reader(s), {s['n_pairs']} pairs.", *ai_sentences(s, context)])
            if broken:
                text += f" Left out (broken audit chain): {', '.join(broken)}."
            text = " ".join([text, *mrmc_sentences(self.results), *(f"Note: {n}." for n in s.get("notes", []))])
            self.view.show_results(self.results, text)
        self.view.export_button.setEnabled(self.results is not None)
        self.view.export_button.setToolTip("" if self.results is not None else "No results yet: collect readers' decisions first")

    def collect(self, files: list[str | Path]) -> list[MergeItem]:
        """Merge decisions files from other workstations, show the verdicts, refresh."""
        items: list[MergeItem] = []
        with error_display(self.view, "Collecting decisions files"):
            items = merge_decisions(self.study, list(files), key=self.key)
            self.view.show_merge_report(items)
        self.refresh()
        return items

    def export(self, out_dir: str | Path) -> dict | None:
        """Write every output of ``knee-study analyze`` into ``out_dir``."""
        if self.results is None:
            return None
        with error_display(self.view, "Exporting the results"):
            info = write_outputs(self.results, out_dir, force=True, study=self.study)
            self.view.export_status.setText(
                f"Wrote {len(info['files'])} files to {info['out']}: {', '.join(info['files'])}. {info['pdf']}."
            )
            return info
        return None

    def _ask_collect(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self.view, "Decisions files from other workstations", str(Path.home()), "Decisions (*.sqlite)"
        )
        if files:
            self.collect(files)

    def _ask_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.view, "Export the results into…", str(self.study.parent))
        if folder:
            self.export(Path(folder) / f"results-{self.manifest.study_id}")


def open_coordinator(study: str | Path, key: str | Path) -> tuple[CoordinatorView, CoordinatorController]:
    """Build the view and its controller and load the current state."""
    manifest = load_manifest(study)
    view = CoordinatorView(manifest.title)
    controller = CoordinatorController(study, key, view)
    view.controller = controller  # keep the controller alive with its window
    controller.refresh(force=True)
    timer = QTimer(view)
    timer.timeout.connect(controller.refresh)
    timer.start(REFRESH_MS)
    return view, controller


def main(args: argparse.Namespace) -> int:
    from reader_app.ui.app import create_app

    app = create_app(offscreen=bool(args.screenshot))
    view, _ = open_coordinator(args.study, args.key)
    if args.screenshot:
        from reader_app.ui.screenshot import save_screenshot

        view.tabs.setCurrentIndex(1 if view.results_table.rowCount() else 0)
        save_screenshot(view, args.screenshot)
        view.close()
        print(args.screenshot)
        return 0
    view.show()
    return app.exec()

"""``knee-reader --coordinator STUDY --key KEY``: the coordinator's window (layout only).

Three tabs:

- **Readers**: each decisions file's progress, flags, reading modes, last answer and audit
  chain status; "Collect decisions files…" brings files from other workstations in.
- **Results**: the same analysis as ``knee-study analyze``, drawn with pyqtgraph: the AI's ROC
  curve with each reader as a point, accuracy per stratum with Wilson intervals (the plot data
  of :mod:`studies.analysis.chart_data`, which the report's figures draw too), and the report's
  formatted tables. Simulated readers are marked. It refreshes as decisions files change.
- **Export**: writes every output of ``knee-study analyze``, the PDF report included, to a folder.

With ``--store URL`` (a decisions server) the decisions are the server's rows, and the Readers
tab adds each registered reader's progress, live from the server.

:class:`CoordinatorView` implements
:class:`reader_app.controllers.coordinator.CoordinatorViewLike`; what it shows, enables,
collects and exports is decided by :class:`~reader_app.controllers.coordinator.CoordinatorController`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
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

from reader_app.controllers.coordinator import (
    CoordinatorController,
    ReadersDisplay,
    ResultsDisplay,
    ServerProgressDisplay,
)
from reader_app.controllers.messages import ErrorMessage
from reader_app.ui.errors import show_error
from reader_app.ui.paper_table_view import fill_paper_table
from studies.analysis.chart_data import RocChart, StrataChart
from studies.analysis.paper_tables import PaperTable
from studies.package import load_manifest

SYMBOLS = ("o", "s", "d", "t", "t1", "p", "h", "star", "+", "x")
COLOURS = ("#4e9af1", "#f1a24e", "#5fd37a", "#e25d5d", "#b07ef0", "#e0d25a", "#5ad0e0", "#e07ab8")
AI_COLOUR = "#f0f0f0"
BROKEN_COLOUR = "#ff6b6b"


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
        # the decisions server's live progress (shown only when the decisions come from one)
        self.server_title = QLabel("<b>Live from the decisions server</b>")
        self.server_table = QTableWidget()
        self.server_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.server_status = QLabel()
        for w in (self.server_title, self.server_table, self.server_status):
            w.setVisible(False)
            lay.addWidget(w)
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
        # the legend right of the plot area, not over the bars
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

    # -- actions ---------------------------------------------------------------------------
    def bind_actions(self, *, refresh: Callable[[], None], collect: Callable[[], None],
                     export: Callable[[], None], choose_table: Callable[[str], None]) -> None:
        self.refresh_button.clicked.connect(lambda: refresh())
        self.collect_button.clicked.connect(lambda: collect())
        self.export_button.clicked.connect(lambda: export())
        self.table_choice.currentTextChanged.connect(choose_table)

    def choose_decisions_files(self, start: Path) -> list[Path]:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Decisions files from other workstations", str(start), "Decisions (*.sqlite)"
        )
        return [Path(f) for f in files]

    def choose_export_folder(self, start: Path) -> Path | None:
        folder = QFileDialog.getExistingDirectory(self, "Export the results into…", str(start))
        return Path(folder) if folder else None

    def repeat(self, interval_ms: int, action: Callable[[], None]) -> None:
        timer = QTimer(self)
        timer.timeout.connect(lambda: action())
        timer.start(interval_ms)

    def show_error(self, message: ErrorMessage) -> None:
        show_error(self, message)

    # -- readers ---------------------------------------------------------------------------
    def show_readers(self, readers: ReadersDisplay) -> None:
        _fill_table(self.readers_table, list(readers.header), [list(r.cells) for r in readers.rows])
        for r, row in enumerate(readers.rows):
            if row.tooltip:
                self.readers_table.item(r, 0).setToolTip(row.tooltip)
            if row.broken:
                self.readers_table.item(r, len(row.cells) - 1).setForeground(pg.mkColor(BROKEN_COLOUR))
        self.readers_summary.setText(readers.summary)

    def show_merge_report(self, html: str) -> None:
        self.merge_report.setText(html)

    def set_collect_enabled(self, enabled: bool, tooltip: str) -> None:
        self.collect_button.setEnabled(enabled)
        self.collect_button.setToolTip(tooltip)

    def show_server_progress(self, progress: ServerProgressDisplay) -> None:
        _fill_table(self.server_table, list(progress.header), [list(r) for r in progress.rows])
        self.server_status.setText(progress.status)
        for w in (self.server_title, self.server_table, self.server_status):
            w.setVisible(True)

    def closeEvent(self, event):  # noqa: N802 - Qt's name
        controller = getattr(self, "controller", None)
        if controller is not None:
            controller.close()
        super().closeEvent(event)

    # -- results ---------------------------------------------------------------------------
    def show_results(self, results: ResultsDisplay) -> None:
        self.roc_plot.clear()
        self.strata_plot.clear()
        self.roc_legend.clear()
        self.strata_legend.clear()
        self.roc_curve, self.reader_points, self.strata_bars = None, [], []
        self.results_summary.setText(results.summary)
        if results.roc is not None:
            self._draw_roc(results.roc)
        if results.strata is not None:
            self._draw_strata(results.strata)
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        self.table_choice.addItems(list(results.titles))
        self.table_choice.setCurrentText(results.title)
        self.table_choice.blockSignals(False)
        self.show_table(results.table)

    def show_table(self, table: PaperTable | None) -> None:
        fill_paper_table(self.results_table, table)

    def set_export_enabled(self, enabled: bool, tooltip: str) -> None:
        self.export_button.setEnabled(enabled)
        self.export_button.setToolTip(tooltip)

    def show_export_status(self, text: str) -> None:
        self.export_status.setText(text)

    def _draw_roc(self, chart: RocChart) -> None:
        self.roc_plot.plot([0, 1], [0, 1], pen=pg.mkPen("#666", style=Qt.PenStyle.DotLine))
        if chart.ai is not None:
            lo, hi = chart.ai.ci
            self.roc_curve = self.roc_plot.plot(
                chart.ai.fpr, chart.ai.tpr, pen=pg.mkPen(AI_COLOUR, width=2),
                name=f"AI: AUC {chart.ai.auc:.3f} ({lo:.3f}–{hi:.3f})",
            )
        for p in chart.points:
            colour = COLOURS[p.reader_index % len(COLOURS)]
            item = pg.ScatterPlotItem(
                [p.fpr], [p.tpr], size=11,
                symbol=SYMBOLS[p.condition_index % len(SYMBOLS)],
                brush=pg.mkBrush(None) if p.simulated else pg.mkBrush(colour),
                pen=pg.mkPen(colour, width=2) if p.simulated else pg.mkPen("k"),
                name=p.label,
            )
            self.roc_plot.addItem(item)
            self.reader_points.append(item)

    def _draw_strata(self, chart: StrataChart) -> None:
        for bars in chart.groups:
            colour = AI_COLOUR if bars.ai else COLOURS[bars.index % len(COLOURS)]
            fill = pg.mkColor(colour)
            if bars.simulated:  # simulated readers: a faint bar with a solid outline
                fill.setAlpha(70)
            height = np.nan_to_num(bars.pc)
            item = pg.BarGraphItem(x=bars.x, height=height, width=chart.width, brush=fill,
                                   pen=pg.mkPen(colour), name=bars.label)
            self.strata_plot.addItem(item)
            self.strata_bars.append(item)
            self.strata_plot.addItem(pg.ErrorBarItem(
                x=bars.x, y=height, bottom=np.nan_to_num(bars.err_low), top=np.nan_to_num(bars.err_high),
                beam=chart.width * 0.3, pen=pg.mkPen("#bbb"),
            ))
        self.strata_plot.getAxis("bottom").setTicks([list(enumerate(chart.tick_labels))])
        self.strata_plot.addLine(y=chart.chance, pen=pg.mkPen("#666", style=Qt.PenStyle.DotLine))


def open_coordinator(study: str | Path, key: str | Path, *, store: str | None = None,
                     insecure_tls: bool = False) -> tuple[CoordinatorView, CoordinatorController]:
    """Build the view and its controller and load the current state; ``store``: a decisions
    server's URL to read the decisions (and the live progress) from, None for the study's folder."""
    manifest = load_manifest(study)
    view = CoordinatorView(manifest.title)
    server = progress = None
    if store:
        from reader_app.domain.server_decisions import ServerDecisions
        from reader_app.domain.server_progress import ProgressPoller

        server = ServerDecisions(store, study, insecure_tls=insecure_tls)
        progress = ProgressPoller(store, manifest.study_id, insecure_tls=insecure_tls).start()
        view.setWindowTitle(f"Coordinator — {manifest.title} — {server.backend.address.shown}")
    controller = CoordinatorController(study, key, view, server=server, progress=progress)
    view.controller = controller  # keep the controller alive with its window
    controller.start()
    return view, controller


def main(args: argparse.Namespace) -> int:
    from reader_app.ui.app import create_app

    app = create_app(offscreen=bool(args.screenshot))
    view, _ = open_coordinator(args.study, args.key, store=getattr(args, "store", None),
                               insecure_tls=getattr(args, "insecure_tls", False))
    if args.screenshot:
        from reader_app.ui.screenshot import save_screenshot

        view.tabs.setCurrentIndex(1 if view.results_table.rowCount() else 0)
        save_screenshot(view, args.screenshot)
        view.close()
        print(args.screenshot)
        return 0
    view.show()
    return app.exec()

"""``knee-reader --coordinator --store URL [STUDY]``: progress per reader, live from the
decisions server (a table refreshed on a timer; the polling runs on its own thread)."""

from __future__ import annotations

import argparse

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from reader_app.domain.server_progress import COLUMNS, ProgressPoller, describe, status_line


class ServerProgressView(QWidget):
    """The table and a status line; :meth:`refresh` redraws from the poller's snapshot."""

    def __init__(self, poller: ProgressPoller, *, refresh_ms: int = 1000) -> None:
        super().__init__()
        self.poller = poller
        self.setWindowTitle(f"Study progress — {poller.address.shown}")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.status = QLabel("asking the server…")
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.resize(760, 360)

    def refresh(self) -> None:
        snap = self.poller.snapshot
        rows = describe(snap)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if snap.error or snap.fetched_at:
            self.status.setText(status_line(snap))

    def closeEvent(self, event):  # noqa: N802
        self.timer.stop()
        self.poller.stop()
        super().closeEvent(event)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reader_app.ui.app import create_app

    study_id = None
    if args.study:
        from studies.package import load_manifest

        study_id = load_manifest(args.study).study_id if Path(args.study).is_dir() else args.study
    poller = ProgressPoller(args.store, study_id, insecure_tls=args.insecure_tls).start()
    app = create_app()
    view = ServerProgressView(poller)
    view.show()
    return app.exec()

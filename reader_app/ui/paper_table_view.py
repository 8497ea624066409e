"""A formatted result table (:class:`studies.analysis.paper_tables.PaperTable`) in a Qt table.

The coordinator's Results tab shows the report's own tables: the same titles, column names
and rounded cells as the HTML and PDF. Rows of simulated readers are grey and italic; the
table's notes go under it and into its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from studies.analysis.paper_tables import PaperTable

SIMULATED_COLOUR = QColor("#8a8a8a")


def fill_paper_table(widget: QTableWidget, table: PaperTable | None) -> None:
    """Show ``table`` in ``widget`` (cleared when None)."""
    widget.clear()
    if table is None:
        widget.setRowCount(0)
        widget.setColumnCount(0)
        widget.setToolTip("")
        return
    widget.setColumnCount(len(table.columns))
    widget.setRowCount(len(table.rows))
    widget.setHorizontalHeaderLabels(table.columns)
    italic = QFont(widget.font())
    italic.setItalic(True)
    for r, row in enumerate(table.rows):
        simulated = r in table.simulated_rows
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if simulated:
                item.setForeground(QBrush(SIMULATED_COLOUR))
                item.setFont(italic)
            widget.setItem(r, c, item)
    widget.setToolTip("\n".join(table.notes))
    widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

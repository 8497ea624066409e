"""The manifest's title and question are shown as plain text, never as HTML."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from reader_app.ui.reading_window import ReadingWindow


def test_title_and_question_are_plain_text(qtbot):
    html = '<img src="x"><b>bold</b>'
    win = ReadingWindow(html)
    qtbot.addWidget(win)
    title = win.findChild(QLabel, "studyTitle")
    assert title.textFormat() == Qt.TextFormat.PlainText and title.text() == html
    assert win.question.textFormat() == Qt.TextFormat.PlainText

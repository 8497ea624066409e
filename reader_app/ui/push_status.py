"""The reading window's line about the decisions server: "sent to the server", "saved
locally, N to send", or a conflict. Thin Qt glue around :mod:`reader_app.domain.push`."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from reader_app.domain.push import BackgroundPush, start_push


def attach_push(screen, store_url: str, *, insecure_tls: bool = False, refresh_ms: int = 250) -> BackgroundPush:
    """Start sending ``screen``'s decisions file to the server at ``store_url``: after each
    answer is durable (the session's listeners) and on a timer; show its status in the
    window's status bar. The caller stops it (:meth:`BackgroundPush.stop`) after the window
    closed, which sends the session's end row too."""
    push = start_push(store_url, screen.store.path, insecure_tls=insecure_tls)
    screen.session.subscribe(push.nudge)
    label = QLabel(push.status.text)
    label.setObjectName("hint")
    label.setToolTip("Your answers are saved on this computer first, then sent to the study's server")
    screen.window.statusBar().addPermanentWidget(label)
    timer = QTimer(screen.window)
    timer.setInterval(refresh_ms)

    def refresh() -> None:
        status = push.status
        label.setText(status.text)
        label.setStyleSheet("color: #c0392b; font-weight: bold" if status.conflict else "")

    timer.timeout.connect(refresh)
    timer.start()
    return push

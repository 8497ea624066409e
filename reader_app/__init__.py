"""The radiologist's and the coordinator's desktop app (PySide6 + pyqtgraph).

``domain/`` is plain Python (no Qt, no torch); ``ui/`` holds thin Qt views and controllers.
Importing or starting the app never imports torch (a test enforces it).
"""

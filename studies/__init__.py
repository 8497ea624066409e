"""Knee-MRI reader studies: cohorts, labels, study packages, decisions and statistics.

No Qt, no torch, never ``model`` or ``reader_app`` (a test enforces it).
"""

__version__ = "0.1.0"

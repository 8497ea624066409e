"""``knee-study doctor`` (and ``knee-reader --check``): is this machine ready, and if not, what to do.

Each check returns a :class:`Check`: a name, a status, what was found and how to fix it.
Statuses:

- ``ok``: present and working;
- ``missing``: a requirement is missing (the only status that makes the exit status non-zero);
- ``absent``: an optional part is not installed (what it is for is said);
- ``warning``: works, but something deserves attention (little disk space, no display);
- ``skipped``: not checked unless asked (torch's devices: ``--torch``).

Nothing here imports Qt or torch: packages are found with ``importlib.util.find_spec`` and
``importlib.metadata``, Qt's system libraries by loading them with ``ctypes``, and torch's
devices (``--torch``) and a real Qt start (``--full``) in child processes. The default checks
take well under two seconds.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from studies.doctor import environment, qt, storage
from studies.doctor.check import STATUSES, Check


@dataclass(frozen=True)
class DoctorOptions:
    """What to check: ``study`` and ``cache`` folders (None: the project's defaults), and
    whether to import torch (``torch``) and start Qt for real (``qt_start``) in child processes."""

    study: Path | None = None
    cache: Path | None = None
    torch: bool = False
    qt_start: bool = False


def run_checks(options: DoctorOptions | None = None) -> list[Check]:
    """Every check, in the order they are shown."""
    options = options or DoctorOptions()
    checks = [
        environment.check_python(),
        environment.check_project(),
        environment.check_dependencies(),
        environment.check_simpleitk(),
        *qt.check_qt(start=options.qt_start),
        environment.check_torch(import_it=options.torch),
        environment.check_inference_runtime(),
        environment.check_dcm2niix(),
        environment.check_pdf_engine(),
        environment.check_postgres_client(),
        environment.check_postgres_server(),
        *storage.check_storage(options.study, options.cache),
    ]
    return checks


def failed(checks: list[Check]) -> list[Check]:
    """The checks that make the exit status non-zero (a requirement is missing)."""
    return [c for c in checks if c.status == "missing"]


def exit_status(checks: list[Check]) -> int:
    return 1 if failed(checks) else 0


def to_json(checks: list[Check]) -> str:
    """The checks for scripts: ``{"ok": bool, "platform": ..., "checks": [...]}``."""
    return json.dumps(
        {
            "ok": not failed(checks),
            "platform": _platform(),
            "checks": [asdict(c) for c in checks],
        },
        indent=2,
        default=str,
    )


def render_text(checks: list[Check]) -> str:
    """The checks for people: one line each, the fix indented below what is not ok."""
    width = max((len(c.name) for c in checks), default=0)
    lines = [f"knee-reader-study doctor on {_platform()}"]
    for c in checks:
        lines.append(f"  {c.status.upper():8s} {c.name:{width}s}  {c.detail}")
        if c.status in ("missing", "absent", "warning") and c.purpose:
            lines.append(f"  {'':8s} {'':{width}s}  for: {c.purpose}")
        if c.status != "ok" and c.fix:
            lines.append(f"  {'':8s} {'':{width}s}  fix: {c.fix}")
    bad = failed(checks)
    if bad:
        lines.append(f"{len(bad)} requirement(s) missing: {', '.join(c.name for c in bad)}.")
    else:
        lines.append("Every requirement is met" + (
            " (optional parts marked ABSENT are not needed to build, read or analyse a study)."
            if any(c.status == "absent" for c in checks) else "."
        ))
    return "\n".join(lines)


def _platform() -> str:
    return f"{platform.system()} {platform.machine()}, Python {sys.version.split()[0]}"


__all__ = [
    "STATUSES",
    "Check",
    "DoctorOptions",
    "exit_status",
    "failed",
    "render_text",
    "run_checks",
    "to_json",
]

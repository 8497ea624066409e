"""Doctor checks of Qt: PySide6, the system libraries its platform plugin loads, a display.

On Linux, the PySide6 wheel bundles Qt but not the X11/OpenGL/font libraries of the system;
when one is missing, Qt aborts the whole program with "Could not load the Qt platform plugin
xcb". :data:`QT_LINUX_LIBRARIES` lists what ``plugins/platforms/libqxcb.so`` and the Qt
libraries it loads need (``readelf -d`` / ``ldd`` of PySide6 6.11's plugin, basic C/C++
runtime libraries left out), each with its Debian/Ubuntu and Fedora package. They are found by
loading them with ``ctypes`` (dlopen), which also catches a library whose own dependencies are
missing. On macOS and Windows the wheel brings everything.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from studies.doctor.check import Check


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    debian: str  # Debian / Ubuntu package
    fedora: str  # Fedora / RHEL package
    window_only: bool  # needed by the xcb plugin only (offscreen rendering works without it)


def _lib(soname: str, debian: str, fedora: str, window_only: bool = True) -> SystemLibrary:
    return SystemLibrary(soname, debian, fedora, window_only)


#: What Qt needs from a Linux system (see the module docstring). ``window_only=False``: also
#: needed offscreen (QtGui itself, the offscreen plugin: tests, screenshots).
QT_LINUX_LIBRARIES: tuple[SystemLibrary, ...] = (
    _lib("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    _lib("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    _lib("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    _lib("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    _lib("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    _lib("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    _lib("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    _lib("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    _lib("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    _lib("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    _lib("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    _lib("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    _lib("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    _lib("libxcb.so.1", "libxcb1", "libxcb"),
    _lib("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    _lib("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    _lib("libX11.so.6", "libx11-6", "libX11", window_only=False),
    _lib("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon", window_only=False),
    _lib("libGL.so.1", "libgl1", "libglvnd-glx", window_only=False),
    _lib("libEGL.so.1", "libegl1", "libglvnd-egl", window_only=False),
    _lib("libfontconfig.so.1", "libfontconfig1", "fontconfig", window_only=False),
    _lib("libfreetype.so.6", "libfreetype6", "freetype", window_only=False),
    _lib("libglib-2.0.so.0", "libglib2.0-0", "glib2", window_only=False),
    _lib("libgthread-2.0.so.0", "libglib2.0-0", "glib2", window_only=False),
    _lib("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)


def debian_packages(libs: tuple[SystemLibrary, ...] | list[SystemLibrary] = QT_LINUX_LIBRARIES) -> list[str]:
    return list(dict.fromkeys(lib.debian for lib in libs))


def fedora_packages(libs: tuple[SystemLibrary, ...] | list[SystemLibrary] = QT_LINUX_LIBRARIES) -> list[str]:
    return list(dict.fromkeys(lib.fedora for lib in libs))


def install_commands(libs: list[SystemLibrary]) -> str:
    return (f"`sudo apt install {' '.join(debian_packages(libs))}` (Debian/Ubuntu) or "
            f"`sudo dnf install {' '.join(fedora_packages(libs))}` (Fedora)")


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` and everything it needs."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries() -> list[SystemLibrary]:
    """The Qt system libraries this Linux machine lacks (empty elsewhere)."""
    if not sys.platform.startswith("linux"):
        return []
    return [lib for lib in QT_LINUX_LIBRARIES if not loadable(lib.soname)]


def display_kind() -> str:
    """'offscreen' (QT_QPA_PLATFORM asks for it), 'x11', 'wayland', 'native' (macOS,
    Windows) or 'none' (Linux without DISPLAY and WAYLAND_DISPLAY)."""
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return "offscreen"
    if not sys.platform.startswith("linux"):
        return "native"
    if os.environ.get("DISPLAY"):
        return "x11"
    if os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "none"


def _pyside_dir() -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def check_qt(*, start: bool = False) -> list[Check]:
    """PySide6, Qt's system libraries, a display; with ``start``, a real Qt start in a child."""
    from studies.doctor.environment import INSTALL_FIX, _version

    folder = _pyside_dir()
    version = _version("PySide6-Essentials") or _version("PySide6")
    if folder is None:  # the system's part is checked all the same (before an install, say)
        checks = [Check("PySide6 (Qt)", "missing", "not installed", fix=INSTALL_FIX,
                        purpose="the reader and coordinator windows, and screenshots")]
    else:
        checks = [Check("PySide6 (Qt)", "ok", f"{version or '?'} at {folder}")]
    checks.append(check_qt_libraries(display_kind()))
    checks.append(check_display())
    if start and folder is not None:
        checks.append(check_qt_start())
    return checks


def check_qt_libraries(display: str) -> Check:
    """The system libraries of Qt's platform plugins (Linux).

    Missing offscreen libraries are always a missing requirement (the tests and screenshots
    need them); missing window libraries are one when there is a display to open a window on,
    and a warning on a machine without one.
    """
    name = "Qt system libraries"
    if not sys.platform.startswith("linux"):
        return Check(name, "ok", "bundled in the PySide6 wheel on this system")
    missing = missing_libraries()
    if not missing:
        return Check(name, "ok", f"all {len(QT_LINUX_LIBRARIES)} libraries of Qt's xcb plugin load")
    names = ", ".join(lib.soname for lib in missing)
    fix = install_commands(missing)
    data = {"missing": [lib.soname for lib in missing], "debian": debian_packages(missing),
            "fedora": fedora_packages(missing)}
    if any(not lib.window_only for lib in missing) or display in ("x11", "wayland"):
        return Check(name, "missing", f"not found: {names}", fix=fix, data=data,
                     purpose="opening the reader's window (Qt's xcb plugin)")
    return Check(name, "warning", f"not found: {names}; no window can open here, offscreen rendering works",
                 fix=fix, data=data, purpose="opening the reader's window (Qt's xcb plugin)")


def check_display() -> Check:
    kind = display_kind()
    if kind == "offscreen":
        return Check("Display", "ok", "QT_QPA_PLATFORM asks for offscreen rendering (no window)")
    if kind == "native":
        return Check("Display", "ok", f"the {sys.platform} desktop")
    if kind == "x11":
        return Check("Display", "ok", f"X11 display {os.environ['DISPLAY']}")
    if kind == "wayland":
        return Check("Display", "ok", f"Wayland display {os.environ['WAYLAND_DISPLAY']} (Qt's wayland plugin, or xcb via Xwayland)")
    return Check(
        "Display", "warning", "no DISPLAY or WAYLAND_DISPLAY: no window can open here",
        fix="run on a desktop, with `ssh -X`, or under `xvfb-run`; `knee-reader STUDY --reader ID "
        "--screenshot out.png` and `make demo` render offscreen to a PNG instead",
        purpose="the reader and coordinator windows",
    )


#: A real Qt start, in a child process: Qt aborts the whole process when its plugin cannot load.
QT_PROBE = "from PySide6.QtWidgets import QApplication; app = QApplication([]); print(app.platformName())"


def check_qt_start(timeout: float = 60.0) -> Check:
    """Start a QApplication in a child process: on the display, or offscreen when there is none."""
    env = dict(os.environ)
    if display_kind() == "none":  # no window is possible: at least offscreen rendering must work
        env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        res = subprocess.run([sys.executable, "-c", QT_PROBE], capture_output=True, text=True,
                             timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Qt start", "missing", f"Qt could not be started: {exc}",
                     fix="run `knee-study doctor` without --full and fix what it lists")
    if res.returncode == 0:
        return Check("Qt start", "ok", f"a QApplication started with the '{res.stdout.strip()}' platform plugin")
    lines = [ln.strip() for ln in res.stderr.splitlines() if "qt.qpa" in ln or "plugin" in ln]
    missing = missing_libraries()
    fix = install_commands(missing) if missing else (
        "read Qt's message above; `QT_DEBUG_PLUGINS=1 knee-reader` shows which library fails")
    return Check("Qt start", "missing", " ".join(lines[:2]) or res.stderr.strip()[-300:], fix=fix)

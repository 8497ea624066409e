"""``knee-study doctor`` / ``knee-reader --check``: each check mocked to fail in turn names
what is missing and how to fix it; JSON for scripts; no Qt and no torch imported unless asked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from studies import doctor
from studies.doctor import DoctorOptions, environment, qt, storage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def opts(tmp_path) -> DoctorOptions:
    return DoctorOptions(study=tmp_path / "study", cache=tmp_path / "cache")


def _by_name(checks) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def _linux_with(monkeypatch, display: str | None, missing: set[str]) -> None:
    """A Linux machine whose dynamic loader lacks ``missing``, with or without an X display."""
    monkeypatch.setattr(qt.sys, "platform", "linux")
    monkeypatch.setattr(qt, "loadable", lambda soname: soname not in missing)
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", display)


def _all_present(monkeypatch) -> None:
    """Every optional part present too, so that a scenario changes exactly one check."""
    _linux_with(monkeypatch, ":0", set())
    real = environment._has_module
    monkeypatch.setattr(environment, "_has_module", lambda m: m in ("onnxruntime", "reportlab", "psycopg") or real(m))
    monkeypatch.setattr(environment, "check_dcm2niix", lambda: doctor.Check("dcm2niix", "ok", "/usr/bin/dcm2niix"))
    monkeypatch.setattr(environment, "postgres_bin_dirs", lambda: ["/usr/lib/postgresql/16/bin"])


def _python_too_old(mp, tmp):
    mp.setattr(environment, "PYTHON_MIN", (99, 1))


def _dependency_missing(mp, tmp):
    mp.setattr(environment, "_requirements", lambda: [("numpy", "numpy>=1"), ("no-such-dist-zz", "no-such-dist-zz>=1")])


def _dependency_too_old(mp, tmp):
    mp.setattr(environment, "_requirements", lambda: [("numpy", "numpy<1.0")])


def _simpleitk_missing(mp, tmp):
    real = environment._has_module
    mp.setattr(environment, "_has_module", lambda m: m != "SimpleITK" and (m in ("onnxruntime", "reportlab", "psycopg") or real(m)))


def _torch_missing(mp, tmp):
    real = environment._version
    mp.setattr(environment, "_version", lambda d: None if d == "torch" else real(d))


def _pyside_missing(mp, tmp):
    mp.setattr(qt, "_pyside_dir", lambda: None)


def _window_library_missing(mp, tmp):
    _linux_with(mp, ":0", {"libxcb-cursor.so.0", "libxcb-icccm.so.4"})


def _offscreen_library_missing(mp, tmp):
    _linux_with(mp, None, {"libGL.so.1"})
    mp.setenv("QT_QPA_PLATFORM", "offscreen")  # a server rendering offscreen still needs QtGui's libraries


def _study_not_writable(mp, tmp):
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    (tmp / "study").mkdir()
    mp.setattr(storage.tempfile, "NamedTemporaryFile", refuse)


def _study_under_a_file(mp, tmp):
    (tmp / "study").write_text("a file where the study folder should be")
    mp.setattr(doctor, "DoctorOptions", DoctorOptions)


def _little_space(mp, tmp):
    usage = namedtuple("usage", "total used free")
    mp.setattr(storage.shutil, "disk_usage", lambda p: usage(10 * storage.GIB, 9.5 * storage.GIB, storage.GIB // 2))


#: (scenario, check name, status, words the detail or fix must hold)
FAILURES = [
    (_python_too_old, "Python", "missing", ["99.1", "make clean install"]),
    (_dependency_missing, "Python packages", "missing", ["no-such-dist-zz", "pip install -e ."]),
    (_dependency_too_old, "Python packages", "missing", ["numpy", "wrong version", "numpy<1.0"]),
    (_simpleitk_missing, "SimpleITK", "missing", ["not installed", "make install"]),
    (_torch_missing, "torch", "missing", ["not installed", "make install"]),
    (_pyside_missing, "PySide6 (Qt)", "missing", ["not installed", "make install"]),
    (_window_library_missing, "Qt system libraries", "missing",
     ["libxcb-cursor.so.0", "sudo apt install libxcb-cursor0 libxcb-icccm4", "sudo dnf install xcb-util-cursor xcb-util-wm"]),
    (_offscreen_library_missing, "Qt system libraries", "missing", ["libGL.so.1", "libgl1", "libglvnd-glx"]),
    (_study_not_writable, "Study folder", "missing", ["cannot create a file", "--study"]),
    (_study_under_a_file, "Study folder", "missing", ["is not a folder", "--study"]),
    (_little_space, "Study folder", "warning", ["0.5 GiB free", "free some space"]),
]


@pytest.mark.parametrize(("scenario", "name", "status", "words"), FAILURES, ids=[f[0].__name__[1:] for f in FAILURES])
def test_each_check_failing_alone_names_the_problem_and_its_fix(monkeypatch, opts, tmp_path, scenario, name, status, words):
    _all_present(monkeypatch)
    before = _by_name(doctor.run_checks(opts))
    assert all(c.status == "ok" for c in before.values()), [c for c in before.values() if c.status != "ok"]
    scenario(monkeypatch, tmp_path)
    after = doctor.run_checks(opts)
    changed = [c for c in after if c.status != "ok"]
    if name == "Study folder" and status == "warning":  # the cache lives on the same (mocked) disk
        changed = [c for c in changed if c.name == name]
    assert [c.name for c in changed] == [name], changed
    check = changed[0]
    assert check.status == status
    text = f"{check.detail} {check.fix}"
    for w in words:
        assert w in text, (w, text)
    assert doctor.exit_status(after) == (1 if status == "missing" else 0)
    rendered = doctor.render_text(after)
    assert f"{status.upper():8s} {name}" in rendered and "fix: " in rendered


def test_window_libraries_missing_without_a_display_is_a_warning_not_a_failure(monkeypatch, opts):
    _all_present(monkeypatch)
    _linux_with(monkeypatch, None, {"libxcb-keysyms.so.1"})
    checks = _by_name(doctor.run_checks(opts))
    libs = checks["Qt system libraries"]
    assert libs.status == "warning" and "libxcb-keysyms1" in libs.fix and "xcb-util-keysyms" in libs.fix
    assert libs.data["missing"] == ["libxcb-keysyms.so.1"]
    assert checks["Display"].status == "warning" and "xvfb-run" in checks["Display"].fix
    assert doctor.exit_status(list(checks.values())) == 0


def test_macos_and_windows_need_no_system_libraries(monkeypatch):
    monkeypatch.setattr(qt.sys, "platform", "darwin")
    monkeypatch.setattr(qt, "loadable", lambda soname: pytest.fail("no library lookups off Linux"))
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert qt.missing_libraries() == []
    assert qt.check_qt_libraries(qt.display_kind()).status == "ok"
    assert qt.check_display().status == "ok"


@pytest.mark.parametrize(
    ("check", "words"),
    [
        (environment.check_inference_runtime, ["onnxruntime", "bulk feature extraction"]),
        (environment.check_pdf_engine, ["reportlab", "report.pdf"]),
        (environment.check_postgres_client, ["psycopg", "multi-site"]),
        (environment.check_postgres_server, ["postgresql", "multi-site tests"]),
        (environment.check_dcm2niix, ["dcm2niix", "cross-check"]),
    ],
)
def test_optional_parts_absent_say_what_they_are_for_and_never_fail(monkeypatch, check, words):
    monkeypatch.setattr(environment, "_has_module", lambda m: False)
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    monkeypatch.setattr(environment, "_venv_script", lambda name: None)
    monkeypatch.setattr(environment, "POSTGRES_GLOBS", ())
    c = check()
    assert c.status == "absent"
    text = f"{c.detail} {c.fix} {c.purpose}"
    assert c.fix.startswith("optional:") and all(w in text for w in words), text
    assert doctor.exit_status([c]) == 0


def test_postgres_server_binaries_are_found_in_debian_folders(tmp_path, monkeypatch):
    bin_dir = tmp_path / "postgresql" / "16" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (bin_dir / name).write_text("")
    (tmp_path / "postgresql" / "15" / "bin").mkdir(parents=True)  # no programs: not listed
    monkeypatch.setattr(environment, "POSTGRES_GLOBS", (str(tmp_path / "postgresql" / "*" / "bin"),))
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    c = environment.check_postgres_server()
    assert c.status == "ok" and c.data["bin_dirs"] == [str(bin_dir)]


def test_torch_is_probed_only_when_asked_and_its_failure_is_explained(monkeypatch):
    monkeypatch.setattr(environment.subprocess, "run", lambda *a, **k: pytest.fail("torch probed unasked"))
    c = environment.check_torch(import_it=False)
    assert c.status == "ok" and "--torch" in c.detail
    monkeypatch.undo()
    monkeypatch.setattr(environment, "TORCH_PROBE",
                        "import sys; sys.stderr.write('OSError: libtorch_cpu.so: cannot open shared object file\\n'); sys.exit(1)")
    c = environment.check_torch(import_it=True)
    assert c.status == "missing" and "libtorch_cpu.so" in c.detail and "--force-reinstall torch" in c.fix


def test_torch_devices_are_listed(monkeypatch):
    monkeypatch.setattr(environment, "TORCH_PROBE", "import json; print(json.dumps("
                        "{'version': '9.9', 'cuda': ['NVIDIA H200'], 'mps': False, 'threads': 4}))")
    c = environment.check_torch(import_it=True)
    assert c.status == "ok" and "CUDA NVIDIA H200" in c.detail and "9.9" in c.detail
    monkeypatch.setattr(environment, "TORCH_PROBE", "import json; print(json.dumps("
                        "{'version': '9.9', 'cuda': [], 'mps': False, 'threads': 2}))")
    assert "no GPU" in environment.check_torch(import_it=True).detail


def test_a_qt_start_that_fails_shows_qts_message_and_the_packages(monkeypatch):
    monkeypatch.setattr(qt, "QT_PROBE", "import sys; sys.stderr.write('qt.qpa.plugin: Could not load the Qt platform plugin \"xcb\"\\n'); sys.exit(134)")
    _linux_with(monkeypatch, ":0", {"libxcb-cursor.so.0"})
    c = qt.check_qt_start()
    assert c.status == "missing" and 'plugin "xcb"' in c.detail and "libxcb-cursor0" in c.fix


def test_cache_size_is_summed_and_a_slow_sum_says_at_least(tmp_path):
    cache = tmp_path / "cache"
    (cache / "features").mkdir(parents=True)
    (cache / "features" / "a.npy").write_bytes(b"x" * 3_000_000)
    (cache / "b").write_bytes(b"y" * 1000)
    c = storage.check_cache_size("Model cache size", cache)
    assert c.data == {"bytes": 3_001_000, "files": 2, "complete": True} and "3 MiB in 2 files" in c.detail
    size, files, complete = storage.folder_size(cache, time_limit=-1)
    assert not complete
    absent = storage.check_cache_size("Model cache size", tmp_path / "none")
    assert absent.status == "ok" and "not created yet" in absent.detail


def test_the_demos_own_cache_is_reported_when_it_exists(tmp_path):
    (tmp_path / "demo" / "model-cache").mkdir(parents=True)
    names = [c.name for c in storage.check_storage(tmp_path / "demo", tmp_path / "cache")]
    assert names == ["Study folder", "Model cache", "Model cache size", "Demo's model cache size"]


def test_the_default_cache_follows_knee_model_cache(monkeypatch, tmp_path):
    from studies.locations import default_model_cache

    monkeypatch.setenv("KNEE_MODEL_CACHE", str(tmp_path / "c"))
    assert default_model_cache() == tmp_path / "c"
    checks = storage.check_storage(None, None)
    assert checks[1].data["path"] == str(tmp_path / "c")


def test_json_form_for_scripts_and_the_exit_status(monkeypatch, opts, capsys):
    from studies.cli import main

    _all_present(monkeypatch)
    args = ["doctor", "--json", "--study", str(opts.study), "--cache", str(opts.cache)]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and {c["status"] for c in data["checks"]} == {"ok"}
    names = [c["name"] for c in data["checks"]]
    assert names[:4] == ["Python", "Project", "Python packages", "SimpleITK"] and "Model cache size" in names
    assert set(data["checks"][0]) == {"name", "status", "detail", "fix", "purpose", "data"}

    _window_library_missing(monkeypatch, None)
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    bad = [c for c in data["checks"] if c["status"] != "ok"]
    assert data["ok"] is False and [c["name"] for c in bad] == ["Qt system libraries"]
    assert bad[0]["data"]["debian"] == ["libxcb-cursor0", "libxcb-icccm4"]


def test_knee_reader_check_runs_the_same_checks(monkeypatch, opts, capsys):
    from reader_app.main import main

    _all_present(monkeypatch)
    _window_library_missing(monkeypatch, None)
    assert main(["--check", "--study", str(opts.study), "--cache", str(opts.cache)]) == 1
    out = capsys.readouterr().out
    assert "MISSING  Qt system libraries" in out and "sudo apt install libxcb-cursor0 libxcb-icccm4" in out


def test_the_library_table_covers_what_the_installed_xcb_plugin_needs():
    """Every system library the installed libqxcb.so (and the Qt libraries it loads) names is
    in the table, so a PySide6 upgrade that needs a new one fails here."""
    folder = qt._pyside_dir()
    readelf = shutil.which("readelf")
    if not sys.platform.startswith("linux") or folder is None or readelf is None:
        pytest.skip("needs Linux, PySide6 and readelf")
    qtdir = folder / "Qt"
    files = [qtdir / "plugins" / "platforms" / "libqxcb.so", qtdir / "plugins" / "platforms" / "libqoffscreen.so",
             *(qtdir / "lib" / f"libQt6{m}.so.6" for m in ("XcbQpa", "Gui", "Core", "DBus", "Widgets"))]
    needed = set()
    for f in files:
        out = subprocess.run([readelf, "-d", str(f)], capture_output=True, text=True, check=True).stdout
        needed |= {line.split("[")[1].split("]")[0] for line in out.splitlines() if "(NEEDED)" in line}
    base = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libdl.so.2", "libpthread.so.0",
            "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libz.so.1", "libzstd.so.1"}
    system = {n for n in needed if not n.startswith(("libQt6", "libicu", "libpyside", "libshiboken"))} - base
    table = {lib.soname for lib in qt.QT_LINUX_LIBRARIES}
    assert system - table == set(), f"add to QT_LINUX_LIBRARIES: {sorted(system - table)}"


@pytest.mark.parametrize(("module", "first"), [("studies.cli", "doctor"), ("reader_app.main", "--check")])
def test_default_doctor_imports_neither_torch_nor_qt_and_is_quick(tmp_path, module, first):
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        f"from {module} import main\n"
        f"rc = main([{first!r}, '--json', '--study', {str(tmp_path / 's')!r}, '--cache', {str(tmp_path / 'c')!r}])\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'timm', 'pyqtgraph', 'model'))\n"
        "print('RESULT', rc, round(elapsed, 3), ','.join(heavy), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("RESULT")]
    assert line, res.stderr
    _, rc, elapsed, heavy = (line[0].split(" ") + [""])[:4]
    assert heavy == "", f"doctor imported {heavy}"
    assert float(elapsed) < 5.0, f"doctor took {elapsed} s"
    data = json.loads(res.stdout)
    assert int(rc) == (0 if data["ok"] else 1)
    assert {c["status"] for c in data["checks"]} <= set(doctor.STATUSES)


def test_doctor_runs_before_the_install_and_lists_what_to_install(tmp_path):
    """A Python without the project's packages (site-packages off: -S) still gets the report."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["--json", "--study", str(tmp_path / "s"), "--cache", str(tmp_path / "c")]
    res = subprocess.run([sys.executable, "-S", "-m", "studies.doctor", *args], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1, res.stderr
    checks = {c["name"]: c for c in json.loads(res.stdout)["checks"]}
    assert checks["Python packages"]["status"] == "missing" and "numpy" in checks["Python packages"]["detail"]
    for name in ("SimpleITK", "PySide6 (Qt)", "torch"):
        assert checks[name]["status"] == "missing" and "make install" in checks[name]["fix"]
    # an editable install leaves its metadata (*.egg-info) in the source tree, where -S still finds it
    built_here = any(REPO.glob("*.egg-info"))
    assert checks["Project"]["status"] == ("ok" if built_here else "warning")
    assert "Qt system libraries" in checks  # the system's part is checked before the install too


@pytest.mark.parametrize(("caps", "words"), [(["FP32", "BF16"], "bfloat16 is available"),
                                             (["FP32", "INT8"], "float32 only")])
def test_the_runtime_check_says_whether_bfloat16_is_available(monkeypatch, caps, words):
    import sys
    import types

    core = types.SimpleNamespace(get_property=lambda device, name: caps)
    monkeypatch.setitem(sys.modules, "openvino", types.SimpleNamespace(Core=lambda: core))
    monkeypatch.setattr(environment, "_has_module", lambda m: m == "openvino")
    check = environment.check_inference_runtime()
    assert check.status == "ok" and words in check.detail

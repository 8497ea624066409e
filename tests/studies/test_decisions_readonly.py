"""Verify, export, analyze and the coordinator read decisions files
read-only: nothing is created or changed beside the file (no -wal/-shm left behind), and
they work in a read-only folder and as a user without write rights."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from study_factory import make_study

from studies.cli import main
from studies.decisions import DecisionStore, export_decisions, read_decisions, verify_file
from studies.decisions.provenance import is_simulated
from studies.decisions.simulate import simulate_reader
from studies.errors import InputFileError
from studies.package import decisions_path, load_manifest

REPO = Path(__file__).resolve().parents[2]


def _state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder`` with its content hash and modification time."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture()
def collected(tmp_path):
    tiny = make_study(tmp_path, n_pairs=4, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    simulate_reader(tiny.study, tiny.key, "r2", 0.6, seed=2)
    return tiny


def test_reading_tools_leave_the_decisions_folder_untouched(collected, tmp_path, capsys):
    folder = collected.study / "decisions"
    files = sorted(folder.glob("*.sqlite"))
    before = _state(folder)
    assert not any(name.endswith(("-wal", "-shm")) for name in before)
    for f in files:
        assert verify_file(f).ok
        assert len(read_decisions(f)) == 4
        assert is_simulated(f)
    export_decisions(files, tmp_path / "out.csv")
    assert main(["verify-decisions", *map(str, files)]) == 0
    from reader_app.domain.coordination import reader_statuses

    assert all(s.chain_ok for s in reader_statuses(collected.study))
    assert main(["analyze", "--study", str(collected.study), "--key", str(collected.key),
                 "--out", str(tmp_path / "results"), "--no-pdf", "--include-simulated"]) == 0
    capsys.readouterr()
    assert _state(folder) == before


def test_reading_tools_work_in_a_read_only_folder(collected, tmp_path):
    folder = collected.study / "decisions"
    files = sorted(folder.glob("*.sqlite"))
    before = _state(folder)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        for f in files:
            assert verify_file(f).ok and len(read_decisions(f)) == 4
    finally:
        os.chmod(folder, 0o755)
    assert _state(folder) == before


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0,
                    reason="needs root and setpriv to run a step as an unprivileged user")
def test_an_unprivileged_user_can_verify_and_export_a_read_only_copy(collected):
    root = Path(tempfile.mkdtemp(prefix="knee-ro-"))
    out = Path(tempfile.mkdtemp(prefix="knee-ro-out-"))
    try:
        os.chmod(root, 0o755)
        shutil.copytree(collected.study / "decisions", root / "decisions")
        os.chmod(out, 0o777)
        for p in [root / "decisions", *(root / "decisions").iterdir()]:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        before = _state(root)
        files = [str(p) for p in sorted((root / "decisions").glob("*.sqlite"))]
        code = (
            "import sys; from studies.cli import main; "
            f"rc = main(['verify-decisions', *{files!r}]); "
            f"rc2 = main(['export-decisions', *{files!r}, '--out', {str(out / 'd.csv')!r}]); "
            "sys.exit(rc or rc2)"
        )
        run = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
            cwd=root, capture_output=True, text=True, timeout=300,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(out)},
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "OK, audit chain intact" in run.stdout
        assert (out / "d.csv").is_file()
        assert _state(root) == before
    finally:
        for p in root.rglob("*"):
            os.chmod(p, 0o755)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def test_a_live_file_in_a_read_only_folder_is_a_clean_error(collected):
    """A reader killed mid-session leaves a -wal; on a read-only folder SQLite cannot read
    it, and the error says what to do (copy both files)."""
    path = decisions_path(collected.study, "r3")
    manifest = load_manifest(collected.study)
    store = DecisionStore.open(path, "r3", manifest)  # kept open: the -wal stays
    store.session_start("unaided")
    folder = path.parent
    try:
        assert path.with_name(path.name + "-wal").exists()
        assert verify_file(path).ok  # readable while the reader reads (writable folder)
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
        try:
            verify_file(path)  # root may still manage; anyone else gets the clean error
        except InputFileError as exc:
            assert "-wal" in str(exc)
    finally:
        os.chmod(folder, 0o755)
        store.close()

"""Property-based fuzzing of the cohort readers (both OAI download styles, the variable map
override): a clean StudyError or a knee table, never another exception.

Each example damages one file of a small hand-written download (a cell, a line, the header,
random bytes, a cut) and reads the folder again. Example counts are bounded
(``FUZZ_EXAMPLES``, default 40 each) so this runs within ``make test``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_quirks import nda_cohort, oai_cohort

from studies.cohort import IngestOptions, load_cohort
from studies.errors import StudyError
from studies.labels import make_labels

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", ".", ".D: Don't Know", "1: Right", "2: 2", "-1", "1e308", "nan", "inf", "\t", '"', "|",
                     "00m/../..", "9000001", "V99", "0.00"]),
)


def _texts(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".txt", ".csv"))


def _damage(path: Path, how: str, cell: str, where: float) -> None:
    raw = path.read_bytes()
    text = raw.decode("utf-8", "replace")
    lines = text.splitlines()
    i = min(len(lines) - 1, int(where * len(lines)))
    sep = "\t" if "\t" in text else "|" if "|" in text else ","
    if how == "cell":
        parts = lines[i].split(sep)
        parts[min(len(parts) - 1, int(where * 7) % max(len(parts), 1))] = cell
        lines[i] = sep.join(parts)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    elif how == "drop_line":
        del lines[i]
        path.write_text("\n".join(lines) + "\n")
    elif how == "cut":
        path.write_bytes(raw[: int(where * len(raw))])
    elif how == "bytes":
        path.write_bytes(os.urandom(int(where * 300)))
    elif how == "header":
        lines[0] = lines[0].replace(sep, sep + cell, 1)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")


def _read(root: Path, style: str | None = None) -> None:
    try:
        c = load_cohort(root, IngestOptions(style=style))
    except StudyError as exc:
        assert str(exc).strip()  # a message a user can act on, never empty
        return
    make_labels(c.knees, jsw_readings=c.jsw_readings)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz-cohort")
    return {"oai": oai_cohort(base / "oai"), "nda": nda_cohort(base / "nda")}


@pytest.mark.parametrize("style", ["oai", "nda"])
@FUZZ
@given(pick=st.floats(0, 0.999), how=st.sampled_from(["cell", "drop_line", "cut", "bytes", "header"]),
       cell=CELLS, where=st.floats(0, 1))
def test_a_damaged_table_or_index_is_a_clean_error_or_a_reading(downloads, tmp_path, style, pick, how, cell, where):
    root = tmp_path / "c"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(downloads[style], root)
    files = _texts(root)
    _damage(files[int(pick * len(files))], how, cell, where)
    _read(root, style)


@FUZZ
@given(text=st.text(max_size=200))
def test_a_hostile_variables_file_is_a_clean_error(downloads, tmp_path, text):
    for suffix in (".toml", ".csv"):
        f = tmp_path / f"vars{suffix}"
        f.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_cohort(downloads["oai"], IngestOptions(variables=f))
        except StudyError:
            pass

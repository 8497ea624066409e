"""Review findings on the coordinator's domain (no Qt)."""

from __future__ import annotations

from study_factory import make_study

from reader_app.domain.coordination import analyzable, reader_statuses
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_dir


def test_a_damaged_file_is_listed_and_does_not_hide_the_others(tmp_path):
    """One unreadable file in decisions/ (a failed copy, a damaged disk) must show up as a
    broken row, not make the whole readers table fail."""
    tiny = make_study(tmp_path, n_pairs=4, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    (decisions_dir(tiny.study) / "r2.sqlite").write_bytes(b"half a copy" * 10)
    statuses = reader_statuses(tiny.study)
    by_id = {s.reader_id: s for s in statuses}
    assert by_id["r1"].chain_ok and by_id["r1"].answered == 4
    assert not by_id["r2"].chain_ok and "r2.sqlite" in by_id["r2"].chain_reason
    assert [p.name for p in analyzable(statuses)] == ["r1.sqlite"]

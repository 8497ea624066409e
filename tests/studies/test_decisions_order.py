"""Per-reader order: seeded, stored, practice first, left/right balanced."""

from __future__ import annotations

from study_factory import make_study

from studies.decisions import DecisionStore, reader_order, reader_seed
from studies.package import decisions_path


def test_order_is_deterministic_per_reader_and_differs_between_readers(tmp_path):
    m = make_study(tmp_path, n_pairs=20, n_practice=2, with_images=False).manifest
    a1, a2, b = reader_order(m, "r1"), reader_order(m, "r1"), reader_order(m, "r2")
    assert a1 == a2
    assert [p.pair_id for p in a1] != [p.pair_id for p in b]
    assert reader_seed(m.study_id, "r1") != reader_seed(m.study_id, "r2")


def test_practice_first_every_pair_once_cases_kept(tmp_path):
    m = make_study(tmp_path, n_pairs=9, n_practice=3, with_images=False).manifest
    order = reader_order(m, "reader-7")
    assert [p.pair_id for p in order[:3]] == [p.pair_id for p in m.practice_pairs]
    assert all(p.practice for p in order[:3]) and not any(p.practice for p in order[3:])
    assert sorted(p.pair_id for p in order[3:]) == sorted(p.pair_id for p in m.pairs)
    for p in order:
        assert {p.left_case, p.right_case} == set(m.pair(p.pair_id).cases)


def test_first_listed_case_is_left_in_exactly_half_the_scored_pairs(tmp_path):
    m = make_study(tmp_path, n_pairs=30, with_images=False).manifest
    for reader in ("a", "b", "c", "d"):
        order = reader_order(m, reader)
        on_left = sum(p.left_case == m.pair(p.pair_id).cases[0] for p in order)
        assert on_left == 15
    odd = make_study(tmp_path / "odd", n_pairs=7, with_images=False).manifest
    on_left = sum(p.left_case == odd.pair(p.pair_id).cases[0] for p in reader_order(odd, "x"))
    assert on_left in (3, 4)


def test_progressor_side_balanced_over_a_study(tmp_path):
    """The study builder lists cases in random order, so the progressor lands left about half the time."""
    s = make_study(tmp_path, n_pairs=60, with_images=False)
    order = reader_order(s.manifest, "r1")
    left = sum(p.left_case == s.progressors[p.pair_id] for p in order)
    assert 18 <= left <= 42


def test_resuming_never_reshuffles_even_if_the_seed_function_changes(tmp_path, monkeypatch):
    s = make_study(tmp_path, n_pairs=12, with_images=False)
    path = decisions_path(s.study, "r1")
    with DecisionStore.open(path, "r1", s.manifest) as store:
        first = list(store.order)
        seed = store.seed
    import studies.decisions.store as store_mod

    monkeypatch.setattr(store_mod, "reader_seed", lambda *a: 12345)
    with DecisionStore.open(path, "r1", s.manifest) as store:
        assert store.order == first and store.seed == seed
    assert seed == reader_seed(s.manifest.study_id, "r1")

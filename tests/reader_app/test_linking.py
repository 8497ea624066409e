"""Relative linking of slices and of the visible region between knees of different sizes."""

from __future__ import annotations

import pytest

from reader_app.domain.linking import (
    Rect,
    linked_rect,
    linked_slice,
    relative_offset,
    relative_slice,
    slice_at,
)


def test_middle_maps_to_middle_and_ends_to_ends():
    assert linked_slice(18, 36, 40) == 20
    assert linked_slice(0, 36, 160) == 2  # same relative position, not index 0 of a thicker stack
    assert linked_slice(35, 36, 160) == 157
    assert linked_slice(35, 36, 36) == 35


def test_identical_stacks_link_by_index_and_round_trip():
    for i in range(40):
        assert linked_slice(i, 40, 40) == i
        assert linked_slice(linked_slice(i, 40, 80), 80, 40) == i


def test_out_of_range_is_clamped_and_empty_stack_refused():
    assert slice_at(1.5, 10) == 9 and slice_at(-0.2, 10) == 0
    assert relative_slice(99, 10) == pytest.approx(0.95)
    with pytest.raises(ValueError):
        linked_slice(0, 0, 10)


def test_zoomed_region_links_relatively():
    a = Rect(0, 0, 100, 200)
    b = Rect(10, 20, 50, 100)
    view = Rect(25, 50, 50, 100)  # the centre quarter of A
    got = linked_rect(view, a, b)
    assert got == Rect(22.5, 45.0, 25.0, 50.0)
    with pytest.raises(ValueError):
        linked_rect(view, Rect(0, 0, 0, 10), b)


def test_offset_round_trips_an_alignment_between_different_stacks():
    off = relative_offset(10, 36, 30, 72)  # B aligned by hand a little further than A
    assert linked_slice(10, 36, 72, off) == 30
    assert linked_slice(30, 72, 36, -off) == 10
    assert linked_slice(35, 36, 72, off) == 71  # still clamped to the stack

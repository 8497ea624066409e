"""Linking views of two knees whose volumes differ in size: slices, and zoom/pan, by relative position.

Knee A may have 36 coronal slices and knee B 40; linking by index would drift apart. Linked
views instead share a *relative* position: slice ``i`` of ``n`` sits at ``(i + 0.5) / n`` of
the stack, and a visible rectangle is expressed as fractions of the image's extent. When the
reader aligned the two stacks by hand before linking them, the link keeps that offset.
"""

from __future__ import annotations

from dataclasses import dataclass


def relative_slice(index: int, count: int) -> float:
    """Position of slice ``index`` (0-based) in a stack of ``count``, in (0, 1)."""
    if count < 1:
        raise ValueError(f"a stack needs at least one slice, got {count}")
    index = min(max(index, 0), count - 1)
    return (index + 0.5) / count


def slice_at(relative: float, count: int) -> int:
    """Slice index of ``count`` at relative position ``relative`` (clamped to the stack)."""
    if count < 1:
        raise ValueError(f"a stack needs at least one slice, got {count}")
    return min(max(int(relative * count), 0), count - 1)


def linked_slice(index: int, count: int, other_count: int, offset: float = 0.0) -> int:
    """Slice of a stack of ``other_count`` at the relative position of ``index`` of ``count``
    plus ``offset`` (a fraction of the stack: the reader's own alignment of the two knees)."""
    return slice_at(relative_slice(index, count) + offset, other_count)


def relative_offset(index: int, count: int, other_index: int, other_count: int) -> float:
    """How far (in fractions of a stack) ``other_index`` sits from ``index``'s relative position.

    Taken when the reader links two views they aligned by hand, so linked scrolling keeps
    their alignment (:func:`linked_slice` with this ``offset`` maps ``index`` back to ``other_index``).
    """
    return relative_slice(other_index, other_count) - relative_slice(index, count)


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: ``x``, ``y`` of one corner, ``width``, ``height`` (any units)."""

    x: float
    y: float
    width: float
    height: float


def to_relative_rect(view: Rect, extent: Rect) -> Rect:
    """``view`` as fractions of ``extent`` (the image's own rectangle)."""
    if extent.width <= 0 or extent.height <= 0:
        raise ValueError(f"image extent must have a positive size, got {extent}")
    return Rect(
        (view.x - extent.x) / extent.width,
        (view.y - extent.y) / extent.height,
        view.width / extent.width,
        view.height / extent.height,
    )


def from_relative_rect(relative: Rect, extent: Rect) -> Rect:
    """Inverse of :func:`to_relative_rect` for another image's ``extent``."""
    return Rect(
        extent.x + relative.x * extent.width,
        extent.y + relative.y * extent.height,
        relative.width * extent.width,
        relative.height * extent.height,
    )


def linked_rect(view: Rect, extent: Rect, other_extent: Rect) -> Rect:
    """The rectangle of ``other_extent`` that shows the same relative region as ``view`` of ``extent``."""
    return from_relative_rect(to_relative_rect(view, extent), other_extent)

"""Each Qt view implements its controller's view protocol: every method the controller may
call exists on the view and takes the same arguments (the controller tests mock the protocol, so a
view that drifted from it would pass them and fail in the app)."""

from __future__ import annotations

import inspect

import pytest

from reader_app.controllers.coordinator import CoordinatorViewLike
from reader_app.controllers.hanging import ImageViewLike
from reader_app.controllers.reading import ReadingViewLike


def members(protocol: type) -> list[str]:
    return sorted(n for n in vars(protocol) if not n.startswith("_"))


def parameters(fn) -> list[tuple[str, object]]:
    """Kinds of the parameters, and the names of those passed by keyword (controllers pass
    the others by position)."""
    return [
        (p.name if p.kind is p.KEYWORD_ONLY else "", p.kind) for p in inspect.signature(fn).parameters.values()
    ]


def views():
    from reader_app.ui.coordinator import CoordinatorView
    from reader_app.ui.reading_window import ReadingWindow
    from reader_app.ui.slice_view import SliceView

    return [(CoordinatorViewLike, CoordinatorView), (ReadingViewLike, ReadingWindow), (ImageViewLike, SliceView)]


@pytest.mark.parametrize("index", range(3))
def test_the_qt_view_has_every_protocol_method_with_its_parameters(index):
    protocol, view = views()[index]
    assert len(members(protocol)) >= 8
    for name in members(protocol):
        assert hasattr(view, name), f"{view.__name__} lacks {name}"
        wanted, got = getattr(protocol, name), getattr(view, name)
        if isinstance(wanted, property):
            assert isinstance(got, property), f"{view.__name__}.{name} must be a property"
            continue
        assert parameters(got) == parameters(wanted), f"{view.__name__}.{name}"

"""The next pair readied while the reader reads: its first slices windowed in idle time, so
that confirming draws them without windowing, with exactly the pixels windowing would give;
nothing on screen changes while readying, and a slice readied for other levels is not used."""

from __future__ import annotations

import numpy as np
from study_factory import make_study
from uihelpers import image_item_pixels, reading_window, shown_slice_view

from reader_app.domain.clinical import clinical_texts
from reader_app.domain.windowing import window_rgb32

COR, SAG = "cor_iw_tse", "sag_3d_dess"


def _view(qtbot):
    return shown_slice_view(qtbot, COR, "COR", size=(300, 300))


def test_a_readied_slice_is_drawn_as_windowing_would_and_readying_changes_nothing_shown(qtbot):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 1000, (5, 30, 40)).astype(np.int16)
    b = rng.integers(0, 1000, (7, 30, 40)).astype(np.int16)
    view = _view(qtbot)
    view.set_volume(a, (0.5, 0.5))
    view.show_slice(2, (100.0, 900.0))
    shown = image_item_pixels(view)
    view.prepare_slice(b, 3, (200.0, 700.0))
    assert view.image.prepared
    assert np.array_equal(image_item_pixels(view), shown)  # the pair on screen is untouched
    view.set_volume(b, (0.5, 0.5))
    view.show_slice(3, (200.0, 700.0))
    assert view.image._renderRequired
    view.image.render()
    assert not view.image.prepared  # the readied pixels were used ...
    assert np.array_equal(image_item_pixels(view), window_rgb32(b[3], (200.0, 700.0)))  # ... and are right
    view.show_slice(4, (200.0, 700.0))  # the next scroll windows as before, into the other buffer
    assert np.array_equal(image_item_pixels(view), window_rgb32(b[4], (200.0, 700.0)))
    view.show_slice(3, (200.0, 700.0))
    assert np.array_equal(image_item_pixels(view), window_rgb32(b[3], (200.0, 700.0)))


def test_a_slice_readied_for_other_levels_or_before_inverting_is_not_used(qtbot):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 1000, (5, 20, 20)).astype(np.int16)
    view = _view(qtbot)
    view.set_volume(a, (1.0, 1.0))
    view.prepare_slice(a, 2, (0.0, 500.0))
    view.show_slice(2, (0.0, 600.0))  # the reader changed the window meanwhile
    assert np.array_equal(image_item_pixels(view), window_rgb32(a[2], (0.0, 600.0)))
    assert view.image.prepared  # still waiting: never shown with the wrong levels
    view.set_inverted(True)  # and inverting makes it stale too
    view.show_slice(2, (0.0, 500.0))
    assert np.array_equal(image_item_pixels(view), window_rgb32(a[2], (0.0, 500.0), inverted=True))


def test_while_reading_the_next_pair_is_readied_and_confirming_shows_it(tmp_path, qtbot):
    s = make_study(tmp_path, n_pairs=3)
    with reading_window(qtbot, s.study) as screen:
        views = {k: v for k, v in screen.window.views.items() if k[1] in (COR, SAG)}
        qtbot.waitUntil(lambda: all(v.image.prepared for v in views.values()), timeout=10000)
        nxt = screen.session.store.order[1]
        # and its clinical texts measured: shown at the switch without measuring them again
        for side, case in (("left", nxt.left_case), ("right", nxt.right_case)):
            for key, text in clinical_texts(screen.session.manifest.cases[case].clinical).items():
                label = screen.window.panels[side].clinical_values[key]
                if text != label.text():
                    assert label.is_prepared(text), (side, key, text)
        screen.session.choose("left")
        screen.reading.confirm()
        assert screen.session.current.pair_id == nxt.pair_id
        for (knee, seq), view in views.items():
            vol = screen.hanging.knees[knee].volumes[seq]
            levels = screen.hanging.knees[knee].auto_windows[seq].levels
            assert screen.hanging.slices[(knee, seq)] == vol.middle
            view.image.render()
            assert not view.image.prepared, (knee, seq)  # drawn from what was readied
            assert np.array_equal(image_item_pixels(view), window_rgb32(vol.data[vol.middle], levels))
        qtbot.waitUntil(lambda: not screen.session.saving, timeout=10000)


def test_prepare_readies_middle_slices_and_reference_lines_that_load_then_uses(monkeypatch):
    from unittest.mock import MagicMock

    import reader_app.controllers.hanging as hanging_module
    from reader_app.controllers.hanging import HangingController, ImageViewLike
    from reader_app.domain.crossref import cross_line
    from reader_app.domain.linking import Rect
    from reader_app.domain.volumes import DisplayVolume, KneeImages
    from reader_app.domain.windowing import Window

    def knee(n_cor, n_sag):
        # 1 mm voxels, 8 mm in plane: each sequence's slices cross the other's images
        vols = {COR: DisplayVolume(np.zeros((n_cor, 8, 8), np.int16), (1.0, 1.0), 1.0),
                SAG: DisplayVolume(np.zeros((n_sag, 8, 8), np.int16), (1.0, 1.0), 1.0)}
        return KneeImages("x", vols, {}, {COR: Window(500, 400), SAG: Window(600, 300)}, {}, {})

    views = {}
    for k in ("left", "right"):
        for seq in (COR, SAG):
            views[(k, seq)] = MagicMock(spec=ImageViewLike)
            views[(k, seq)].extent = Rect(0, 0, 4, 4)
    h = HangingController(views)
    h.load({"left": knee(8, 6), "right": knee(7, 8)}, heatmaps=False)
    nxt = {"left": knee(6, 8), "right": knee(8, 5)}
    h.prepare(nxt)
    for (k, seq), view in views.items():
        vol = nxt[k].volumes[seq]
        view.prepare_slice.assert_called_once_with(vol.data, vol.middle, nxt[k].auto_windows[seq].levels)
        view.show_slice.reset_mock()
    expected = {(k, seq): cross_line(nxt[k].volumes[seq], seq, nxt[k].volumes[seq].middle,
                                     nxt[k].volumes[o], o, nxt[k].volumes[o].middle)
                for k in ("left", "right") for seq, o in ((COR, SAG), (SAG, COR))}
    assert all(line is not None for line in expected.values())  # coronal and sagittal planes cross
    computed = []
    monkeypatch.setattr(hanging_module, "cross_line", lambda *a: computed.append(a) or cross_line(*a))
    h.load(nxt, heatmaps=False)
    assert computed == []  # every line of the first slices was ready
    for key, view in views.items():
        assert view.show_reference_line.call_args.args[0] == expected[key]
        assert view.show_slice.call_args.args == (nxt[key[0]].volumes[key[1]].middle, nxt[key[0]].auto_windows[key[1]].levels)
    h.scroll(("left", COR), 1)  # a line not readied is computed as before
    assert computed


def test_a_readied_slice_is_let_go_when_another_volume_is_shown(qtbot):
    a = np.zeros((4, 10, 10), np.int16)
    b = np.ones((4, 10, 10), np.int16)
    view = _view(qtbot)
    view.prepare_slice(b, 2, (0.0, 1.0))
    view.set_volume(b, (1.0, 1.0))  # the readied volume: kept
    assert view.image.prepared
    view.set_volume(a, (1.0, 1.0))  # another pair came instead: its pixels and volume let go
    assert not view.image.prepared and view.image._ready_source is None

"""The hanging protocol's logic: which slice and window each view shows, and how views link.

No Qt here: the controller drives four view objects (knee ``left``/``right`` x sequence) through
a small interface (:class:`ImageViewLike`), so it is tested with mock views. Knee ``left`` is
labelled "A" on screen and ``right`` "B".

Links between A and B (each can be switched off):

- slices: the other knee's view of the same sequence moves to the same *relative* position
  (:func:`reader_app.domain.linking.linked_slice`); a reader who unlinks, aligns the two
  knees by hand and links again keeps that alignment (the offset is taken when linking);
- zoom/pan: the other view shows the same relative region of its image;
- window/level: the other view gets the same window relative to its own automatic window
  (:func:`reader_app.domain.windowing.to_relative`), so two scanners' intensity scales match.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from reader_app.domain.crossref import cross_line, display_to_world, slice_through
from reader_app.domain.linking import Rect, linked_rect, linked_slice, relative_offset
from reader_app.domain.measure import Measurement, measure
from reader_app.domain.reformat import DESS_COR, DESS_SOURCE, coronal_reformat
from reader_app.domain.volumes import KneeImages
from reader_app.domain.windowing import Window, drag, from_relative, preset_window, to_relative
from studies.package import SEQUENCES

KNEES: tuple[str, str] = ("left", "right")
KNEE_LABELS = {"left": "A", "right": "B"}
#: The view whose slice each view's cross-reference line shows (a plane that crosses it).
CROSS = {"cor_iw_tse": "sag_3d_dess", "sag_3d_dess": "cor_iw_tse", DESS_COR: "sag_3d_dess"}
ViewKey = tuple[str, str]  # (knee, sequence)


class ImageViewLike(Protocol):
    """What the controller needs from a view (implemented by :class:`reader_app.ui.slice_view.SliceView`)."""

    def set_volume(self, data: np.ndarray | None, pixel_mm: tuple[float, float] = ..., problem: str = ...) -> None: ...
    def set_heatmap(self, heat: np.ndarray | None) -> None: ...
    def prepare_slice(self, data: np.ndarray, index: int, levels: tuple[float, float]) -> None: ...
    def set_overlay_style(self, visible: bool, opacity: float, cmap: str) -> None: ...
    def show_slice(self, index: int, levels: tuple[float, float]) -> None: ...
    def set_levels(self, levels: tuple[float, float]) -> None: ...
    def view_rect(self) -> Rect: ...
    def set_view_rect(self, rect: Rect) -> None: ...
    def reset_view(self) -> None: ...
    def zoom(self, factor: float) -> None: ...
    def set_active(self, active: bool) -> None: ...
    def set_inverted(self, inverted: bool) -> None: ...
    def show_reference_line(self, line: tuple[tuple[float, float], tuple[float, float]] | None) -> None: ...
    def show_measurements(self, lines: list[tuple[tuple[float, float], tuple[float, float], str]]) -> None: ...
    @property
    def extent(self) -> Rect: ...


@dataclass
class OverlayStyle:
    """Heatmap display: on/off, opacity in [0, 1], pyqtgraph colour map name."""

    visible: bool = True
    opacity: float = 0.5
    cmap: str = "inferno"


class HangingController:
    """Slices, windows, links and heatmap overlays of the four views of a pair."""

    def __init__(self, views: dict[ViewKey, ImageViewLike]) -> None:
        self.views = views
        self.link_slices = True
        self.link_zoom = True
        self.link_window = True
        self.overlay = OverlayStyle()
        self._active: ViewKey = (KNEES[0], SEQUENCES[0])
        self.knees: dict[str, KneeImages] = {}
        self.slices: dict[ViewKey, int] = {}
        self.windows: dict[ViewKey, Window] = {}
        self.heatmaps_shown = False
        #: sequence -> relative offset of knee right's slice from knee left's (see set_links).
        self.slice_offsets: dict[str, float] = {}
        self.inverted = False
        #: Cross-reference lines: each view shows where the same knee's other sequence's slice cuts it.
        self.cross_reference = True
        #: Whether the DESS coronal reformat is made (only while its view is shown: memory).
        self.reformat = False
        #: The pair's caliper measurements (the reading controller's list for the pair, so they
        #: are kept when the reader comes back to it).
        self.measurements: list[Measurement] = []
        #: Called after measurements change (the window lists them per knee).
        self.on_measurements_changed = None
        #: Cross-reference lines computed ahead by :meth:`prepare`: (id(volume), slice,
        #: id(other volume), its slice) -> (line, volume, other volume).
        self._ready_lines: dict[tuple[int, int, int, int], tuple] = {}

    @property
    def active(self) -> ViewKey:
        """The view the keys act on (the one last clicked, scrolled, dragged or zoomed); framed."""
        return self._active

    @active.setter
    def active(self, key: ViewKey) -> None:
        self._active = key
        for k, view in self.views.items():
            view.set_active(k == key)

    # -- a new pair -------------------------------------------------------------------
    def load(self, knees: dict[str, KneeImages], *, heatmaps: bool, measurements: list[Measurement] | None = None) -> None:
        """Show a pair: every view at its middle slice, automatic window, whole image, with
        the pair's ``measurements`` (a list this controller adds to and removes from)."""
        # the controller's own dicts: a reformat made for this pair is dropped with it, never
        # kept in the cache of decoded knees (47 MB per full-size knee)
        self.knees = {
            k: replace(images, volumes=dict(images.volumes), auto_windows=dict(images.auto_windows))
            for k, images in knees.items()
        }
        self.measurements = measurements if measurements is not None else []
        self.slices.clear()
        self.windows.clear()
        self.slice_offsets.clear()
        if self.reformat:
            self._make_reformats()
        for (knee, seq), view in self.views.items():
            images = self.knees[knee]
            vol = images.volumes.get(seq)
            if vol is None:
                view.set_volume(None, problem=images.problems.get(seq, "This image is not available."))
                continue
            view.set_volume(vol.data, vol.pixel_mm)
            self.slices[(knee, seq)] = vol.middle
            self.windows[(knee, seq)] = images.auto_windows[seq]
        self.show_heatmaps(heatmaps)
        self._ready_lines.clear()  # used, or for a pair not shown: its volumes let go
        self.active = self._active  # frame it
        self._measurements_changed()

    def prepare(self, knees: dict[str, KneeImages]) -> None:
        """Ready the views for the pair after this one while the reader reads this one: each
        view windows the slice :meth:`load` will show first (the middle one, automatic window),
        and the cross-reference lines between the middle slices are computed, so that the
        switch draws without windowing. Nothing on screen changes."""
        self._ready_lines.clear()
        for (knee, seq), view in self.views.items():
            images = knees.get(knee)
            vol = images.volumes.get(seq) if images is not None else None
            if vol is None or seq not in images.auto_windows:
                continue
            view.prepare_slice(vol.data, vol.middle, images.auto_windows[seq].levels)
            other = images.volumes.get(CROSS.get(seq, ""))
            if other is not None:  # the cross-reference line between the two middle slices
                self._ready_lines[(id(vol), vol.middle, id(other), other.middle)] = (
                    cross_line(vol, seq, vol.middle, other, CROSS[seq], other.middle), vol, other)

    def show_heatmaps(self, shown: bool) -> None:
        """Give the views their heatmaps (AI visible) or take them away, and redraw."""
        self.heatmaps_shown = shown
        for key, view in self.views.items():
            if key not in self.slices:
                continue
            heat = self.knees[key[0]].heatmaps.get(key[1]) if shown else None
            view.set_heatmap(heat.data if heat is not None else None)
            view.set_overlay_style(self.overlay.visible, self.overlay.opacity, self.overlay.cmap)
            self._draw(key)

    def set_overlay_style(self, visible: bool, opacity: float, cmap: str) -> None:
        self.overlay = OverlayStyle(visible, min(max(opacity, 0.0), 1.0), cmap)
        for key in self.slices:
            self.views[key].set_overlay_style(visible, self.overlay.opacity, cmap)

    def heatmap_problems(self) -> list[str]:
        """Sentences about requested heatmaps that could not be loaded (for the AI panel)."""
        return [
            f"Knee {KNEE_LABELS[k]}: {msg}" for k, im in self.knees.items() for msg in im.heatmap_problems.values()
        ]

    # -- slices -----------------------------------------------------------------------
    def _partner(self, key: ViewKey) -> ViewKey | None:
        other = (KNEES[1] if key[0] == KNEES[0] else KNEES[0], key[1])
        return other if other in self.slices else None

    def _count(self, key: ViewKey) -> int:
        return self.knees[key[0]].volumes[key[1]].n_slices

    def _draw(self, key: ViewKey) -> None:
        self.views[key].show_slice(self.slices[key], self.windows[key].levels)
        self._draw_measurements(key)
        other = self._sibling(key)
        if other is not None:  # the line on each view depends on the other's slice
            self._draw_reference(key, other)
        for k in self.slices:
            if k != key and self._sibling(k) == key:
                self._draw_reference(k, key)

    # -- DESS coronal reformat --------------------------------------------------------------
    def _make_reformats(self) -> None:
        for images in self.knees.values():
            sag = images.volumes.get(DESS_SOURCE)
            if sag is not None and DESS_COR not in images.volumes:
                images.volumes[DESS_COR] = coronal_reformat(sag)
                images.auto_windows[DESS_COR] = images.auto_windows[DESS_SOURCE]  # same intensities

    def set_reformat(self, on: bool) -> None:
        """Make (or stop making) the DESS coronal reformat of each knee; shown at its middle
        slice with the DESS's automatic window."""
        self.reformat = bool(on)
        if not on:
            for images in self.knees.values():  # freed while the view is hidden
                images.volumes.pop(DESS_COR, None)
                images.auto_windows.pop(DESS_COR, None)
            for key in [k for k in self.slices if k[1] == DESS_COR]:
                del self.slices[key]
                self.windows.pop(key, None)
            return
        if not self.knees:
            return
        self._make_reformats()
        for key, view in self.views.items():
            if key[1] != DESS_COR or key in self.slices:
                continue
            vol = self.knees[key[0]].volumes.get(DESS_COR)
            if vol is None:
                continue
            view.set_volume(vol.data, vol.pixel_mm)
            view.set_inverted(self.inverted)
            self.slices[key] = vol.middle
            self.windows[key] = self.knees[key[0]].auto_windows[DESS_COR]
            self._draw(key)

    # -- cross-reference ------------------------------------------------------------------
    def _sibling(self, key: ViewKey) -> ViewKey | None:
        """The same knee's view whose slice ``key``'s reference line shows, when it has an image."""
        other = (key[0], CROSS.get(key[1], ""))
        return other if other in self.slices and other != key else None

    def _volume(self, key: ViewKey):
        return self.knees[key[0]].volumes[key[1]]

    def _draw_reference(self, key: ViewKey, other: ViewKey) -> None:
        line = None
        if self.cross_reference and other in self.slices:
            target, through = self._volume(key), self._volume(other)
            ready = self._ready_lines.get((id(target), self.slices[key], id(through), self.slices[other]))
            if ready is not None:  # computed by prepare (it holds both volumes: their ids are theirs)
                line = ready[0]
            else:
                line = cross_line(target, key[1], self.slices[key], through, other[1], self.slices[other])
        self.views[key].show_reference_line(line)

    def set_cross_reference(self, on: bool) -> None:
        """Show or hide the cross-reference lines."""
        self.cross_reference = bool(on)
        for key in self.slices:
            other = self._sibling(key)
            if other is not None:
                self._draw_reference(key, other)
            else:
                self.views[key].show_reference_line(None)

    def locate(self, key: ViewKey, x_mm: float, y_mm: float) -> None:
        """Shift+click at (x, y) mm on ``key``'s view: the same knee's other sequence moves to
        the slice through that point (and, when slices are linked, the other knee's with it)."""
        other = self._sibling(key)
        if key not in self.slices or other is None:
            return
        vol = self._volume(key)
        world = display_to_world(vol, key[1], self.slices[key], y_mm / vol.pixel_mm[0], x_mm / vol.pixel_mm[1])
        self.set_slice(other, slice_through(self._volume(other), other[1], world))

    # -- caliper ------------------------------------------------------------------------
    def _draw_measurements(self, key: ViewKey) -> None:
        k = self.slices.get(key)
        self.views[key].show_measurements([
            (m.p0_mm, m.p1_mm, m.label) for m in self.measurements
            if (m.side, m.sequence) == key and m.slice_index == k
        ])

    def _measurements_changed(self) -> None:
        if self.on_measurements_changed is not None:
            self.on_measurements_changed(self.measurement_lists())

    def measurement_lists(self) -> dict[str, list[str]]:
        """Per knee: one line per measurement ("4.2 mm · COR IW TSE, slice 18")."""
        from reader_app.domain.volumes import VIEW_LABELS

        return {knee: [f"{m.label} · {VIEW_LABELS.get(m.sequence, m.sequence)}, slice {m.slice_index + 1}"
                       for m in self.measurements if m.side == knee] for knee in KNEES}

    def measure(self, key: ViewKey, p0_mm: tuple[float, float], p1_mm: tuple[float, float]) -> Measurement | None:
        """A caliper line dragged on ``key``'s view from ``p0_mm`` to ``p1_mm`` (x, y in the
        view's mm). Raises :class:`reader_app.domain.measure.MeasurementError` (a message for
        the reader) when the image has no valid spacing or a point is off the image."""
        if key not in self.slices:
            return None
        self.active = key
        vol = self.knees[key[0]].volumes[key[1]]
        m = measure(key[0], key[1], self.slices[key], p0_mm, p1_mm, vol.pixel_mm, vol.data.shape)
        self.measurements.append(m)
        self._draw_measurements(key)
        self._measurements_changed()
        return m

    def remove_measurement(self, key: ViewKey | None = None) -> Measurement | None:
        """Remove the latest measurement of ``key``'s view (the active one by default)."""
        key = key or self.active
        mine = [m for m in self.measurements if (m.side, m.sequence) == key]
        if not mine:
            return None
        self.measurements.remove(mine[-1])
        if key in self.slices:
            self._draw_measurements(key)
        self._measurements_changed()
        return mine[-1]

    def clear_measurements(self) -> None:
        """Remove every measurement of the pair."""
        self.measurements.clear()
        for key in self.slices:
            self._draw_measurements(key)
        self._measurements_changed()

    def set_inverted(self, inverted: bool) -> None:
        """Draw every view inverted (white on black swapped), or not."""
        self.inverted = bool(inverted)
        for view in self.views.values():
            view.set_inverted(self.inverted)

    def scroll(self, key: ViewKey | None = None, steps: int = 1) -> None:
        """Move ``key``'s view (the active one by default) by ``steps`` slices, and its partner if linked."""
        key = key or self.active
        if key not in self.slices:
            return
        self.set_slice(key, self.slices[key] + steps)

    def set_slice(self, key: ViewKey, index: int) -> None:
        n = self._count(key)
        index = min(max(index, 0), n - 1)
        if index == self.slices[key]:
            return
        self.slices[key] = index
        self._draw(key)
        partner = self._partner(key)
        if self.link_slices and partner is not None:
            offset = self.slice_offsets.get(key[1], 0.0)
            other = linked_slice(index, n, self._count(partner), offset if key[0] == KNEES[0] else -offset)
            if other != self.slices[partner]:
                self.slices[partner] = other
                self._draw(partner)

    # -- window / level -----------------------------------------------------------------
    def _auto(self, key: ViewKey) -> Window:
        return self.knees[key[0]].auto_windows[key[1]]

    def _set_window(self, key: ViewKey, window: Window, *, link: bool = True) -> None:
        self.windows[key] = window
        self.views[key].set_levels(window.levels)
        partner = self._partner(key)
        if link and self.link_window and partner is not None:
            rel = to_relative(window, self._auto(key))
            self.windows[partner] = from_relative(rel, self._auto(partner))
            self.views[partner].set_levels(self.windows[partner].levels)

    def drag_window(self, key: ViewKey, dx: float, dy: float) -> None:
        """Right-drag on ``key``'s view by (dx, dy) screen pixels."""
        if key in self.windows:
            self.active = key
            self._set_window(key, drag(self.windows[key], dx, dy, self._auto(key)))

    def apply_preset(self, name: str) -> None:
        """Set every view's window from the named percentile preset of its own volume."""
        for key in self.windows:
            vol = self.knees[key[0]].volumes[key[1]]
            self._set_window(key, preset_window(vol.data, name), link=False)

    def auto_contrast(self) -> None:
        """Every view back to its automatic (percentile) window."""
        for key in self.windows:
            self._set_window(key, self._auto(key), link=False)

    def reset(self) -> None:
        """Automatic windows and whole images in every view (slices stay)."""
        self.auto_contrast()
        for key in self.slices:
            self.views[key].reset_view()

    # -- zoom / pan ---------------------------------------------------------------------
    def view_moved(self, key: ViewKey) -> None:
        """The reader panned or zoomed ``key``'s view: the partner follows when linked."""
        self.active = key
        partner = self._partner(key)
        if self.link_zoom and partner is not None and key in self.slices:
            view, other = self.views[key], self.views[partner]
            other.set_view_rect(linked_rect(view.view_rect(), view.extent, other.extent))

    def zoom(self, factor: float) -> None:
        """Zoom the active view about its centre (its partner follows when linked)."""
        if self.active in self.slices:
            self.views[self.active].zoom(factor)
            self.view_moved(self.active)

    def set_links(self, *, slices: bool | None = None, zoom: bool | None = None, window: bool | None = None) -> None:
        if slices is not None:
            if slices and not self.link_slices:  # keep the alignment the reader made by hand
                for seq in {s for _, s in self.slices}:
                    a, b = (KNEES[0], seq), (KNEES[1], seq)
                    if a in self.slices and b in self.slices:
                        self.slice_offsets[seq] = relative_offset(
                            self.slices[a], self._count(a), self.slices[b], self._count(b)
                        )
            self.link_slices = slices
        if zoom is not None:
            self.link_zoom = zoom
        if window is not None:
            self.link_window = window

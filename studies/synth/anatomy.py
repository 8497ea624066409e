"""The knee phantom: a label map of one knee at one visit, drawn on any voxel grid.

Shapes are analytic (rounded boxes, ellipsoids, ellipse cross-sections that taper along the
leg), evaluated on the grid's voxel centres, so the same knee renders identically on the
coronal and the sagittal grid, at any size, and can be oversampled for measurements.

Anatomical frame (mm), relative to the knee centre (:func:`studies.synth.geometry.knee_centre`):
``m`` medial (+) / lateral (-), ``a`` anterior (+) / posterior (-), ``s`` superior (+).
The medial tibial plateau's bone surface is the plane ``s = 0``; the medial femoral condyle's
lowest bone point is ``s = jsw_medial_mm``, flat over ``|m - mc| <= 2`` and ``|a| <= 5`` mm,
so the bone-to-bone medial joint space (what a radiograph's minimum medial JSW measures)
is exactly ``jsw_medial_mm``. Cartilage fills it, half on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from studies.synth.canvas import Canvas, ellipse_r2, sagittal_band, taper
from studies.synth.geometry import Grid


class Label(IntEnum):
    """Tissue labels of the phantom's label map (uint8)."""

    AIR = 0
    FAT = 1
    MUSCLE = 2
    FEMUR = 3
    FEMUR_CORTEX = 4
    TIBIA = 5
    TIBIA_CORTEX = 6
    PATELLA = 7
    PATELLA_CORTEX = 8
    FEMORAL_CARTILAGE = 9
    TIBIAL_CARTILAGE = 10
    PATELLAR_CARTILAGE = 11
    MENISCUS = 12
    FLUID = 13
    TENDON = 14
    BML = 15
    FIBULA = 16
    VESSEL = 17


#: Labels that make up each bone (marrow, cortex and any marrow lesion inside it).
FEMUR_LABELS = (Label.FEMUR, Label.FEMUR_CORTEX)
TIBIA_LABELS = (Label.TIBIA, Label.TIBIA_CORTEX)
BONE_LABELS = (*FEMUR_LABELS, *TIBIA_LABELS, Label.PATELLA, Label.PATELLA_CORTEX, Label.BML, Label.FIBULA)

#: Thickness of the cortex / subchondral bone plate (mm).
CORTEX_MM = 1.0
#: Half-extent of the flat weight-bearing part of the medial condyle: (m, a) in mm.
FLAT_HALF_MM = (2.0, 5.0)
#: Suprapatellar pouch depth and height (mm, before scaling) per effusion grade 0-3.
EFFUSION_DEPTH_MM = (0.8, 3.0, 6.0, 10.0)
EFFUSION_HEIGHT_MM = (12.0, 26.0, 36.0, 46.0)


@dataclass(frozen=True)
class KneeAnatomy:
    """Everything that shapes one knee at one visit.

    ``scale``: overall size factor (bones, muscles; not cartilage or joint space).
    ``shift_m_mm``/``shift_s_mm``: the knee's offset from the field of view's centre.
    ``fat_mm``: subcutaneous fat thickness. ``effusion``: grade 0-3 (suprapatellar pouch and
    posterior recesses). ``bml``: a bone-marrow-lesion-like region in the medial ``bml_bone``
    ('femur' or 'tibia') centred ``bml_m_mm``/``bml_a_mm`` from the compartment's centre, of
    radius ``bml_size_mm`` (along m; 1.3x along a, 0.7x along s), replacing marrow only. ``osteophyte_mm``: size of
    the bony spurs at the margins of the femoral condyles and tibial plateau (see
    :data:`OSTEOPHYTE_MM`; they never narrow the joint space).
    """

    side: str
    jsw_medial_mm: float
    jsw_lateral_mm: float
    scale: float = 1.0
    shift_m_mm: float = 0.0
    shift_s_mm: float = 0.0
    fat_mm: float = 8.0
    effusion: int = 0
    bml: bool = False
    bml_bone: str = "femur"
    bml_m_mm: float = 0.0
    bml_a_mm: float = 0.0
    bml_size_mm: float = 0.0
    osteophyte_mm: float = 0.0


#: Marginal osteophyte size (mm) per Kellgren-Lawrence grade 0-4.
OSTEOPHYTE_MM = (0.0, 0.0, 1.5, 3.0, 4.5)


class _Knee:
    """Derived dimensions (mm) of one knee; methods return region masks."""

    def __init__(self, k: KneeAnatomy) -> None:
        S = k.scale
        self.k, self.S = k, S
        self.J = {"med": k.jsw_medial_mm, "lat": k.jsw_lateral_mm}
        self.mc = {"med": 21.0 * S, "lat": -21.0 * S}
        self.R, self.Rm = 22.0 * S, 14.0 * S  # condyle rounding: sagittal, coronal
        self.body0 = k.jsw_medial_mm + 20.0 * S  # where the femoral metaphysis reaches full width
        self.body_bottom = k.jsw_medial_mm + 17.0 * S  # lowest point of its dome (the notch roof)
        self.af = 1.0 * S
        self.a0 = -4.0 * S  # leg centre (anterior-posterior)
        self.at = -4.0 * S  # tibia centre
        self.patella = (-2.0 * S, 37.5 * S, k.jsw_medial_mm + 28.0 * S)
        self.patella_axes = (22.0 * S, 8.0 * S, 17.0 * S)

    # femur -----------------------------------------------------------------------------
    def condyle_d2(self, c: Canvas, s, comp: str):
        """Squared 'distance' from the condyle's core box (scaled along m); bone is <= R²."""
        fm, fa = FLAT_HALF_MM
        sc = self.J[comp] + self.R
        dm = np.maximum(np.abs(c.m - self.mc[comp]) - fm, 0.0) * (self.R / self.Rm)
        da = np.maximum(np.abs(c.a) - fa, 0.0)
        ds = np.maximum(sc - s, 0.0) + np.maximum(s - (sc + 12.0 * self.S), 0.0)
        return dm**2 + da**2 + ds**2

    def body_widths(self, s):
        S = self.S
        wm = taper(s, self.body0, self.body0 + 55 * S, 38.0 * S, 15.0 * S)
        wa = taper(s, self.body0, self.body0 + 55 * S, 26.0 * S, 14.0 * S)
        af = taper(s, self.body0, self.body0 + 55 * S, self.af, -2.0 * S)
        return wm, wa, af

    def body_r2(self, c: Canvas, s, grow: float = 0.0):
        """Femoral shaft and metaphysis; its lower end is a dome reaching ``body_bottom``."""
        wm, wa, af = self.body_widths(s)
        top, bottom = self.body0 + 14.0 * self.S, self.body_bottom - grow
        dome = np.sqrt(np.clip(1.0 - ((top - s) / (top - bottom)) ** 2, 0.0, 1.0))
        dome = np.where(s >= top, 1.0, dome)
        return ellipse_r2(c.m, c.a - af, np.maximum((wm + grow) * dome, 1e-3), np.maximum((wa + grow) * dome, 1e-3))

    # tibia -----------------------------------------------------------------------------
    def tibia_r2(self, c: Canvas, s, grow: float = 0.0):
        S = self.S
        wm = taper(s, -15 * S, -50 * S, 40.0 * S, 17.0 * S)
        wa = taper(s, -15 * S, -50 * S, 27.0 * S, 16.0 * S)
        at = taper(s, -15 * S, -50 * S, self.at, -6.0 * S)
        return ellipse_r2(c.m, c.a - at, wm + grow, wa + grow)

    def eminence(self, c: Canvas, s, shrink: float = 0.0):
        """The tibial spines between the compartments: a ridge up to 8 mm above the plateau."""
        h = 8.0 * self.S - shrink
        w = 8.0 * self.S - shrink
        return (ellipse_r2(c.m, s, w, h) <= 1.0) & (np.abs(c.a - self.at) < 12.0 * self.S - shrink) & (s >= 0)

    def tibia_rim(self, s):
        """Allowed squared radius near the plateau: the rim rounds off over its top 4 mm."""
        depth = np.clip(-s / (4.0 * self.S), 0.0, 1.0)
        return (0.86 + 0.14 * np.sqrt(depth)) ** 2

    def compartment_rho(self, c: Canvas, comp: str):
        return np.sqrt(ellipse_r2(c.m - self.mc[comp], c.a + 3.0 * self.S, 17.0 * self.S, 24.0 * self.S))


def render_labels(knee: KneeAnatomy, grid: Grid) -> np.ndarray:
    """The label map (uint8, :class:`Label` values) of ``knee`` on ``grid``, shape ``grid.shape``."""
    c = Canvas(grid, knee.side, knee.shift_m_mm, knee.shift_s_mm)
    K = _Knee(knee)
    S = K.S
    inf = 1e6
    _soft_tissue(c, K, knee)
    _effusion(c, K, knee)
    # joint gap: thin fluid centrally, meniscal wedges peripherally
    for comp in ("med", "lat"):
        tt = K.J[comp] / 2
        rho = K.compartment_rho(c, comp)
        c.paint(0.0, tt + 0.6, Label.FLUID, lambda s, rho=rho: rho < 1.0)
        c.paint(
            0.0, tt + 7.0 * S, Label.MENISCUS,
            lambda s, rho=rho, tt=tt: (rho >= 0.6) & (rho <= 1.08) & (s < tt + 0.5 + 14.0 * S * (rho - 0.6)),
        )
    # cartilage (painted before bone, which overwrites the inner side)
    for comp in ("med", "lat"):
        tf = K.J[comp] / 2
        R = K.R
        c.paint(
            K.J[comp] - tf, K.J[comp] + R + 12 * S, Label.FEMORAL_CARTILAGE,
            lambda s, comp=comp, tf=tf, R=R: (K.condyle_d2(c, s, comp) <= (R + tf) ** 2)
            & ((s < K.J[comp] + 0.6 * R) | (c.a < -FLAT_HALF_MM[1] - 0.4 * R)),
        )
        c.paint(
            0.0, K.J[comp] / 2, Label.TIBIAL_CARTILAGE,
            lambda s, comp=comp: K.compartment_rho(c, comp) <= 0.95,
        )
    c.paint(
        K.body_bottom, K.body0 + 20 * S, Label.FEMORAL_CARTILAGE,
        lambda s: (K.body_r2(c, s, grow=2.2) <= 1.0) & (c.a > K.af + 10.0 * S) & (np.abs(c.m + 2.0 * S) < 18.0 * S),
    )
    pm, pa, ps = K.patella
    hm, ha, hs = K.patella_axes
    c.paint(
        ps - hs, ps + hs, Label.PATELLAR_CARTILAGE,
        lambda s: ((c.m - pm) / hm) ** 2 + ((c.a - pa) / (ha + 2.8)) ** 2 + ((s - ps) / hs) ** 2 <= 1.0,
    )
    _ligaments(c, K, knee)
    # bones
    c.paint(-inf, 0.0, Label.TIBIA, lambda s: K.tibia_r2(c, s) <= np.minimum(1.0, K.tibia_rim(s)))
    c.paint(0.0, 8.0 * S, Label.TIBIA, lambda s: K.eminence(c, s))
    fm, fa, fs = -33.0 * S, -20.0 * S, -15.0 * S
    c.paint(-inf, fs, Label.FIBULA, lambda s: ellipse_r2(c.m - fm, c.a - fa, 7.0 * S, 7.0 * S) <= 1.0)
    c.paint(fs - 10 * S, fs + 9 * S, Label.FIBULA,
            lambda s: ellipse_r2(c.m - fm, c.a - fa, 11.0 * S, 11.0 * S) + ((s - fs) / (9.0 * S)) ** 2 <= 1.0)
    for comp in ("med", "lat"):
        c.paint(K.J[comp], K.J[comp] + K.R + 12 * S, Label.FEMUR,
                lambda s, comp=comp: K.condyle_d2(c, s, comp) <= K.R**2)
    c.paint(K.body_bottom, inf, Label.FEMUR, lambda s: K.body_r2(c, s) <= 1.0)
    c.paint(ps - hs, ps + hs, Label.PATELLA,
            lambda s: ((c.m - pm) / hm) ** 2 + ((c.a - pa) / ha) ** 2 + ((s - ps) / hs) ** 2 <= 1.0)
    _cortex(c, K)
    if knee.osteophyte_mm > 0:
        _osteophytes(c, K, knee.osteophyte_mm)
    if knee.bml:
        _bml(c, K, knee)
    return c.labels


#: Muscle bellies as ellipsoids: (m, a, s) centre and (m, a, s) radii in mm before scaling;
#: ``s`` of the centre is relative to the medial joint line (s = 0).
_MUSCLES = (
    ((30.0, 4.0, 78.0), (24.0, 30.0, 52.0)),  # vastus medialis (reaches lowest)
    ((-33.0, 4.0, 98.0), (22.0, 30.0, 58.0)),  # vastus lateralis
    ((0.0, 26.0, 104.0), (26.0, 18.0, 58.0)),  # rectus femoris / vastus intermedius
    ((30.0, -32.0, 72.0), (17.0, 19.0, 60.0)),  # semimembranosus / semitendinosus
    ((-31.0, -31.0, 84.0), (16.0, 19.0, 62.0)),  # biceps femoris
    ((20.0, -40.0, -46.0), (19.0, 17.0, 72.0)),  # medial gastrocnemius
    ((-22.0, -37.0, -52.0), (15.0, 15.0, 66.0)),  # lateral gastrocnemius
    ((2.0, -26.0, -22.0), (24.0, 8.0, 13.0)),  # popliteus
    ((0.0, -24.0, -95.0), (30.0, 14.0, 58.0)),  # soleus
    ((-23.0, 12.0, -100.0), (12.0, 14.0, 68.0)),  # tibialis anterior
)


def _leg_widths(s, S):
    """Half-widths (m, a) of the leg inside the subcutaneous fat: thigh above, calf below."""
    wm = 52.0 * S + 6.0 * S * np.tanh(s / (40.0 * S)) ** 2
    wa = 48.0 * S + 4.0 * S * np.tanh(s / (40.0 * S)) ** 2
    return wm, wa


def _soft_tissue(c: Canvas, K: _Knee, knee: KneeAnatomy) -> None:
    S = K.S
    inf = 1e6
    fat = knee.fat_mm

    def skin(s, grow):
        wm, wa = _leg_widths(s, S)
        return ellipse_r2(c.m, c.a - K.a0, wm + grow, wa + grow) <= 1.0

    c.paint(-inf, inf, Label.FAT, lambda s: skin(s, fat))
    for (cm, ca, cs), (rm, ra, rs) in _MUSCLES:
        cm, ca, cs, rm, ra, rs = cm * S, ca * S, cs * S, rm * S, ra * S, rs * S
        c.paint(cs - rs, cs + rs, Label.MUSCLE,
                lambda s, cm=cm, ca=ca, cs=cs, rm=rm, ra=ra, rs=rs: skin(s, -1.5)
                & (((c.m - cm) / rm) ** 2 + ((c.a - ca) / ra) ** 2 + ((s - cs) / rs) ** 2 <= 1.0))


def _effusion(c: Canvas, K: _Knee, knee: KneeAnatomy) -> None:
    S = K.S
    depth = EFFUSION_DEPTH_MM[knee.effusion]
    height = EFFUSION_HEIGHT_MM[knee.effusion] * S
    lo = K.body0 + 2 * S
    c.paint(lo, lo + height, Label.FLUID,
            lambda s: (K.body_r2(c, s, grow=2.5 + depth) <= 1.0) & (c.a > K.af + 10 * S) & (np.abs(c.m) < 30 * S))
    if knee.effusion >= 2:
        grow = 2.0 + 1.5 * knee.effusion
        for comp in ("med", "lat"):
            R = K.R + K.J[comp] / 2 + grow
            c.paint(K.J[comp], K.J[comp] + K.R + 14 * S, Label.FLUID,
                    lambda s, comp=comp, R=R: (K.condyle_d2(c, s, comp) <= R**2) & (c.a < -12 * S))


def _ligaments(c: Canvas, K: _Knee, knee: KneeAnatomy) -> None:
    S, J = K.S, knee.jsw_medial_mm
    pm, pa, ps = K.patella
    hs = K.patella_axes[2]
    # patellar tendon: lower pole of the patella to the tibial tuberosity
    c.paint(-28 * S, ps - hs + 3 * S, Label.TENDON,
            lambda s: sagittal_band(c, s, (pa - 5 * S, ps - hs + 3 * S), (24 * S, -28 * S), 2.5 * S, (-14 * S, 10 * S)))
    # quadriceps tendon above it
    c.paint(ps + hs - 3 * S, ps + 70 * S, Label.TENDON,
            lambda s: sagittal_band(c, s, (pa + 1 * S, ps + hs), (pa - 3 * S, ps + 70 * S), 3.0 * S, (-16 * S, 12 * S)))
    # collateral ligaments: medial along the femur and tibia, lateral from femur to fibular head
    c.paint(-45 * S, J + 35 * S, Label.TENDON,
            lambda s: (c.a > -10 * S) & (c.a < 8 * S) & (c.m > np.where(s > J / 2, 37.5 * S, 40.5 * S))
            & (c.m < np.where(s > J / 2, 40.0 * S, 43.0 * S)))
    c.paint(-10 * S, J + 28 * S, Label.TENDON,
            lambda s: (c.a > -24 * S) & (c.a < -14 * S)
            & (np.abs(c.m - (-44 * S + 5 * S * (s + 10 * S) / (J + 38 * S))) < 1.3 * S))
    # popliteal artery and vein behind the knee
    for (vm, va), r in (((2.0, -33.0), 3.5), ((-5.0, -37.0), 5.0)):
        c.paint(-1e6, 1e6, Label.VESSEL, lambda s, vm=vm, va=va, r=r: ellipse_r2(c.m - vm * S, c.a - va * S, r * S, r * S) <= 1.0)
    # cruciate ligaments in the notch
    c.paint(-3 * S, J + 20 * S, Label.TENDON,
            lambda s: sagittal_band(c, s, (-24 * S, -3 * S), (-4 * S, J + 20 * S), 3.0 * S, (-1 * S, 5 * S)))
    c.paint(1 * S, J + 18 * S, Label.TENDON,
            lambda s: sagittal_band(c, s, (6 * S, 1 * S), (-14 * S, J + 18 * S), 2.5 * S, (-5 * S, 0)))


def _cortex(c: Canvas, K: _Knee) -> None:
    """Turn the outer ``CORTEX_MM`` of femur, tibia and patella into cortex labels."""
    t = CORTEX_MM
    inf = 1e6

    def femur_inner(s):
        inner = K.body_r2(c, s, grow=-t) <= 1.0
        for comp in ("med", "lat"):
            inner = inner | (K.condyle_d2(c, s, comp) <= (K.R - t) ** 2)
        return ~inner

    c.paint_where(-inf, inf, Label.FEMUR_CORTEX, femur_inner, (Label.FEMUR,))
    c.paint_where(-inf, inf, Label.TIBIA_CORTEX,
                  lambda s: ~(((K.tibia_r2(c, s, grow=-t) <= np.minimum(1.0, K.tibia_rim(s + t))) & (s <= -t))
                              | K.eminence(c, s + t, shrink=t)),
                  (Label.TIBIA,))
    pm, pa, ps = K.patella
    hm, ha, hs = K.patella_axes
    c.paint_where(ps - hs, ps + hs, Label.PATELLA_CORTEX,
                  lambda s: ((c.m - pm) / (hm - t)) ** 2 + ((c.a - pa) / (ha - t)) ** 2 + ((s - ps) / (hs - t)) ** 2 > 1.0,
                  (Label.PATELLA,))


def _osteophytes(c: Canvas, K: _Knee, size: float) -> None:
    """Bony spurs (marrow with a cortical rim) at the outer margins of the condyles and plateaus.

    Each spur is an ellipsoid, long along m, centred on the bone's margin: only its part
    outside the bone is painted, over soft tissue, so it never narrows the joint space.
    """
    S, t = K.S, CORTEX_MM
    soft = (Label.FAT, Label.FLUID, Label.TENDON, Label.MENISCUS, Label.FEMORAL_CARTILAGE, Label.TIBIAL_CARTILAGE)
    rm, ra, rs = 1.2 * size, 9.0 * S, 0.7 * size
    for sign in (1.0, -1.0):  # medial, lateral margin
        comp = "med" if sign > 0 else "lat"
        spurs = (
            (K.mc[comp] + sign * (FLAT_HALF_MM[0] + K.Rm), K.J[comp] + 0.35 * K.R, 0.0, Label.FEMUR, Label.FEMUR_CORTEX),
            (sign * 40.0 * S, -1.5, K.at, Label.TIBIA, Label.TIBIA_CORTEX),
        )
        for m0, s0, a0, marrow, cortex in spurs:

            def inside(s, m0=m0, s0=s0, a0=a0, grow=0.0):
                return (((c.m - m0) / (rm + grow)) ** 2 + ((c.a - a0) / (ra + grow)) ** 2
                        + ((s - s0) / (rs + grow)) ** 2 <= 1.0)

            c.paint_where(s0 - rs, s0 + rs, cortex, inside, soft)
            c.paint_where(s0 - rs, s0 + rs, marrow, lambda s, f=inside: f(s, grow=-t), (cortex,))


def _bml(c: Canvas, K: _Knee, knee: KneeAnatomy) -> None:
    r = knee.bml_size_mm
    rm, ra, rs = r, 1.3 * r, 0.7 * r
    mc = K.mc["med"] + knee.bml_m_mm
    if knee.bml_bone == "femur":
        sc, marrow = K.J["med"] + CORTEX_MM + 0.8 * rs, Label.FEMUR
    else:
        sc, marrow = -CORTEX_MM - 0.8 * rs, Label.TIBIA
    c.paint_where(sc - rs, sc + rs, Label.BML,
                  lambda s: ((c.m - mc) / rm) ** 2 + ((c.a - knee.bml_a_mm) / ra) ** 2 + ((s - sc) / rs) ** 2 <= 1.0,
                  (marrow,))

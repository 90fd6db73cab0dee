"""The 52 ARKit shape keys of the demo face, as vertex offsets (metres) from the basis.

The mouth and jaw keys are shaped with care, since they are what the lip-sync drives:
jawOpen rotates the jaw region (lower lip, chin, lower teeth, tongue) about a hinge in front of
the ears; mouthClose follows ARKit's convention exactly: it closes the lips *against the open
jaw*, each lip moving halfway across the gap jawOpen = 1 opens, so mouthClose = jawOpen gives
sealed lips over an open jaw at any opening, and (as in ARKit) a mouthClose above jawOpen pushes
the lips through each other. No driver or corrective key: the retargeting keeps mouthClose at
or below jawOpen (lipsync_core/retarget.py);
funnel and pucker push the lips forward and narrow them (funnel also opens a round hole);
smile/frown lift/lower the corners; stretch widens; dimple pulls the corners back; roll turns a
lip in; shrug lifts a lip; press thins and flattens the lips; lowerDown/upperUp bare the teeth;
mouthLeft/Right shift the mouth; tongueOut pushes the tongue forward; jawForward/Left/Right move
the jaw region.

The other keys are simple but real: blink, wide and squint move the eyelid shells, look keys
rotate the eyeballs, brow keys lift or lower the brow strips and the skin under them,
cheekPuff inflates the cheeks, cheekSquint raises the cheeks and lower lids, noseSneer lifts the
skin beside the nose. None is an empty placeholder.

Imports: numpy and demo_face_mesh (no bpy).
"""
from __future__ import annotations

import numpy as np

import demo_face_mesh as fm

ARKIT_NAMES = [
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
]
SIDES = {"Left": 1, "Right": -1}        # the character's left is +X

JAW_HINGE = np.array([0.004, -0.012])   # (y, z) of the jaw hinge axis (parallel to X), m
JAW_ANGLE = np.radians(15.0)            # jawOpen = 1 rotates the jaw this far
EDGE = 10 + fm.EDGE_RING                # ring id of the lip edge
# Per-ring weights (ring id -> weight); skin rings beyond the border fall off with distance.
LIP_RINGS = {11: 0.55, 12: 0.80, 13: 0.95, EDGE: 1.0, EDGE + 1: 1.0, EDGE + 2: 0.95,
             EDGE + 3: 0.8, -1: 0.45, -2: 0.12, 100: 0.35}


class Face:
    """Per-vertex quantities the keys are written in."""

    def __init__(self, geo: dict):
        self.v = geo["verts"]                                 # (V, 3) m
        self.n = len(self.v)
        self.x, self.y, self.z = self.v[:, 0], self.v[:, 1], self.v[:, 2]
        self.part = geo["part"]
        self.theta = geo["theta"]
        self.ring = geo["ring"]
        self.centre = geo["mouth_centre"]
        self.grid = ~np.isnan(self.theta)
        sin_t = np.where(self.grid, np.sin(np.nan_to_num(self.theta)), 0.0)
        self.sin_t = sin_t
        self.up = np.where(self.grid, 0.5 + 0.5 * np.tanh(sin_t / 0.08), 0.0)
        # Softer split for the jaw, so the open mouth is an oval, not a box.
        # 0.5 at the corners, 1 at the lower lip's middle: the lip gap grows as |sin theta|,
        # an oval, and the corners drop about half as far as the lower lip.
        self.jaw_low = np.where(self.grid, 0.5 - 0.5 * np.sign(sin_t) * np.abs(sin_t) ** 0.8, 0.0)
        # Lower / upper lip away from the corners (0 at the corners): for keys that bare teeth.
        self.low_mid = np.where(self.grid, np.maximum(0.0, -sin_t) ** 0.6, 0.0)
        self.up_mid = np.where(self.grid, np.maximum(0.0, sin_t) ** 0.6, 0.0)
        self.low = np.where(self.grid, 1.0 - self.up, 0.0)
        # Distance of skin rings beyond the lip border, m (0 on lips and cavity).
        e = np.zeros(self.n)
        skin = self.grid & (self.ring >= 100)
        e[skin] = geo["skin_e"][(self.ring[skin] - 100).astype(int)]
        self.e = e
        self.skin = skin
        self.lip = self.grid & (self.ring > 10) & (self.ring < 100)
        self.cavity = self.grid & (self.ring < 0)
        full = np.zeros(self.n)
        ring_full = {10 + k + 1: f for k, (_, f) in enumerate(fm.LIP_PROFILE)}
        ring_full.update({EDGE + 1 + k: f for k, (_, f) in enumerate(fm.INNER_PROFILE)})
        for rid, f in ring_full.items():
            sel = self.ring == rid
            full[sel] = f * geo["full"][np.round(self.theta[sel] / (2 * np.pi) * fm.SEGMENTS).astype(int) % fm.SEGMENTS]
        self.bulge = full                                     # forward offset of the lip, m
        self.mirror = self._mirror_index()

    def is_part(self, *names: str) -> np.ndarray:
        return np.isin(self.part, [fm.PART[n] for n in names])

    def lip_weight(self, reach: float = 0.012, border: float | None = None,
                   cavity: tuple[float, ...] | None = None) -> np.ndarray:
        """1 on the lips, falling off over ``reach`` metres of skin and into the cavity
        (``cavity`` overrides the weights of cavity rings -1, -2, ... front to back)."""
        w = np.zeros(self.n)
        for rid, val in LIP_RINGS.items():
            w[self.grid & (self.ring == rid)] = val
        if border is not None:
            w[self.grid & (self.ring == 100)] = border
        for c, val in enumerate(cavity or ()):
            w[self.grid & (self.ring == -(c + 1))] = val
        b = w[self.grid & (self.ring == 100)].max()
        outer = self.skin & (self.ring > 100)
        w[outer] = b * np.exp(-(self.e[outer] / reach) ** 2)
        return w

    def side_mask(self, side: int, soft: float = 0.010) -> np.ndarray:
        """Smooth 0..1 mask of one side; 0.5 on the middle line."""
        return fm.smoothstep(-soft, soft, side * self.x)

    def corner_weight(self, side: int, sx: float = 0.014, sz: float = 0.013) -> np.ndarray:
        w = fm.gauss2(self.x, self.z, side * fm.LIP_W, self.centre[2], sx, sz)
        return np.where(self.grid, w, 0.0) * self.side_mask(side, 0.004)

    def jaw_weight(self) -> np.ndarray:
        zb = self.centre[2] + 0.004 - 0.25 * np.maximum(0.0, np.abs(self.x) - fm.LIP_W)
        world = fm.smoothstep(zb, zb - 0.018, self.z)
        world *= fm.smoothstep(JAW_HINGE[0] + 0.015, JAW_HINGE[0] - 0.02, self.y)
        near = np.exp(-(self.e / 0.010) ** 2)
        w = np.where(self.skin & (self.ring > 100), near * self.jaw_low + (1 - near) * world, 0.0)
        w = np.where(self.grid & (self.ring <= 100), self.jaw_low, w)
        w[self.ring == -10] = 0.5                             # back of the cavity
        w[self.is_part("teeth_lower", "tongue")] = 1.0
        return w

    def _mirror_index(self) -> np.ndarray:
        """Index of the vertex at -theta on the same ring (itself off the grid)."""
        idx = np.arange(self.n)
        out = idx.copy()
        grid = np.flatnonzero(self.grid)
        j = np.round(self.theta[grid] / (2 * np.pi) * fm.SEGMENTS).astype(int) % fm.SEGMENTS
        ring_start = grid - j
        out[grid] = ring_start + (fm.SEGMENTS - j) % fm.SEGMENTS
        return out


def _rotate_x(v: np.ndarray, pivot_yz: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate points about an X-parallel axis through (y, z) = pivot by per-point angles."""
    dy, dz = v[:, 1] - pivot_yz[0], v[:, 2] - pivot_yz[1]
    c, s = np.cos(angle), np.sin(angle)
    out = v.copy()
    out[:, 1] = pivot_yz[0] + dy * c - dz * s
    out[:, 2] = pivot_yz[1] + dy * s + dz * c
    return out


def _vec(f: Face, dx=0.0, dy=0.0, dz=0.0) -> np.ndarray:
    d = np.zeros((f.n, 3))
    d[:, 0], d[:, 1], d[:, 2] = dx, dy, dz
    return d


# ---------------------------------------------------------------- jaw
def jaw_open(f: Face) -> np.ndarray:
    return _rotate_x(f.v, JAW_HINGE, JAW_ANGLE * f.jaw_weight()) - f.v


def mouth_close(f: Face) -> np.ndarray:
    """ARKit's mouthClose: each lip vertex goes halfway to where its mirror (-theta) sits with
    the jaw fully open, so with mouthClose = jawOpen both lips meet in the middle of the opening;
    the corners (their own mirror) stay put."""
    d_jaw = jaw_open(f)
    w = f.lip_weight(reach=0.008)
    w[f.cavity & (f.ring == -1)] = 0.5
    return 0.5 * (d_jaw[f.mirror] - d_jaw) * w[:, None]


# ---------------------------------------------------------------- rounding
def _edge_weight(f: Face) -> np.ndarray:
    """How much a vertex belongs to the lip edge (1) rather than the lip body."""
    w = np.zeros(f.n)
    for rid, val in {11: 0.15, 12: 0.4, 13: 0.75, EDGE: 1.0, EDGE + 1: 1.0, EDGE + 2: 0.9,
                     EDGE + 3: 0.7, -1: 0.3}.items():
        w[f.grid & (f.ring == rid)] = val
    return w


def mouth_funnel(f: Face) -> np.ndarray:
    fwd = f.lip_weight(reach=0.012)
    edge = _edge_weight(f)
    narrow = (f.lip_weight(reach=0.016, border=0.8, cavity=(0.95, 0.85, 0.6, 0.3)) * 0.30
              + 0.22 * edge)                                  # the opening narrows most
    open_z = np.sign(f.sin_t) * np.abs(f.sin_t) ** 0.5 * 0.0032 * edge
    return _vec(f, dx=-f.x * narrow, dy=-0.010 * fwd - 0.003 * edge, dz=open_z)


def mouth_pucker(f: Face) -> np.ndarray:
    fwd = f.lip_weight(reach=0.014)
    narrow = f.lip_weight(reach=0.018, border=0.85, cavity=(0.95, 0.85, 0.6, 0.3))
    zr = f.z - f.centre[2]
    return _vec(f, dx=-0.45 * f.x * narrow, dy=-0.012 * fwd,
                dz=-0.12 * zr * narrow * (1 - _edge_weight(f)))


# ---------------------------------------------------------------- corners
def smile(f: Face, side: int) -> np.ndarray:
    cw = f.corner_weight(side)
    cheek = fm.gauss2(f.x, f.z, side * 0.040, f.centre[2] + 0.028, 0.018, 0.016) * f.skin
    return _vec(f, dx=0.004 * side * cw, dy=0.003 * cw - 0.002 * cheek, dz=0.007 * cw + 0.003 * cheek)


def frown(f: Face, side: int) -> np.ndarray:
    cw = f.corner_weight(side)
    return _vec(f, dx=-0.001 * side * cw, dy=0.001 * cw, dz=-0.0065 * cw)


def dimple(f: Face, side: int) -> np.ndarray:
    cw = f.corner_weight(side, 0.012, 0.012)
    return _vec(f, dx=0.0025 * side * cw, dy=0.0045 * cw)


def stretch(f: Face, side: int) -> np.ndarray:
    cw = f.corner_weight(side, 0.022, 0.016)
    return _vec(f, dx=0.0075 * side * cw, dy=0.0015 * cw, dz=-0.0015 * cw)


def mouth_shift(f: Face, side: int) -> np.ndarray:
    return _vec(f, dx=0.007 * side * f.lip_weight(reach=0.022, border=0.9))


# ---------------------------------------------------------------- lips
def roll(f: Face, lower: bool) -> np.ndarray:
    half = f.low if lower else f.up
    w = f.lip_weight(reach=0.004) * half
    sgn = 1.0 if lower else -1.0
    edge = _edge_weight(f) * half
    return _vec(f, dy=f.bulge * half + 0.004 * w, dz=sgn * 0.0025 * edge)


def shrug(f: Face, lower: bool) -> np.ndarray:
    half = f.low if lower else f.up
    w = f.lip_weight(reach=0.016, border=0.9) * half
    if lower:
        chin = fm.gauss2(f.x, f.z, 0.0, f.centre[2] - 0.034, 0.016, 0.012) * f.skin
        return _vec(f, dy=-0.002 * w - 0.002 * chin, dz=0.004 * w + 0.003 * chin)
    return _vec(f, dy=-0.003 * w, dz=0.003 * w)


def press(f: Face, side: int) -> np.ndarray:
    mask = f.side_mask(side)
    lips = f.lip & (f.ring <= EDGE)
    body = np.where(lips | (f.ring == 100), 1.0, 0.0) * (1 - _edge_weight(f))
    return _vec(f, dy=0.5 * f.bulge * mask * f.lip,
                dz=-np.sign(f.sin_t) * 0.0025 * body * mask)


def lower_down(f: Face, side: int) -> np.ndarray:
    w = f.lip_weight(reach=0.008, border=0.7) * f.low_mid * f.side_mask(side, 0.012)
    w[f.cavity & (f.ring == -1)] *= 0.9
    return _vec(f, dy=0.001 * w, dz=-0.0075 * w)


def upper_up(f: Face, side: int) -> np.ndarray:
    w = f.lip_weight(reach=0.008, border=0.7) * f.up_mid * f.side_mask(side, 0.012)
    w[f.cavity & (f.ring == -1)] *= 0.9
    return _vec(f, dy=-0.001 * w, dz=0.0065 * w)


# ---------------------------------------------------------------- jaw side / forward, tongue
def jaw_move(f: Face, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    w = f.jaw_weight()
    return _vec(f, dx=dx * w, dy=dy * w)


def tongue_out(f: Face) -> np.ndarray:
    t = f.is_part("tongue").astype(float)
    ahead = fm.smoothstep(f.centre[1] + 0.045, f.centre[1] + 0.01, f.y) * t   # tip moves most
    return _vec(f, dy=-0.024 * ahead - 0.004 * t, dz=0.007 * ahead + 0.002 * t)


def regions(geo: dict) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(vertex group name, vertex indices, weights) of the named face regions."""
    f = Face(geo)
    edge = f.grid & (f.ring == EDGE)
    middle = np.abs(f.x) < 0.3 * fm.SLIT_W
    corner = edge & (np.abs(np.cos(np.nan_to_num(f.theta))) > 0.999)
    jaw = f.jaw_weight()
    out = [("LipEdge", np.flatnonzero(edge), np.ones(edge.sum())),
           ("LipUpperMiddle", np.flatnonzero(edge & middle & (f.sin_t > 0)), None),
           ("LipLowerMiddle", np.flatnonzero(edge & middle & (f.sin_t < 0)), None),
           ("MouthCorners", np.flatnonzero(corner), None),
           ("Jaw", np.flatnonzero(jaw > 1e-3), jaw[jaw > 1e-3])]
    return [(n, i, np.ones(len(i)) if w is None else w) for n, i, w in out]


def all_deltas(geo: dict) -> dict[str, np.ndarray]:
    """Every ARKit key name -> (V, 3) offsets in metres from the basis."""
    from demo_face_upper_keys import (blink, brow_down, brow_up, cheek_puff, cheek_squint,
                                      look, nose_sneer, squint, wide)
    f = Face(geo)
    d: dict[str, np.ndarray] = {
        "jawOpen": jaw_open(f), "mouthClose": mouth_close(f),
        "mouthFunnel": mouth_funnel(f), "mouthPucker": mouth_pucker(f),
        "jawForward": jaw_move(f, dy=-0.006), "jawLeft": jaw_move(f, dx=0.007),
        "jawRight": jaw_move(f, dx=-0.007),
        "mouthLeft": mouth_shift(f, 1), "mouthRight": mouth_shift(f, -1),
        "mouthRollLower": roll(f, True), "mouthRollUpper": roll(f, False),
        "mouthShrugLower": shrug(f, True), "mouthShrugUpper": shrug(f, False),
        "browInnerUp": brow_up(f, 1, True) + brow_up(f, -1, True),
        "cheekPuff": cheek_puff(f), "tongueOut": tongue_out(f),
    }
    for name, side in SIDES.items():
        d[f"mouthSmile{name}"] = smile(f, side)
        d[f"mouthFrown{name}"] = frown(f, side)
        d[f"mouthDimple{name}"] = dimple(f, side)
        d[f"mouthStretch{name}"] = stretch(f, side)
        d[f"mouthPress{name}"] = press(f, side)
        d[f"mouthLowerDown{name}"] = lower_down(f, side)
        d[f"mouthUpperUp{name}"] = upper_up(f, side)
        d[f"eyeBlink{name}"] = blink(f, side)
        d[f"eyeWide{name}"] = wide(f, side)
        d[f"eyeSquint{name}"] = squint(f, side)
        for direction in ("Up", "Down", "In", "Out"):
            d[f"eyeLook{direction}{name}"] = look(f, side, direction)
        d[f"browDown{name}"] = brow_down(f, side)
        d[f"browOuterUp{name}"] = brow_up(f, side, False)
        d[f"cheekSquint{name}"] = cheek_squint(f, side)
        d[f"noseSneer{name}"] = nose_sneer(f, side)
    missing = set(ARKIT_NAMES) ^ set(d)
    if missing:
        raise RuntimeError(f"shape keys out of step with ARKIT_NAMES: {sorted(missing)}")
    return d

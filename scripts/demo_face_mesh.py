"""Geometry of the demo face: a stylised head whose skin is one closed surface built as rings
around the mouth, plus teeth, tongue, eyes, eyelids and brows as loose parts of the same mesh (so
one set of shape keys moves all of them).

The skin rings run from the back of the mouth cavity, out through the inner lips, over the lip
edge, across the lips to the lip border, then across the face to a single vertex at the back of
the head. Every ring has ``SEGMENTS`` vertices at the same angles theta (0 = the character's left
mouth corner, +X; pi/2 = upper lip middle; pi = right corner; 3 pi/2 = lower lip middle), so the
shape keys can address the lips by ring and angle.

Coordinates: metres, Z up, the face looks down -Y (Blender's front view), the character's left
is +X. The head's centre is the origin.

Imports: numpy only (no bpy), so the geometry can be checked without Blender.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SEGMENTS = 64                          # vertices per ring around the mouth (even: corners exact)
HEAD = np.array([0.076, 0.092, 0.108])  # ellipsoid half-axes x, y, z
MOUTH_DIR = np.array([0.0, -0.90, -0.50])  # from the head centre towards the mouth
SPHERE_R = 0.10                        # radius used to turn distances on the face into angles
LIP_W = 0.0275                         # half-width of the lip border (corner to corner), m
LIP_H_UP, LIP_H_LOW = 0.0095, 0.0105   # height of the upper / lower lip at the middle, m
SLIT_W = 0.0250                        # half-width of the mouth slit, m
SLIT_GAP = 0.0002                      # half-gap between the lips at rest, m (looks closed)
FULL_UP, FULL_LOW = 0.0055, 0.0065     # how far the lips stand out of the face, m
# Outer lip profile: (fraction from the border to the slit, forward offset in lip fullness).
LIP_PROFILE = [(0.35, 0.55), (0.65, 0.90), (0.88, 1.0), (1.0, 0.70)]
EDGE_RING = len(LIP_PROFILE)           # lip ring index of the lip edge (where the lips meet)
# Inner lip: (fraction, offset): the lip's back surface, going back into the mouth.
INNER_PROFILE = [(0.97, 0.35), (0.86, -0.1), (0.55, -0.9)]
# Mouth cavity rings: (half-width, upper half-height, lower half-height, depth behind mouth), m.
CAVITY = [(0.024, 0.0115, 0.0125, 0.007), (0.028, 0.017, 0.020, 0.020),
          (0.026, 0.016, 0.019, 0.036), (0.015, 0.009, 0.011, 0.048)]
CAVITY_BACK = 0.052                    # depth of the cavity's closing vertex, m

MATERIALS = ["skin", "lips", "mouth", "teeth", "tongue", "sclera", "iris", "pupil", "brow"]
MAT = {name: i for i, name in enumerate(MATERIALS)}
PARTS = ["skin", "teeth_upper", "teeth_lower", "tongue", "eye_L", "eye_R", "lid_up_L",
         "lid_up_R", "lid_low_L", "lid_low_R", "brow_L", "brow_R"]
PART = {name: i for i, name in enumerate(PARTS)}
EYE_R = 0.0125                          # eyeball radius, m
EYE_X, EYE_Z = 0.032, 0.022             # eye centre offsets from the head centre, m
LID_R = 1.12 * EYE_R                    # eyelid shell radius, m
LID_UP_EDGE = np.radians(62.0)          # upper lid edge, angle from straight up
LID_LOW_EDGE = np.radians(58.0)         # lower lid edge, angle from straight down


@dataclass
class Mesh:
    """Vertices, faces and per-vertex tags the shape keys read."""
    verts: list = field(default_factory=list)     # list of (n, 3) arrays
    faces: list = field(default_factory=list)     # list of index tuples
    face_mat: list = field(default_factory=list)  # material index per face
    part: list = field(default_factory=list)      # part index per vertex (arrays)
    theta: list = field(default_factory=list)     # mouth-ring angle per vertex, NaN off-grid
    ring: list = field(default_factory=list)      # ring id per vertex (see ring_kind)
    count: int = 0

    def add(self, pts: np.ndarray, part: str, theta=None, ring: float = np.nan) -> np.ndarray:
        pts = np.asarray(pts, float).reshape(-1, 3)
        n = len(pts)
        idx = np.arange(self.count, self.count + n)
        self.verts.append(pts)
        self.part.append(np.full(n, PART[part]))
        self.theta.append(np.full(n, np.nan) if theta is None else np.asarray(theta, float))
        self.ring.append(np.full(n, ring, float))
        self.count += n
        return idx

    def face(self, idx, mat: str) -> None:
        self.faces.append(tuple(int(i) for i in idx))
        self.face_mat.append(MAT[mat])

    def arrays(self) -> dict:
        return {"verts": np.concatenate(self.verts), "faces": self.faces,
                "face_mat": np.array(self.face_mat), "part": np.concatenate(self.part),
                "theta": np.concatenate(self.theta), "ring": np.concatenate(self.ring)}


def smoothstep(e0: float, e1: float, x):
    t = np.clip((np.asarray(x, float) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss2(x, z, cx, cz, sx, sz):
    return np.exp(-((x - cx) / sx) ** 2 - ((z - cz) / sz) ** 2)


# ---------------------------------------------------------------- the head surface
def head_surface(d: np.ndarray) -> np.ndarray:
    """Unit directions (n, 3) -> points (n, 3) on the stylised head (features included)."""
    t = 1.0 / np.sqrt(((d / HEAD) ** 2).sum(axis=1))
    p = d * t[:, None]
    low = np.clip(-d[:, 2], 0.0, 1.0)
    p[:, 0] *= 1.0 - 0.22 * low ** 1.4                      # narrower jaw and chin
    p[:, 1] *= 1.0 - 0.10 * np.clip(d[:, 2], 0, 1) ** 2      # rounder crown
    x, z = p[:, 0], p[:, 2]
    front = np.clip(-d[:, 1], 0.0, 1.0) ** 0.5
    mz = MOUTH_Z
    bump = (0.020 * gauss2(x, z, 0.0, -0.006, 0.010, 0.009)              # nose tip
            + 0.012 * gauss2(x, z, 0.0, 0.012, 0.0065, 0.016)            # nose bridge
            + 0.006 * gauss2(np.abs(x), z, 0.011, -0.011, 0.006, 0.006)  # nose wings
            + 0.007 * gauss2(x, z, 0.0, mz + 0.004, 0.030, 0.024)        # muzzle
            + 0.005 * gauss2(x, z, 0.0, mz - 0.036, 0.016, 0.012)        # chin
            + 0.004 * gauss2(np.abs(x), z, 0.046, -0.008, 0.018, 0.016)  # cheekbones
            + 0.004 * gauss2(np.abs(x), z, 0.030, 0.042, 0.022, 0.007)   # brow ridge
            - 0.009 * gauss2(np.abs(x), z, EYE_X, EYE_Z, 0.0125, 0.011))  # eye sockets
    p[:, 1] -= bump * front
    return p


def _ellipsoid_z(d) -> float:
    d = np.asarray(d, float) / np.linalg.norm(d)
    return float(d[2] / np.sqrt(((d / HEAD) ** 2).sum()))


MOUTH_Z = _ellipsoid_z(MOUTH_DIR)   # height of the mouth centre, m


def _mouth_frame():
    m = MOUTH_DIR / np.linalg.norm(MOUTH_DIR)
    u = np.array([1.0, 0.0, 0.0])
    v = np.cross(m, u)                   # up along the face
    return m, u, v


def _project(qx: np.ndarray, qz: np.ndarray) -> np.ndarray:
    """Points on the face plane around the mouth (metres) -> head surface (azimuthal
    equidistant projection about MOUTH_DIR)."""
    m, u, v = _mouth_frame()
    rho = np.hypot(qx, qz)
    alpha = np.clip(rho / SPHERE_R, 0.0, np.pi)
    az = np.arctan2(qz, qx)
    d = (np.cos(alpha)[:, None] * m
         + np.sin(alpha)[:, None] * (np.cos(az)[:, None] * u + np.sin(az)[:, None] * v))
    return head_surface(d)


def _skin_extents() -> np.ndarray:
    """Distances (m) of the skin rings beyond the lip border; the last reaches the back pole."""
    e, out = 0.0, [0.0]
    while e < 0.27:
        e += 0.0021 + 0.065 * e
        out.append(e)
    out = np.array(out)
    return out * (np.pi * SPHERE_R - LIP_W) / out[-1]


def skin_ring(e: float, theta: np.ndarray) -> np.ndarray:
    """One skin ring, ``e`` metres beyond the lip border."""
    up = np.sin(theta) > 0
    h0 = np.where(up, LIP_H_UP, LIP_H_LOW)
    x_half = LIP_W + e
    blend = min(1.0, e / 0.05)
    z_half = h0 + e + (LIP_W - h0) * blend
    qx = x_half * np.cos(theta)
    qz = z_half * np.sin(theta)
    if e == 0.0:   # cupid's bow: a small dip at the middle of the upper lip border
        bow = 1.0 - 0.10 * np.exp(-(qx / 0.004) ** 2) + 0.08 * np.exp(-((np.abs(qx) - 0.007) / 0.004) ** 2)
        qz = np.where(up, qz * bow, qz)
    return _project(qx, qz)


def build() -> dict:
    """The whole face: arrays of vertices, faces, material per face and per-vertex tags."""
    mesh = Mesh()
    theta = 2.0 * np.pi * np.arange(SEGMENTS) / SEGMENTS
    up = np.sin(theta) > 1e-9
    sin_t = np.sin(theta)
    centre = _project(np.zeros(1), np.zeros(1))[0]          # mouth centre on the face
    skin_e = _skin_extents()
    border = skin_ring(0.0, theta)

    rings: list[tuple[np.ndarray, float, str]] = []         # (points, ring id, material ahead)
    # Ring ids: cavity -4..-1 (back to front) -> 10 + k for lip rings -> 100 + i for skin rings.
    full = np.where(up, FULL_UP, FULL_LOW) * np.abs(sin_t) ** 0.6
    slit = np.stack([SLIT_W * np.cos(theta), SLIT_GAP * np.sign(sin_t)], axis=1)

    def lip_point(a: float, f: float) -> np.ndarray:
        x = border[:, 0] + (slit[:, 0] - border[:, 0]) * a
        z = border[:, 2] + (centre[2] + slit[:, 1] - border[:, 2]) * a
        y = border[:, 1] + (centre[1] - border[:, 1]) * a - f * full
        return np.stack([x, y, z], axis=1)

    for c, (w, hu, hl, depth) in reversed(list(enumerate(CAVITY))):
        h = np.where(up, hu, hl)
        # Depth follows the face's curvature (the border), so the cavity stays inside the head.
        y = np.maximum(centre[1] + depth, border[:, 1] + 0.6 * depth + 0.003)
        pts = np.stack([w * np.cos(theta), y, centre[2] + h * sin_t], axis=1)
        rings.append((pts, -(c + 1), "mouth"))
    for k, (a, f) in reversed(list(enumerate(INNER_PROFILE))):
        last = k == len(INNER_PROFILE) - 1
        rings.append((lip_point(a, f), 10 + EDGE_RING + 1 + k, "mouth" if last else "lips"))
    for k, (a, f) in reversed(list(enumerate(LIP_PROFILE))):
        rings.append((lip_point(a, f), 10 + k + 1, "lips"))
    rings.append((border, 100, "lips"))
    for i, e in enumerate(skin_e[1:-1], start=1):
        rings.append((skin_ring(e, theta), 100 + i, "skin"))

    back = mesh.add(np.array([[0.0, centre[1] + CAVITY_BACK, centre[2]]]), "skin", ring=-10)
    ids = []
    for pts, rid, _ in rings:
        ids.append(mesh.add(pts, "skin", theta=theta, ring=rid))
    pole = mesh.add(_project(np.array([np.pi * SPHERE_R]), np.zeros(1)), "skin", ring=200)
    n = SEGMENTS
    for j in range(n):   # cavity back fan
        mesh.face((back[0], ids[0][(j + 1) % n], ids[0][j]), "mouth")
    for r in range(len(ids) - 1):
        mat = rings[r + 1][2]
        for j in range(n):
            a, b = ids[r][j], ids[r][(j + 1) % n]
            c, d = ids[r + 1][(j + 1) % n], ids[r + 1][j]
            mesh.face((a, b, c, d), mat)
    for j in range(n):   # back of the head fan
        mesh.face((ids[-1][j], ids[-1][(j + 1) % n], pole[0]), "skin")

    _teeth(mesh, centre)
    _tongue(mesh, centre)
    for side in (1, -1):
        _eye(mesh, side)
        _brow(mesh, side)
    out = mesh.arrays()
    out["mouth_centre"] = centre            # (3,) m
    out["skin_e"] = skin_e                  # (rings,) m beyond the lip border, ring 100 + i
    out["full"] = full                      # (SEGMENTS,) m, lip fullness per angle
    return out


# ---------------------------------------------------------------- loose parts
def _box(mesh: Mesh, corners: np.ndarray, part: str, mat: str) -> None:
    """Eight corners (bottom four then top four, counter-clockwise seen from above)."""
    i = mesh.add(corners, part)
    for q in ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)):
        mesh.face(i[list(q)], mat)


def _teeth(mesh: Mesh, centre: np.ndarray) -> None:
    """Two rows of eight teeth on arcs behind the lips; upper row above the bite line."""
    for part, radius, front, z0, z1 in (
            ("teeth_upper", 0.025, 0.0100, 0.0003, 0.0105),
            ("teeth_lower", 0.023, 0.0115, -0.0095, -0.0003)):
        arc_c = centre[1] + front + radius                 # arc centre (y), m
        widths = [0.0085, 0.0070, 0.0075, 0.0085]          # incisor .. premolar, along the arc
        edges = [0.0]
        for w in widths:
            edges.append(edges[-1] + w / radius)           # radians
        for side in (1, -1):
            for t in range(4):
                a0, a1 = edges[t] + 0.02, edges[t + 1] - 0.02
                pts = []
                for z in (z0, z1):
                    for rr, aa in ((radius, a0), (radius, a1), (radius - 0.006, a1), (radius - 0.006, a0)):
                        pts.append([side * rr * np.sin(aa), arc_c - rr * np.cos(aa), centre[2] + z])
                pts = np.array(pts)
                if side < 0:
                    pts = pts[[1, 0, 3, 2, 5, 4, 7, 6]]    # keep the winding outward
                _box(mesh, pts, part, "teeth")


def _uv_sphere(n_az: int, polar: np.ndarray, axis_forward: bool):
    """Unit-sphere rings: polar angles (from the pole) -> (points (r, n_az, 3))."""
    az = 2.0 * np.pi * np.arange(n_az) / n_az
    s, c = np.sin(polar)[:, None], np.cos(polar)[:, None]
    if axis_forward:   # pole on -Y
        return np.stack([s * np.cos(az), -c * np.ones_like(az), s * np.sin(az)], axis=2)
    return np.stack([s * np.cos(az), s * np.sin(az), c * np.ones_like(az)], axis=2)


def _grid_faces(mesh: Mesh, rows: list, mat_of_row, closed_first=None, flip=False) -> None:
    n = len(rows[0])
    if closed_first is not None:
        for j in range(n):
            f = (closed_first, rows[0][j], rows[0][(j + 1) % n])
            mesh.face(f[::-1] if flip else f, mat_of_row(0))
    for r in range(len(rows) - 1):
        for j in range(n):
            f = (rows[r][j], rows[r + 1][j], rows[r + 1][(j + 1) % n], rows[r][(j + 1) % n])
            mesh.face(f[::-1] if flip else f, mat_of_row(r + 1))


def _tongue(mesh: Mesh, centre: np.ndarray) -> None:
    polar = np.linspace(0.0, np.pi, 9)[1:-1]
    pts = _uv_sphere(12, polar, axis_forward=True) * np.array([0.016, 0.022, 0.0055])
    pts = pts + np.array([0.0, centre[1] + 0.030, centre[2] - 0.0105])
    tip = mesh.add(np.array([[0.0, centre[1] + 0.008, centre[2] - 0.0105]]), "tongue")
    rows = [mesh.add(p, "tongue") for p in pts]
    end = mesh.add(np.array([[0.0, centre[1] + 0.052, centre[2] - 0.0105]]), "tongue")
    _grid_faces(mesh, rows, lambda r: "tongue", closed_first=tip[0], flip=True)
    for j in range(12):
        mesh.face((rows[-1][j], end[0], rows[-1][(j + 1) % 12])[::-1], "tongue")


def eye_centre(side: int) -> np.ndarray:
    """Centre of the eyeball on the character's left (side=+1) or right (-1)."""
    skin = head_surface(np.array([[side * EYE_X, -0.09, EYE_Z]]) / np.linalg.norm([EYE_X, 0.09, EYE_Z]))
    return np.array([side * EYE_X, skin[0, 1] + 0.0035, EYE_Z])


def _eye(mesh: Mesh, side: int) -> None:
    tag = "L" if side > 0 else "R"
    c = eye_centre(side)
    polar = np.radians([9, 15, 24, 31, 42, 60, 80, 105, 130, 155])
    mats = ["pupil", "pupil", "iris", "iris", "iris"] + ["sclera"] * 6
    pts = _uv_sphere(16, polar, axis_forward=True) * EYE_R + c
    front = mesh.add(np.array([c + [0.0, -EYE_R, 0.0]]), f"eye_{tag}")
    rows = [mesh.add(p, f"eye_{tag}") for p in pts]
    back = mesh.add(np.array([c + [0.0, EYE_R, 0.0]]), f"eye_{tag}")
    _grid_faces(mesh, rows, lambda r: mats[r], closed_first=front[0], flip=True)
    for j in range(16):
        mesh.face((rows[-1][j], back[0], rows[-1][(j + 1) % 16])[::-1], "sclera")
    # Eyelids: caps of a slightly larger sphere, from the top (upper) and the bottom (lower).
    for name, edge, sign in (("lid_up", LID_UP_EDGE, 1.0), ("lid_low", LID_LOW_EDGE, -1.0)):
        polar = edge * np.linspace(0.0, 1.0, 7)[1:]
        caps = _uv_sphere(16, polar, axis_forward=False) * LID_R
        caps[..., 2] *= sign
        pole = mesh.add(np.array([c + [0.0, 0.0, sign * LID_R]]), f"{name}_{tag}")
        rows = [mesh.add(p + c, f"{name}_{tag}") for p in caps]
        _grid_faces(mesh, rows, lambda r: "skin", closed_first=pole[0], flip=sign < 0)


def brow_points(side: int, n: int = 8) -> np.ndarray:
    """Points along the brow arc above one eye (inner end first), on the skin."""
    s = np.linspace(0.0, 1.0, n)
    x = side * (0.012 + 0.036 * s)
    z = EYE_Z + 0.020 + 0.006 * np.sin(np.pi * (0.25 + 0.75 * s)) - 0.004 * s
    d = np.stack([x, np.full(n, -0.09), z], axis=1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return head_surface(d)


def _brow(mesh: Mesh, side: int) -> None:
    tag = "L" if side > 0 else "R"
    base = brow_points(side)
    out = base / np.linalg.norm(base, axis=1, keepdims=True)   # roughly the outward normal
    width = np.linspace(0.0045, 0.0025, len(base))              # brow height, inner to outer
    rows = []
    for dz, lift in ((-0.5, 0.0008), (0.5, 0.0008), (0.5, 0.0030), (-0.5, 0.0030)):
        rows.append(base + out * lift + np.array([0, 0, 1.0]) * (dz * width)[:, None])
    idx = [mesh.add(r, f"brow_{tag}") for r in rows]
    n = len(base)
    for j in range(n - 1):
        for a in range(4):
            b = (a + 1) % 4
            f = (idx[a][j], idx[a][j + 1], idx[b][j + 1], idx[b][j])
            mesh.face(f if side > 0 else f[::-1], "brow")
    for end, order in ((0, (0, 1, 2, 3)), (n - 1, (3, 2, 1, 0))):
        f = tuple(idx[a][end] for a in order)
        mesh.face(f if side > 0 else f[::-1], "brow")

"""Where a character's lips are, and what its own poses say closed, open, rounded and f/v look like.

Measured in the *evaluated* mesh (shape keys, armature and all, world space, Z up as Blender's
glTF importer gives it), in metres:

- the **lip gap** at the midline: the upper lip's lowest point minus the lower lip's highest,
  positive = apart. The lip vertices come from the rig's own shapes: midline vertices that a
  lip-rounding shape moves are lips; of those, the ones the rig's open shape moves down by more
  than half of the most are the lower lip, those it hardly moves the upper lip;
- the **mouth width**: the distance along X between the two mouth corners. A corner is, on its
  side, the vertex near the lips' height that the rig's own rounded pose (viseme_U, Fcl_MTH_U,
  mouthPucker) pulls furthest towards the midline.

Calibrated from the rig's poses: rest (the basis), the artist's closed lips, open mouth,
rounded lips and f/v (viseme_FF; an ARKit-only rig: mouthRollLower). With m = CLOSED_MARGIN of
the open gap:

- closed range = [min(rest, closed) - m, max(rest, closed) + m]; "through each other" = below it;
- open = above the closed range by OPEN_FRACTION of the open gap;
- rounded = the width narrowed from rest by at least ROUND_FRACTION of what the rounded pose
  narrows it;
- f/v = the lower lip at least as close to the upper as the f/v pose puts it: a gap of at most
  the f/v pose's plus m (and never less than the closed range's top).

Imports: numpy; bpy is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLOSED_MARGIN = 0.10       # of the open gap, each side of the closed range
OPEN_FRACTION = 0.20       # of the open gap above the closed range counts as open
ROUND_FRACTION = 0.50      # of the rounded pose's narrowing counts as rounded
LIP_BAND_M = 0.010         # corners are looked for within this height of the lips at rest
                           # (metres on a head 18 cm wide; scaled with the head)


@dataclass
class Probe:
    upper: np.ndarray          # vertex indices of the upper lip at the midline
    lower: np.ndarray          # ... of the lower lip
    corners: np.ndarray        # (2,) vertex indices: the mouth corner at +X, at -X
    rest: float = 0.0          # gaps of the rig's own poses, metres
    closed: float = 0.0
    opened: float = 0.0
    fv: float = 0.0            # gap of the f/v pose, metres
    width_rest: float = 0.0    # mouth widths, metres
    width_round: float = 0.0
    scale: float = 1.0         # the head's width over a real head's (18 cm): world units per metre

    @property
    def margin(self) -> float:
        return CLOSED_MARGIN * (self.opened - max(self.rest, self.closed))

    @property
    def closed_range(self) -> tuple[float, float]:
        return min(self.rest, self.closed) - self.margin, max(self.rest, self.closed) + self.margin

    @property
    def open_threshold(self) -> float:
        hi = self.closed_range[1]
        return hi + OPEN_FRACTION * (self.opened - max(self.rest, self.closed))

    @property
    def fv_limit(self) -> float:
        """Largest lip gap that shows f/v, metres."""
        return max(self.fv + self.margin, self.closed_range[1])

    @property
    def round_limit(self) -> float:
        """Largest mouth width that shows rounded lips, metres."""
        return self.width_rest - ROUND_FRACTION * (self.width_rest - self.width_round)

    def gap(self, world: np.ndarray) -> float:
        return float(world[self.upper, 2].min() - world[self.lower, 2].max())

    def width(self, world: np.ndarray) -> float:
        return float(world[self.corners[0], 0] - world[self.corners[1], 0])

    def millimetres(self) -> dict:
        """The calibration, mm (for reports)."""
        lo, hi = self.closed_range
        return {"rest": self.rest * 1e3, "closed": self.closed * 1e3, "open": self.opened * 1e3,
                "closed_range": [lo * 1e3, hi * 1e3], "open_threshold": self.open_threshold * 1e3,
                "fv": self.fv * 1e3, "fv_limit": self.fv_limit * 1e3,
                "width_rest": self.width_rest * 1e3, "width_round": self.width_round * 1e3,
                "round_limit": self.round_limit * 1e3}


def evaluated_world(bpy, obj) -> np.ndarray:
    """(V, 3) world positions of the evaluated mesh (shape keys, armature), metres."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    mesh = ev.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    co = co.reshape(-1, 3).astype(np.float64)
    mw = np.array(obj.matrix_world)
    return co @ mw[:3, :3].T + mw[:3, 3]


def pose_world(bpy, obj, values: dict[str, float]) -> np.ndarray:
    """World positions with only ``values`` set on the shape keys (restored afterwards)."""
    if obj.data.shape_keys is None:
        raise RuntimeError(f"{obj.name!r} has no shape keys; give the character's head mesh.")
    blocks = obj.data.shape_keys.key_blocks
    missing = [name for name in values if name not in blocks]
    if missing:
        raise RuntimeError(f"{obj.name!r} has no shape key {', '.join(map(repr, missing))}; "
                           "name the rig's own poses in characters.CHARACTERS.")
    saved = {b.name: b.value for b in blocks}
    for b in blocks:
        b.value = 0.0
    for name, v in values.items():
        blocks[name].value = v
    bpy.context.view_layer.update()
    world = evaluated_world(bpy, obj)
    for name, v in saved.items():
        blocks[name].value = v
    bpy.context.view_layer.update()
    return world


def find_lips(bpy, obj, open_key: str, round_key: str, round_pose: dict) -> Probe:
    """Midline lip vertices and mouth corners from the rig's own shapes (module docstring), in
    the evaluated mesh's world space (a skinned avatar's bind space may be anything)."""
    base = pose_world(bpy, obj, {})
    scale = np.ptp(base[:, 0]) / 0.18               # the head's width over a real one's (18 cm)
    rounding = np.linalg.norm(pose_world(bpy, obj, {round_key: 1.0}) - base, axis=1)
    # The midline: X = 0 on a head modelled about it; a captured head may sit a little to one
    # side (Face Cap's, 1 mm at real size), so it is where the rounding shape's moves centre.
    centre = float(np.mean(base[rounding > 0.2 * rounding.max(), 0]))
    mid = np.abs(base[:, 0] - centre) < 1e-3 * scale
    lips = mid & (rounding > 0.2 * rounding[mid].max())
    down = -(pose_world(bpy, obj, {open_key: 1.0}) - base)[:, 2]
    most = down[lips].max()
    lower = np.flatnonzero(lips & (down > 0.5 * most))
    upper = np.flatnonzero(lips & (np.abs(down) < 0.15 * most))
    if not len(lower) or not len(upper):
        raise RuntimeError(f"Could not find the lips of {obj.name!r} from {open_key}/{round_key}.")
    lip_z = base[np.r_[upper, lower], 2].mean()
    side = base[:, 0] - centre
    inward = -np.sign(side) * (pose_world(bpy, obj, round_pose) - base)[:, 0]
    inward[np.abs(base[:, 2] - lip_z) > LIP_BAND_M * scale] = -np.inf
    left, right = np.flatnonzero(side > 0), np.flatnonzero(side < 0)
    corners = np.array([left[np.argmax(inward[left])], right[np.argmax(inward[right])]])
    if not np.all(np.isfinite(inward[corners])) or inward[corners].min() <= 0:
        raise RuntimeError(f"Could not find the mouth corners of {obj.name!r} from {round_pose}.")
    return Probe(upper, lower, corners, scale=float(scale))


def calibrate(bpy, obj, spec: dict) -> Probe:
    """A Probe of ``obj`` with its poses measured; ``spec``: a characters.CHARACTERS entry."""
    probe = find_lips(bpy, obj, next(iter(spec["open"])), spec["round"], spec["rounded"])
    probe.rest = probe.gap(pose_world(bpy, obj, {}))
    probe.closed = probe.gap(pose_world(bpy, obj, spec["closed"]))
    probe.opened = probe.gap(pose_world(bpy, obj, spec["open"]))
    probe.fv = probe.gap(pose_world(bpy, obj, spec["fv"]))
    probe.width_rest = probe.width(pose_world(bpy, obj, {}))
    probe.width_round = probe.width(pose_world(bpy, obj, spec["rounded"]))
    return probe

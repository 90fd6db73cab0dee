"""The demo face's keys above the mouth (eyelids, eyes, brows, cheeks, nose): simple but real.

Blink, wide and squint move the eyelid shells about the eye centre; look keys rotate the
eyeballs; brow keys lift or lower the brow strips and the skin under them; cheekPuff inflates
the cheeks; cheekSquint raises the cheeks and lower lids; noseSneer lifts the skin beside the
nose. Offsets in metres from the basis, (V, 3), like demo_face_keys.

Imports: numpy, demo_face_mesh, demo_face_keys (no bpy).
"""
from __future__ import annotations

import numpy as np

import demo_face_mesh as fm
from demo_face_keys import Face, _vec


def _lid_to(f: Face, side: int, which: str, new_edge_deg: float) -> np.ndarray:
    """Move one eyelid shell so its edge sits ``new_edge_deg`` from its pole."""
    tag = "L" if side > 0 else "R"
    sel = f.is_part(f"{which}_{tag}")
    c = fm.eye_centre(side)
    sgn = 1.0 if which == "lid_up" else -1.0
    edge = fm.LID_UP_EDGE if which == "lid_up" else fm.LID_LOW_EDGE
    p = f.v[sel] - c
    phi = np.arccos(np.clip(sgn * p[:, 2] / fm.LID_R, -1, 1))
    az = np.arctan2(p[:, 1], p[:, 0])
    phi2 = phi * (np.radians(new_edge_deg) / edge)
    q = np.stack([np.sin(phi2) * np.cos(az), np.sin(phi2) * np.sin(az), sgn * np.cos(phi2)], 1)
    d = np.zeros((f.n, 3))
    d[sel] = q * fm.LID_R + c - f.v[sel]
    return d


def blink(f: Face, side: int) -> np.ndarray:
    return _lid_to(f, side, "lid_up", 106.0) + _lid_to(f, side, "lid_low", 78.0)


def wide(f: Face, side: int) -> np.ndarray:
    return _lid_to(f, side, "lid_up", 42.0) + _lid_to(f, side, "lid_low", 52.0)


def squint(f: Face, side: int) -> np.ndarray:
    return _lid_to(f, side, "lid_up", 70.0) + _lid_to(f, side, "lid_low", 72.0)


def look(f: Face, side: int, direction: str) -> np.ndarray:
    """Rotate one eyeball: up/down about X, in/out about Z (in = towards the nose)."""
    tag = "L" if side > 0 else "R"
    sel = f.is_part(f"eye_{tag}")
    p = f.v[sel] - fm.eye_centre(side)
    a = np.radians(22.0)
    q = p.copy()
    if direction in ("Up", "Down"):
        ang = -a if direction == "Up" else a
        q[:, 1] = p[:, 1] * np.cos(ang) - p[:, 2] * np.sin(ang)
        q[:, 2] = p[:, 1] * np.sin(ang) + p[:, 2] * np.cos(ang)
    else:
        ang = a * (side if direction == "Out" else -side)
        q[:, 0] = p[:, 0] * np.cos(ang) - p[:, 1] * np.sin(ang)
        q[:, 1] = p[:, 0] * np.sin(ang) + p[:, 1] * np.cos(ang)
    d = np.zeros((f.n, 3))
    d[sel] = q - p
    if direction == "Down":                     # the upper lid follows the eye down a little
        d += _lid_to(f, side, "lid_up", 74.0)
    return d


def _brow_along(f: Face, side: int) -> np.ndarray:
    """0 at the brow's inner end, 1 at its outer end (brow vertices and nearby skin)."""
    return np.clip((side * f.x - 0.012) / 0.036, 0.0, 1.0)


def _brow_region(f: Face, side: int) -> np.ndarray:
    tag = "L" if side > 0 else "R"
    skin = fm.gauss2(f.x, f.z, side * 0.030, fm.EYE_Z + 0.022, 0.022, 0.011) * f.skin
    return np.where(f.is_part(f"brow_{tag}"), 1.0, skin)


def brow_down(f: Face, side: int) -> np.ndarray:
    w = _brow_region(f, side)
    inner = 1.0 - 0.5 * _brow_along(f, side)
    return _vec(f, dx=-0.0012 * side * w * inner, dz=-0.0045 * w * inner)


def brow_up(f: Face, side: int, inner: bool) -> np.ndarray:
    along = _brow_along(f, side)
    w = _brow_region(f, side) * ((1.0 - along) if inner else along) ** 1.2
    return _vec(f, dz=0.0055 * w)


def cheek_puff(f: Face) -> np.ndarray:
    g = sum(fm.gauss2(f.x, f.z, s * 0.040, f.centre[2] + 0.006, 0.022, 0.022) for s in (1, -1))
    g = g * f.skin
    out = np.stack([f.x, f.y + 0.02, np.zeros(f.n)], 1)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    return out * (0.008 * g)[:, None] + _vec(f, dy=-0.0015 * f.lip_weight(0.004))


def cheek_squint(f: Face, side: int) -> np.ndarray:
    g = fm.gauss2(f.x, f.z, side * 0.036, -0.002, 0.016, 0.012) * f.skin
    return _vec(f, dy=-0.001 * g, dz=0.0035 * g) + 0.6 * _lid_to(f, side, "lid_low", 70.0)


def nose_sneer(f: Face, side: int) -> np.ndarray:
    g = fm.gauss2(f.x, f.z, side * 0.011, -0.010, 0.008, 0.009) * f.skin
    lip = f.up * f.lip_weight(0.006) * fm.gauss2(f.x, 0, side * 0.008, 0, 0.012, 1)
    return _vec(f, dx=-0.0008 * side * g, dz=0.003 * g + 0.0015 * lip)

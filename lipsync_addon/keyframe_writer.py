"""Write shape-key keyframes fast, replacing only the job's own frame range.

Per shape key: read every existing key of its F-curve with ``foreach_get`` (position, handles,
interpolation, handle types), keep those outside ``[first, last]`` exactly as they were, clear,
``keyframe_points.add`` the kept and the new keys in frame order, ``foreach_set`` them and
``fcurve.update()``. 26 curves x 3000 frames take a few hundredths of a second.

Imports: bpy, numpy, lipsync_core (relatively), compat.
"""
from __future__ import annotations

from typing import Any

import bpy
import numpy as np

from . import compat

_EPS = 1e-6        # frames
GROUP = "Lip Sync"
_INT_ATTRS = ("interpolation", "handle_left_type", "handle_right_type", "easing")
_VEC_ATTRS = ("co", "handle_left", "handle_right")


def _read(fcurve: Any) -> dict[str, np.ndarray]:
    points = fcurve.keyframe_points
    n = len(points)
    data = {}
    for name in _VEC_ATTRS:
        arr = np.empty(2 * n, dtype=np.float32)
        points.foreach_get(name, arr)
        data[name] = arr.reshape(n, 2)
    for name in _INT_ATTRS:
        arr = np.empty(n, dtype=np.int32)
        points.foreach_get(name, arr)
        data[name] = arr
    return data


def replace_range(fcurve: Any, frames: np.ndarray, values: np.ndarray,
                  first: float, last: float) -> int:
    """Replace the keys in ``[first, last]`` with ``(frames, values)``; returns keys written."""
    old = _read(fcurve)
    frames_old = old["co"][:, 0]
    keep = (frames_old < first - _EPS) | (frames_old > last + _EPS)
    n_new = len(frames)
    new_co = np.stack([np.asarray(frames, np.float32), np.asarray(values, np.float32)], axis=1)
    co = np.concatenate([old["co"][keep], new_co])
    order = np.argsort(co[:, 0], kind="stable")
    kept = int(keep.sum())
    is_old = np.concatenate([np.ones(kept, bool), np.zeros(n_new, bool)])[order]

    points = fcurve.keyframe_points
    points.clear()
    points.add(len(co))
    points.foreach_set("co", co[order].ravel())
    if kept:
        # restore what the kept keys had; new keys get Bezier + auto-clamped handles
        for name in _INT_ATTRS:
            default = np.empty(len(co), dtype=np.int32)
            points.foreach_get(name, default)
            default[is_old] = old[name][keep][np.argsort(old["co"][keep][:, 0], kind="stable")]
            points.foreach_set(name, default)
        for name in ("handle_left", "handle_right"):
            arr = np.empty((len(co), 2), dtype=np.float32)
            points.foreach_get(name, arr.ravel())
            arr[is_old] = old[name][keep][np.argsort(old["co"][keep][:, 0], kind="stable")]
            points.foreach_set(name, arr.ravel())
    fcurve.update()
    return n_new


def ensure_action(key: Any, name: str) -> Any:
    ad = key.animation_data or key.animation_data_create()
    if ad.action is None:
        ad.action = bpy.data.actions.new(name)
    return ad.action


def write_keys(obj: Any, keys: dict[str, tuple[np.ndarray, np.ndarray]], first: float,
               last: float, use_nla: bool = False) -> int:
    """Key ``obj``'s shape keys; returns the number of keys written."""
    key = obj.data.shape_keys
    action = ensure_action(key, f"{obj.name} Lip Sync")
    written = 0
    for name, (frames, values) in keys.items():
        block = key.key_blocks[name]
        path = block.path_from_id("value")
        fcurve = compat.ensure_fcurve(action, key, path, GROUP)
        written += replace_range(fcurve, frames, values, first, last)
    if use_nla:
        compat.push_to_nla(key, f"Lip Sync {int(first)}-{int(last)}")
    return written

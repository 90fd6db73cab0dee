"""Write shape-key keyframes fast, replacing only the job's own frame range.

Per shape key: read every existing key of its F-curve with ``foreach_get`` (position, handles,
interpolation, handle types), keep those outside ``[first, last]`` exactly as they were, clear,
``keyframe_points.add`` the kept and the new keys in frame order, ``foreach_set`` them and
``fcurve.update()``. 26 curves x 3000 frames take a few hundredths of a second.

Re-keying is clean: shape keys the previous run keyed (recorded on the object) that this run
no longer drives lose their keys in the range, and their F-curve goes when nothing is left.

Reduced key density keeps only the keys needed to stay within a tolerance *of the curve Blender
actually plays*: the keys are chosen for linear interpolation (keyplan.simplify), written with
the interpolation asked for, then the F-curve is evaluated on every frame and any frame further
than the tolerance from the full curve becomes a key too, until none is (Bezier handles overshoot
where linear segments would not).

Imports: bpy, numpy, lipsync_core (relatively), compat.
"""
from __future__ import annotations

from typing import Any, Iterable

import bpy
import numpy as np

from ..lipsync_core import keyplan
from . import compat

_EPS = 1e-6        # frames
GROUP = "Lip Sync"
INTERPOLATIONS = {"CONSTANT": 0, "LINEAR": 1, "BEZIER": 2}   # keyframe interpolation enum values
MAX_REFINE = 12    # rounds of adding keys where the written curve misses the tolerance
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
                  first: float, last: float, interpolation: str | None = None) -> int:
    """Replace the keys in ``[first, last]`` with ``(frames, values)``; returns keys written.

    New keys get ``interpolation`` ("BEZIER", "LINEAR", "CONSTANT"; None: Blender's default,
    Bezier with auto-clamped handles); kept keys keep theirs."""
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
    if interpolation is not None and n_new:
        kinds = np.empty(len(co), dtype=np.int32)
        points.foreach_get("interpolation", kinds)
        kinds[~is_old] = INTERPOLATIONS[interpolation]
        points.foreach_set("interpolation", kinds)
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


def evaluate(fcurve: Any, frames: np.ndarray) -> np.ndarray:
    """(N,) values the F-curve plays at ``frames``."""
    return np.array([fcurve.evaluate(float(f)) for f in frames], dtype=np.float64)


def fit_range(fcurve: Any, frames: np.ndarray, values: np.ndarray, first: float, last: float,
              tolerance: float, interpolation: str = "BEZIER") -> int:
    """Write as few of ``(frames, values)`` (one per frame) as keep the played curve within
    ``tolerance`` of every value; returns keys written."""
    if tolerance <= 0 or len(frames) <= 2:
        return replace_range(fcurve, frames, values, first, last, interpolation)
    keep = np.zeros(len(frames), dtype=bool)
    keep[keyplan.simplify(values, tolerance)] = True
    for _ in range(MAX_REFINE):
        written = replace_range(fcurve, frames[keep], values[keep], first, last, interpolation)
        error = np.abs(evaluate(fcurve, frames) - values)
        missed = (error > tolerance) & ~keep
        if not missed.any():
            return written
        keep |= missed
    return replace_range(fcurve, frames, values, first, last, interpolation)


def clear_range(key: Any, action: Any, names: Iterable[str], first: float, last: float) -> int:
    """Remove keys in ``[first, last]`` from the named shape keys' F-curves (an emptied F-curve
    is removed and its shape key set to 0); returns how many shape keys were cleared."""
    cleared = 0
    for name in names:
        block = key.key_blocks.get(name)
        if block is None:
            continue
        fcurve = compat.find_fcurve(action, key, block.path_from_id("value"))
        if fcurve is None:
            continue
        replace_range(fcurve, np.zeros(0), np.zeros(0), first, last)
        cleared += 1
        if len(fcurve.keyframe_points) == 0:
            compat.remove_fcurve(action, key, fcurve)
            block.value = 0.0
    return cleared


def ensure_action(key: Any, name: str) -> Any:
    ad = key.animation_data or key.animation_data_create()
    if ad.action is None:
        ad.action = bpy.data.actions.new(name)
    return ad.action


def write_keys(obj: Any, keys: dict[str, tuple[np.ndarray, np.ndarray]], first: float,
               last: float, use_nla: bool = False, interpolation: str | None = None,
               tolerance: float = 0.0, previous: Iterable[str] = ()) -> int:
    """Key ``obj``'s shape keys; returns the number of keys written.

    ``keys`` holds one value per frame when ``tolerance`` > 0 (see :func:`fit_range`);
    ``previous`` names the shape keys an earlier run keyed: those not in ``keys`` are cleared
    over ``[first, last]``.
    """
    key = obj.data.shape_keys
    action = ensure_action(key, f"{obj.name} Lip Sync")
    stale = [n for n in dict.fromkeys(previous) if n not in keys]
    if stale:
        clear_range(key, action, stale, first, last)
    written = 0
    for name, (frames, values) in keys.items():
        block = key.key_blocks[name]
        path = block.path_from_id("value")
        fcurve = compat.ensure_fcurve(action, key, path, GROUP)
        frames = np.asarray(frames, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if tolerance > 0:
            written += fit_range(fcurve, frames, values, first, last, tolerance,
                                 interpolation or "BEZIER")
        else:
            written += replace_range(fcurve, frames, values, first, last, interpolation)
    if use_nla:
        compat.push_to_nla(key, f"Lip Sync {int(first)}-{int(last)}")
    return written

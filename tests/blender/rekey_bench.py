"""How long Re-key takes on a keyed character (``characters.py --bench``): kept curves, no model.

Imports: bpy (passed in), the add-on's operators registered by the caller.
"""
from __future__ import annotations

import time


def bench_rekey(bpy, scene, repeats: int = 5) -> dict:
    """Median seconds of bpy.ops.lipsync.rekey() after an intensity change, every-frame keys
    and reduced Bezier keys (tolerance 0.02)."""
    out = {}
    for density in ("ALL", "REDUCED"):
        scene.lipsync.density = density
        times = []
        for i in range(repeats):
            scene.lipsync.intensity = 1.0 - 0.05 * (i % 2)
            t0 = time.perf_counter()
            assert bpy.ops.lipsync.rekey() == {"FINISHED"}
            times.append(time.perf_counter() - t0)
        out[density.lower()] = round(sorted(times)[len(times) // 2], 4)
    scene.lipsync.density, scene.lipsync.intensity = "ALL", 1.0
    return out

"""Blender before 4.4 (legacy ``action.fcurves``): the add-on registers, adds shape keys, writes
and replaces keys and pushes to the NLA there too.

Under the development venv's bpy (5.0) this module re-runs itself with the interpreter named by
``LIPSYNC_BPY42_PYTHON`` (a venv with ``bpy==4.2.23``, ``numpy<2`` and ``pytest``; the Makefile's
optional ``blender42`` target makes one) and is skipped when there is none. 4.2's wheel has no
audio, so sound strips are not exercised here.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_process import ROOT, load_repo_package  # noqa: E402

LEGACY = tuple(bpy.app.version) < (4, 4, 0)


def test_legacy_blender_keys(tmp_path):
    if not LEGACY:
        python = os.environ.get("LIPSYNC_BPY42_PYTHON", "")
        if not python or not os.path.exists(python):
            pytest.skip("no Blender 4.2 interpreter; set LIPSYNC_BPY42_PYTHON to test 4.2")
        env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path)}
        proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
                              cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert "1 passed" in proc.stdout
        return
    pkg = load_repo_package()
    pkg.register()
    try:
        from lipsync_repo.lipsync_addon import compat, keyframe_writer
        assert compat.fcurve_api(tuple(bpy.app.version)) == "legacy"
        bpy.ops.wm.read_factory_settings(use_empty=True)
        mesh = bpy.data.meshes.new("Face")
        mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
        obj = bpy.data.objects.new("Face", mesh)
        bpy.context.scene.collection.objects.link(obj)
        bpy.context.view_layer.objects.active = obj
        assert bpy.ops.lipsync.add_shape_keys(preset="arkit") == {"FINISHED"}
        assert len(obj.lipsync.rows) == 33
        block = obj.data.shape_keys.key_blocks["jawOpen"]
        block.value = 0.3
        block.keyframe_insert("value", frame=1)
        frames = np.arange(10, 110, dtype=float)
        assert keyframe_writer.write_keys(obj, {"jawOpen": (frames, np.linspace(0, 1, 100))},
                                          10, 109) == 100
        action = obj.data.shape_keys.animation_data.action
        fcurve = action.fcurves.find(block.path_from_id("value"))
        assert len(fcurve.keyframe_points) == 101
        keyframe_writer.write_keys(obj, {"jawOpen": (frames[:5], np.zeros(5))}, 10, 109)
        assert len(fcurve.keyframe_points) == 6
        assert tuple(fcurve.keyframe_points[0].co) == pytest.approx((1.0, 0.3))
        keyframe_writer.write_keys(obj, {"mouthClose": (frames, np.ones(100))}, 10, 109,
                                   use_nla=True)
        ad = obj.data.shape_keys.animation_data
        assert ad.action is None and len(ad.nla_tracks) == 1
    finally:
        pkg.unregister()

"""Blender before 4.4 (legacy ``action.fcurves``): the add-on registers, adds shape keys, writes
and replaces keys and pushes to the NLA there too. Runs under a 4.2 wheel (see
test_other_versions.py); skipped under 4.4+, whose layered actions test_addon.py covers. 4.2's
wheel has no audio, so sound strips are not exercised here.
"""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_process import load_repo_package  # noqa: E402

LEGACY = tuple(bpy.app.version) < (4, 4, 0)


@pytest.mark.skipif(not LEGACY, reason="legacy F-curves exist before Blender 4.4 only")
def test_legacy_blender_keys():
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

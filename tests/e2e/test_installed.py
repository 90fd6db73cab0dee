"""The installed extension does the whole job: build the zip, install and enable it in a
throw-away user directory, and run ``bpy.ops.lipsync.generate()`` with the worker spawned from
the installed folder (so the zip really carries inference/, lipsync_core/ and assets/)."""
import importlib.util
import os
import sys

import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("torch")

from blender_process import ROOT, arkit_face, sound_strip, speech_wav  # noqa: E402

MODULE = "bl_ext.user_default.lipsync"


def test_installed_extension_generates(tmp_path, tiny_checkpoint):
    spec = importlib.util.spec_from_file_location("build_extension",
                                                  ROOT / "scripts" / "build_extension.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    zip_path = builder.build(ROOT, tmp_path / "dist")
    assert bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True) == {"FINISHED"}
    environment = sys.modules[MODULE + ".lipsync_addon.environment"]
    installed_root = environment.ROOT
    assert installed_root != ROOT and (installed_root / "inference" / "worker.py").is_file()

    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.model_dir = str(tiny_checkpoint)
    prefs.device = "CPU"
    prefs.python_path = sys.executable
    scene = bpy.context.scene
    obj = arkit_face()
    sound_strip(scene, speech_wav(tmp_path / "speech.wav"))
    assert bpy.ops.lipsync.generate() == {"FINISHED"}     # the ARKit preset is auto-matched
    assert "keys on 29 shape keys" in scene.lipsync.last_report
    assert len(obj.lipsync.rows) == 33                    # the matched preset is kept on the mesh
    worker = sys.modules[MODULE + ".lipsync_addon.worker_client"].current_worker()
    assert worker.config.root == str(installed_root) and worker.alive
    import addon_utils
    addon_utils.disable(MODULE, default_set=True)
    assert not worker.alive                                   # disabling ends the worker

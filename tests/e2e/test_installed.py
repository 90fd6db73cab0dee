"""The installed extension with "Use this Python instead": build the zips, install and enable the
Linux one in a throw-away user directory, point the preference at another Python that has the
runtime's packages of its own (this development venv's), and run ``bpy.ops.lipsync.generate()``
with the worker spawned from the installed folder. That Python gets only the extension root on
its path (Blender's wheels are for Blender's Python), and with Allow Online Access off its
environment says HF_HUB_OFFLINE=1. (Blender's own Python with the bundled wheels, in stock
Blender: test_stock_blender.py.)"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("onnxruntime")

from blender_process import ROOT, arkit_face, needs_audio, sound_strip  # noqa: E402

MODULE = "bl_ext.user_default.lipsync"
SPEECH = ROOT / "assets" / "demo" / "speech_en.wav"


@needs_audio
def test_installed_extension_generates_with_another_python(tmp_path, monkeypatch):
    for name in ("LIPSYNC_PYTHON", "LIPSYNC_MODEL", "LIPSYNC_DEVICE", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("build_extension",
                                                  ROOT / "scripts" / "build_extension.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    zip_path = builder.build(ROOT, tmp_path / "dist")["linux-x64"]
    assert bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True) == {"FINISHED"}
    environment = sys.modules[MODULE + ".lipsync_addon.environment"]
    installed_root = environment.ROOT
    assert installed_root != ROOT and (installed_root / "lipsync_runtime" / "worker.py").is_file()
    assert not (installed_root / "inference").exists()

    # another name of a Python that has the runtime's packages (this venv's python3.x)
    names = ["python{}.{}".format(*sys.version_info[:2]), "python3", "python"]
    other = next(p for p in (Path(sys.executable).with_name(n) for n in names)
                 if p.is_file() and str(p) != sys.executable)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.python_path = str(other)
    prefs.device = "CPU"
    scene = bpy.context.scene
    obj = arkit_face()
    sound_strip(scene, SPEECH)
    assert bpy.ops.lipsync.generate() == {"FINISHED"}     # the ARKit preset is auto-matched
    assert "keys on 29 shape keys" in scene.lipsync.last_report
    worker = sys.modules[MODULE + ".lipsync_addon.worker_client"].current_worker()
    assert worker.config.root == str(installed_root) and worker.alive
    assert worker.config.python == str(other) and worker.config.paths == ()
    assert worker.config.command()[1:6] == ["-m", "lipsync_runtime", "serve", "--device", "cpu"]
    child_env = dict(kv.split("=", 1) for kv in Path(f"/proc/{worker.proc.pid}/environ")
                     .read_bytes().decode("utf-8", "replace").split("\0") if "=" in kv)
    assert child_env["PYTHONPATH"].split(os.pathsep)[0] == str(installed_root)
    assert (child_env.get("HF_HUB_OFFLINE") == "1") == (not bpy.app.online_access)
    import addon_utils
    addon_utils.disable(MODULE, default_set=True)
    assert not worker.alive                                   # disabling ends the worker

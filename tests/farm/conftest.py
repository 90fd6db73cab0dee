"""tests/farm: the farm templates run for real on two .blend shots made from the demo face.

Shared here: ``shots`` (sh010.blend with two characters, Face and Face2, in scene "Demo";
sh020.blend with Face in scene "Shot020"; the dialogue beside them), ``curves`` (what
``python -m inference batch`` makes of that dialogue) and ``keys_in`` (the key counts a saved
.blend holds). Every .blend operation runs in a child process (Blender keeps global state).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MAKE_SHOTS = """
import bpy, sys
out = sys.argv[1]
bpy.ops.wm.open_mainfile(filepath=sys.argv[2])
face = bpy.data.objects["Face"]
twin = face.copy()
twin.data = face.data.copy()                 # its own shape keys
twin.name = "Face2"
bpy.context.scene.collection.objects.link(twin)
bpy.ops.wm.save_as_mainfile(filepath=out + "/sh010.blend", copy=True)
bpy.data.objects.remove(twin)
bpy.context.scene.name = "Shot020"
bpy.ops.wm.save_as_mainfile(filepath=out + "/sh020.blend", copy=True)
"""

READ_KEYS = """
import bpy, json, sys
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
result = {"scenes": [s.name for s in bpy.data.scenes], "objects": {}}
for obj in bpy.data.objects:
    key = obj.data.shape_keys if obj.type == "MESH" else None
    action = key.animation_data.action if key is not None and key.animation_data else None
    if action is None:
        continue
    counts = {}
    for layer in getattr(action, "layers", []):
        for strip in layer.strips:
            for bag in strip.channelbags:
                for fc in bag.fcurves:
                    counts[fc.data_path] = len(fc.keyframe_points)
    for fc in getattr(action, "fcurves", []) or []:
        counts[fc.data_path] = len(fc.keyframe_points)
    result["objects"][obj.name] = counts
print("RESULT" + json.dumps(result))
"""


def run_py(code: str, *args) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="session")
def keys_in():
    def read(blend: Path) -> dict:
        line = next(l for l in run_py(READ_KEYS, blend).splitlines() if l.startswith("RESULT"))
        return json.loads(line[len("RESULT"):])
    return read


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("farm") / "shots"
    folder.mkdir()
    shutil.copy(ROOT / "assets" / "demo" / "speech_en.wav", folder / "speech_en.wav")
    run_py(MAKE_SHOTS, folder, ROOT / "assets" / "demo" / "face.blend")
    return folder


@pytest.fixture(scope="session")
def curves(shots):
    """Folder of curves files for the shots' dialogue, made by the batch command."""
    manifest = shots / "lines.txt"
    manifest.write_text("speech_en.wav\n", encoding="utf-8")
    out = shots.parent / "curves"
    proc = subprocess.run([sys.executable, "-m", "inference", "batch", str(manifest),
                           "-o", str(out), "--workers", "1"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (out / "speech_en.json").is_file()
    return out

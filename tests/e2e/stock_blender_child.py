"""Run by a stock-bpy venv's Python (bpy and what it pulls in, nothing else) for
test_stock_blender.py; no pytest here. Prints one JSON line (the last line of stdout).

    python stock_blender_child.py probe
        {"version": [4, 2, 23], "audio": false, "onnxruntime": false}
    python stock_blender_child.py fixture --out F.blend --wav W --keys KEYS.json
        saves a mesh with the shape keys named in KEYS.json and a sound strip "Dialogue" on W
        (run under a Blender with audio, 4.5, so that 4.2 can open the file)
    python stock_blender_child.py generate --zip Z --wav W --keys KEYS.json [--blend F.blend]
        installs and enables the extension zip in the throw-away BLENDER_USER_RESOURCES the
        caller set, builds the scene (or opens --blend), runs bpy.ops.lipsync.generate() and
        reports what landed, which Python ran the worker and what it said about its device.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time

MODULE = "bl_ext.user_default.lipsync"


def say(result: dict) -> None:
    print(json.dumps(result), flush=True)


def face(keys: list[str]):
    import bpy
    mesh = bpy.data.meshes.new("Face")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new("Face", mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for i, key in enumerate(keys):
        obj.shape_key_add(name=key, from_mix=False).data[i % 3].co.z = 0.1
    return obj


def sound_strip(scene, wav: str) -> None:
    se = scene.sequence_editor or scene.sequence_editor_create()
    strips = se.strips if hasattr(se, "strips") else se.sequences
    se.active_strip = strips.new_sound("Dialogue", wav, 1, 1)


def select(obj) -> None:
    import bpy
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)


def probe() -> dict:
    import bpy
    return {"version": list(bpy.app.version),
            "audio": bool(getattr(bpy.app.build_options, "audaspace", True)),
            "onnxruntime": importlib.util.find_spec("onnxruntime") is not None,
            "python": list(sys.version_info[:2])}


def fixture(args) -> dict:
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 24
    face(json.loads(open(args.keys, encoding="utf-8").read()))
    sound_strip(scene, args.wav)
    bpy.ops.wm.save_as_mainfile(filepath=args.out)
    return {"saved": args.out, "version": list(bpy.app.version)}


def generate(args) -> dict:
    import bpy
    out: dict = {"version": list(bpy.app.version), "python": sys.executable,
                 "onnxruntime_before": importlib.util.find_spec("onnxruntime") is not None}
    keys = json.loads(open(args.keys, encoding="utf-8").read())
    if args.blend:
        bpy.ops.wm.open_mainfile(filepath=args.blend)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    out["install"] = sorted(bpy.ops.extensions.package_install_files(
        filepath=args.zip, repo="user_default", enable_on_install=True))
    out["install_s"] = round(time.perf_counter() - t0, 2)
    scene = bpy.context.scene
    if args.blend:
        obj = bpy.data.objects["Face"]
    else:
        scene.render.fps = 24
        obj = face(keys)
        sound_strip(scene, args.wav)
    select(obj)
    t0 = time.perf_counter()
    out["generate"] = sorted(bpy.ops.lipsync.generate())
    out["generate_s"] = round(time.perf_counter() - t0, 2)      # worker start included
    out["report"] = scene.lipsync.last_report
    shape_keys = obj.data.shape_keys
    ad = shape_keys.animation_data
    action = ad.action if ad is not None else None
    moved = {}
    if action is not None:
        for block in shape_keys.key_blocks[1:]:
            path = block.path_from_id("value")
            fc = _fcurve(action, shape_keys, path)
            if fc is not None and len(fc.keyframe_points):
                values = [k.co[1] for k in fc.keyframe_points]
                moved[block.name] = [len(values), round(max(values) - min(values), 4)]
    out["keyed"] = moved
    wc = sys.modules[MODULE + ".lipsync_addon.worker_client"]
    env = sys.modules[MODULE + ".lipsync_addon.environment"]
    worker = wc.current_worker()
    out["installed_root"] = str(env.ROOT)
    out["worker"] = None if worker is None else {
        "python": worker.config.python, "root": worker.config.root,
        "paths": list(worker.config.paths), "offline": worker.config.offline,
        "log": worker.config.log, "alive": worker.alive}
    out["last_device"] = wc.last_device()
    out["last_provider"] = wc.last_provider()
    out["providers"] = (wc.last_hello() or {}).get("providers")
    t0 = time.perf_counter()
    out["second_generate"] = sorted(bpy.ops.lipsync.generate())
    out["second_generate_s"] = round(time.perf_counter() - t0, 2)   # warm worker
    # the extension's Check, blocking in background mode
    out["check"] = sorted(bpy.ops.lipsync.check_environment())
    prefs_mod = sys.modules[MODULE + ".lipsync_addon.preferences"]
    out["check_summary"] = prefs_mod._status["summary"]
    import addon_utils
    addon_utils.disable(MODULE, default_set=True)
    out["worker_alive_after_disable"] = worker.alive if worker is not None else None
    return out


def _fcurve(action, key_id, path):
    """The F-curve for ``path`` on the shape-key datablock (legacy or layered actions)."""
    if hasattr(action, "fcurves") and tuple(__import__("bpy").app.version) < (4, 4, 0):
        return action.fcurves.find(path)
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                fc = bag.fcurves.find(path)
                if fc is not None:
                    return fc
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("probe", "fixture", "generate"))
    parser.add_argument("--zip")
    parser.add_argument("--wav")
    parser.add_argument("--keys")
    parser.add_argument("--blend")
    parser.add_argument("--out")
    args = parser.parse_args()
    result = {"probe": lambda: probe(), "fixture": lambda: fixture(args),
              "generate": lambda: generate(args)}[args.mode]()
    say(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

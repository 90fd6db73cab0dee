"""Build assets/demo/face.blend: the demo face (object "Face" with the 52 ARKit shape keys and
nothing else: no driver, no corrective key; its mouthClose follows ARKit's convention),
a front camera, lights, simple materials, the scene at 24 fps and a sound strip "Dialogue" that
plays //speech_en.wav from frame 1.

Everything is procedural (scripts/demo_face_mesh.py makes the geometry; demo_face_keys.py and
demo_face_upper_keys.py the shape keys), with no random numbers, so the same script gives the
same face. Run it under the pip ``bpy`` wheel (the file is saved by that Blender version; 5.0.1
here, which Blender 4.x cannot open):

    .venv/bin/python scripts/build_demo_face.py --out assets/demo/face.blend

Imports: bpy, numpy, and the geometry and key modules beside this file.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-blender-"))

import bpy  # noqa: E402

import demo_face_keys  # noqa: E402
import demo_face_mesh  # noqa: E402

LOG = logging.getLogger(__name__)

FPS = 24                                  # scene frame rate of the demo
SPEECH = "speech_en.wav"                  # beside the .blend, referenced as //speech_en.wav
# Material colours, linear RGB: (base colour, roughness).
COLOURS = {
    "skin": ((0.80, 0.52, 0.40), 0.55),
    "lips": ((0.60, 0.20, 0.20), 0.40),
    "mouth": ((0.06, 0.01, 0.012), 0.60),
    "teeth": ((0.90, 0.88, 0.80), 0.25),
    "tongue": ((0.65, 0.22, 0.25), 0.40),
    "sclera": ((0.92, 0.92, 0.90), 0.20),
    "iris": ((0.12, 0.28, 0.45), 0.20),
    "pupil": ((0.01, 0.01, 0.01), 0.10),
    "brow": ((0.12, 0.07, 0.04), 0.80),
}


def reset_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = "Demo"
    return scene


def make_material(name: str, colour, roughness: float) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*colour, 1.0)        # what Workbench shows
    mat.roughness = roughness
    if bpy.app.version < (5, 0, 0):           # 5.0 materials always use nodes
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
        bsdf.inputs["Roughness"].default_value = roughness
    return mat


def make_face(scene: bpy.types.Scene, geo: dict) -> bpy.types.Object:
    verts = geo["verts"]                                      # (V, 3) metres
    mesh = bpy.data.meshes.new("Face")
    mesh.from_pydata(verts.tolist(), [], geo["faces"])
    for name in demo_face_mesh.MATERIALS:
        colour, rough = COLOURS[name]
        mesh.materials.append(make_material(name.capitalize(), colour, rough))
    mesh.polygons.foreach_set("material_index", geo["face_mat"].astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    mesh.validate()
    mesh.update()
    obj = bpy.data.objects.new("Face", mesh)
    scene.collection.objects.link(obj)
    sub = obj.modifiers.new("Subdivision", "SUBSURF")
    sub.levels = 1
    sub.render_levels = 2
    add_vertex_groups(obj, geo)
    add_shape_keys(obj, geo)
    return obj


def add_vertex_groups(obj: bpy.types.Object, geo: dict) -> None:
    """Named regions for riggers and tests: the lip edge (where the lips meet), its middle
    third on each lip, the mouth corners, and the jaw weights jawOpen uses."""
    for name, idx, weights in demo_face_keys.regions(geo):
        group = obj.vertex_groups.new(name=name)
        for i, w in zip(idx.tolist(), weights.tolist()):
            group.add([i], float(w), "REPLACE")


def add_shape_keys(obj: bpy.types.Object, geo: dict) -> None:
    obj.shape_key_add(name="Basis", from_mix=False)
    deltas = demo_face_keys.all_deltas(geo)                   # name -> (V, 3) metres
    base = geo["verts"]
    for name in demo_face_keys.ARKIT_NAMES:
        key = obj.shape_key_add(name=name, from_mix=False)
        key.slider_min, key.slider_max = 0.0, 1.0
        key.value = 0.0                                       # 5.0 starts new keys at 1.0
        key.data.foreach_set("co", (base + deltas[name]).astype(np.float32).ravel())
    obj.data.shape_keys.name = "FaceKeys"
    obj.data.update()


def make_neck(scene: bpy.types.Scene, skin: bpy.types.Material) -> None:
    """A plain neck under the head (its own object, no shape keys)."""
    import bmesh
    bm = bmesh.new()
    bmesh.ops.create_cone(bm, cap_ends=False, segments=32, radius1=0.050, radius2=0.046,
                          depth=0.16)                       # m
    mesh = bpy.data.meshes.new("Neck")
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(skin)
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    neck = bpy.data.objects.new("Neck", mesh)
    neck.location = (0.0, 0.035, -0.160)
    scene.collection.objects.link(neck)


def make_camera_and_lights(scene: bpy.types.Scene) -> None:
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 100.0                                      # mm, portrait: brow to chin
    cam_data.clip_start = 0.05
    cam = bpy.data.objects.new("Camera", cam_data)
    cam.location = (0.0, -0.62, -0.018)
    cam.rotation_euler = (math.radians(90.0), 0.0, 0.0)        # looks down +Y at the face
    scene.collection.objects.link(cam)
    scene.camera = cam
    for name, energy, loc, rot in (
            ("Key", 2.2, (-0.35, -0.45, 0.35), (math.radians(60), 0.0, math.radians(-30))),
            ("Fill", 0.9, (0.40, -0.40, 0.05), (math.radians(80), 0.0, math.radians(45)))):
        light = bpy.data.lights.new(name, "SUN")
        light.energy = energy                                  # W/m^2 (sun)
        light.angle = math.radians(25.0)                       # soft shadows
        obj = bpy.data.objects.new(name, light)
        obj.location = loc
        obj.rotation_euler = rot
        scene.collection.objects.link(obj)
    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.055, 0.06)
    scene.world = world


def set_render(scene: bpy.types.Scene) -> None:
    scene.render.fps = FPS
    scene.render.fps_base = 1.0
    scene.render.resolution_x = 480
    scene.render.resolution_y = 480
    scene.render.resolution_percentage = 100
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_specular_highlight = True
    shading.show_cavity = False
    shading.background_type = "WORLD" if hasattr(shading, "background_type") else shading.background_type
    scene.cycles.samples = 16 if hasattr(scene, "cycles") else 0


def add_dialogue(scene: bpy.types.Scene, out: Path) -> None:
    wav = out.parent / SPEECH
    if not wav.exists():
        raise SystemExit(f"{wav} is missing; run scripts/make_demo_speech.py first.")
    se = scene.sequence_editor_create()
    strips = se.strips if hasattr(se, "strips") else se.sequences
    strip = strips.new_sound("Dialogue", str(wav), 1, 1)      # channel 1, frame 1
    strip.sound.name = SPEECH
    frames = int(math.ceil(strip.frame_final_duration))
    scene.frame_start = 1
    scene.frame_end = max(1, frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "assets" / "demo" / "face.blend")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    scene = reset_scene()
    geo = demo_face_mesh.build()
    face = make_face(scene, geo)
    make_neck(scene, face.data.materials[0])
    make_camera_and_lights(scene)
    set_render(scene)
    add_dialogue(scene, out)
    bpy.context.view_layer.objects.active = face
    face.select_set(True)
    tmp = out.with_name(out.stem + ".tmp.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True)
    for sound in bpy.data.sounds:            # now that the file has a folder: relative paths
        sound.filepath = bpy.path.relpath(sound.filepath)
    bpy.ops.wm.save_mainfile(filepath=str(tmp), compress=True)
    os.replace(tmp, out)
    for leftover in out.parent.glob(out.stem + ".tmp.blend1"):
        leftover.unlink()
    LOG.info("%s: %d vertices, %d ARKit shape keys (no drivers), %d frames at %d fps", out,
             len(geo["verts"]), len(demo_face_keys.ARKIT_NAMES), scene.frame_end, FPS)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

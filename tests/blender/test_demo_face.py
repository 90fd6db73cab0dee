"""The bundled demo face (assets/demo/face.blend): the 52 ARKit shape keys exist and nothing else
(no driver, no corrective key: its mouthClose follows ARKit's convention exactly), the mouth keys
really move the lips and jaw, the Dialogue strip plays the demo speech, the file matches the
script that builds it, and a Workbench render shows the mouth open.

Runs in its own process on the pip ``bpy`` wheel (tests/blender/conftest.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import bpy

ROOT = Path(__file__).resolve().parents[2]
FACE = ROOT / "assets" / "demo" / "face.blend"
sys.path.insert(0, str(ROOT / "scripts"))

import demo_face_keys  # noqa: E402
import demo_face_mesh  # noqa: E402

ARKIT_52 = demo_face_keys.ARKIT_NAMES


@pytest.fixture(scope="module")
def face():
    bpy.ops.wm.open_mainfile(filepath=str(FACE))
    return bpy.data.objects["Face"]


def co(key_block) -> np.ndarray:
    out = np.zeros(len(key_block.data) * 3, np.float32)
    key_block.data.foreach_get("co", out)
    return out.reshape(-1, 3).astype(np.float64)      # (V, 3) metres


def group(face, name: str) -> np.ndarray:
    g = face.vertex_groups[name].index
    return np.array([v.index for v in face.data.vertices
                     if any(e.group == g for e in v.groups)])


def pose(face, **values: float) -> np.ndarray:
    """Vertex positions with these shape-key values, as Blender's relative keys mix them."""
    blocks = face.data.shape_keys.key_blocks
    base = co(blocks["Basis"])
    out = base.copy()
    for name, value in values.items():
        out += value * (co(blocks[name]) - base)
    return out


def lip_gap(face, pts: np.ndarray) -> float:
    """Height between the middles of the upper and lower lip edges, metres."""
    return float(pts[group(face, "LipUpperMiddle"), 2].mean()
                 - pts[group(face, "LipLowerMiddle"), 2].mean())


def test_has_the_52_arkit_keys_at_rest(face):
    keys = face.data.shape_keys.key_blocks
    names = [k.name for k in keys][1:]
    assert len(ARKIT_52) == 52 and len(set(ARKIT_52)) == 52
    assert sorted(names) == sorted(ARKIT_52)
    assert all(k.value == 0.0 for k in keys[1:])
    # a script-built ARKit head follows ARKit exactly: no helper driver on any key
    anim = face.data.shape_keys.animation_data
    assert anim is None or not anim.drivers, [d.data_path for d in anim.drivers]
    schema = json.loads((ROOT / "assets" / "parameters.json").read_text(encoding="utf-8"))
    used = {n for p in schema["parameters"] for half in p.get("arkit", {}).values() for n in half}
    assert used <= set(names), sorted(used - set(names))


def test_every_key_moves_something(face):
    base = co(face.data.shape_keys.key_blocks["Basis"])
    for name in ARKIT_52:
        moved = np.linalg.norm(co(face.data.shape_keys.key_blocks[name]) - base, axis=1).max()
        assert moved > 0.002, f"{name} moves at most {moved * 1000:.2f} mm"


def test_jaw_open_drops_the_lower_lip(face):
    rest, open_ = pose(face), pose(face, jawOpen=1.0)
    lower, upper = group(face, "LipLowerMiddle"), group(face, "LipUpperMiddle")
    assert (open_[lower, 2] - rest[lower, 2]).mean() < -0.015          # > 1.5 cm down
    assert np.abs(open_[upper] - rest[upper]).max() < 0.002
    assert lip_gap(face, rest) < 0.001                                  # closed at rest
    assert lip_gap(face, open_) > 0.015


def test_mouth_close_seals_the_lips_over_an_open_jaw(face):
    # ARKit's convention: mouthClose closes the lips against the open jaw, so mouthClose equal
    # to jawOpen seals them at any opening (the retargeting's seal: jawOpen 0.08 upwards)
    sealed = pose(face, jawOpen=1.0, mouthClose=1.0)
    for jaw in (0.08, 0.3, 0.5, 1.0):
        assert abs(lip_gap(face, pose(face, jawOpen=jaw, mouthClose=jaw))) < 0.002, jaw
    # and, as in ARKit, it is not a seal on its own: above jawOpen the lips go through each
    # other (why the ARKit retargeting keeps mouthClose <= jawOpen)
    assert lip_gap(face, pose(face, jawOpen=0.3, mouthClose=1.0)) < -0.005
    half_closed = pose(face, jawOpen=1.0, mouthClose=0.5)
    assert 0.005 < lip_gap(face, half_closed) < lip_gap(face, pose(face, jawOpen=1.0)) - 0.005
    # The chin still hangs: the jaw is open, only the lips met.
    jaw = group(face, "Jaw")
    assert (sealed[jaw, 2] - pose(face)[jaw, 2]).min() < -0.015


def test_pucker_and_funnel_push_the_lips_forward_and_narrow_them(face):
    rest = pose(face)
    edge = group(face, "LipEdge")
    width = np.ptp(rest[edge, 0])
    for key, min_gap in (("mouthPucker", -0.001), ("mouthFunnel", 0.004)):
        shaped = pose(face, **{key: 1.0})
        assert (shaped[edge, 1] - rest[edge, 1]).mean() < -0.006, key      # forward is -Y
        assert np.ptp(shaped[edge, 0]) < 0.8 * width, key
        assert lip_gap(face, shaped) > min_gap, key
    assert lip_gap(face, pose(face, mouthFunnel=1.0)) > lip_gap(face, pose(face, mouthPucker=1.0))


def test_corner_and_lip_keys_move_the_right_way(face):
    rest = pose(face)
    corners = group(face, "MouthCorners")
    left = corners[rest[corners, 0] > 0]                                 # character's left: +X
    right = corners[rest[corners, 0] < 0]
    smile = pose(face, mouthSmileLeft=1.0)
    assert (smile[left, 2] - rest[left, 2]).min() > 0.004
    assert np.abs(smile[right] - rest[right]).max() < 1e-4
    frown = pose(face, mouthFrownRight=1.0)
    assert (frown[right, 2] - rest[right, 2]).max() < -0.004
    stretch = pose(face, mouthStretchLeft=1.0, mouthStretchRight=1.0)
    assert np.ptp(stretch[corners, 0]) > np.ptp(rest[corners, 0]) + 0.01
    bare = pose(face, mouthUpperUpLeft=1, mouthUpperUpRight=1, mouthLowerDownLeft=1,
                mouthLowerDownRight=1)
    assert lip_gap(face, bare) > 0.010
    rolled = pose(face, mouthRollLower=1.0)
    lower = group(face, "LipLowerMiddle")
    assert (rolled[lower, 1] - rest[lower, 1]).mean() > 0.003           # in, towards +Y


def test_blender_evaluates_the_keys_like_the_test_does(face):
    blocks = face.data.shape_keys.key_blocks
    sub = face.modifiers["Subdivision"]
    sub.show_viewport = False
    try:
        blocks["jawOpen"].value, blocks["mouthClose"].value = 0.6, 0.5
        bpy.context.scene.frame_set(bpy.context.scene.frame_current)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        mesh = face.evaluated_get(depsgraph).to_mesh()
        got = np.array([v.co[:] for v in mesh.vertices])
        face.evaluated_get(depsgraph).to_mesh_clear()
    finally:
        blocks["jawOpen"].value, blocks["mouthClose"].value = 0.0, 0.0
        bpy.context.scene.frame_set(bpy.context.scene.frame_current)
        sub.show_viewport = True
    assert np.allclose(got, pose(face, jawOpen=0.6, mouthClose=0.5), atol=1e-5)


def test_dialogue_strip_plays_the_demo_speech(face):
    scene = bpy.context.scene
    se = scene.sequence_editor
    strips = se.strips_all if hasattr(se, "strips_all") else se.sequences_all
    strip = strips["Dialogue"]
    assert strip.type == "SOUND" and int(strip.frame_start) == 1
    assert strip.sound.filepath == "//speech_en.wav"
    assert Path(bpy.path.abspath(strip.sound.filepath)).resolve() == \
        (ROOT / "assets" / "demo" / "speech_en.wav").resolve()
    assert scene.render.fps == 24 and scene.render.fps_base == 1.0
    assert scene.frame_end >= 24 * 5


def test_the_committed_file_is_what_the_script_builds(face):
    geo = demo_face_mesh.build()
    blocks = face.data.shape_keys.key_blocks
    base = co(blocks["Basis"])
    assert base.shape == geo["verts"].shape
    assert np.allclose(base, geo["verts"], atol=1e-6), "rebuild face.blend with the script"
    deltas = demo_face_keys.all_deltas(geo)
    for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "eyeBlinkLeft"):
        assert np.allclose(co(blocks[name]) - base, deltas[name], atol=1e-6), name


def _render(path: Path) -> np.ndarray:
    scene = bpy.context.scene
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(path))
    w, h = img.size
    px = np.zeros(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1, :, :3]                      # (rows from the top, cols, RGB)


@pytest.mark.slow
def test_a_workbench_render_shows_the_mouth_open(face, tmp_path):
    from bpy_extras.object_utils import world_to_camera_view
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x, scene.render.resolution_y = 160, 120
    scene.render.resolution_percentage = 100
    blocks = face.data.shape_keys.key_blocks
    rest = _render(tmp_path / "rest.png")
    blocks["jawOpen"].value = 1.0
    bpy.context.view_layer.update()
    open_ = _render(tmp_path / "open.png")
    blocks["jawOpen"].value = 0.0
    assert rest.std() > 0.05                                    # not blank
    mouth = face.matrix_world @ face.data.vertices[int(group(face, "LipLowerMiddle")[0])].co
    u, v, _ = world_to_camera_view(scene, scene.camera, mouth)
    col, row = int(u * 160), int((1.0 - v) * 120)
    assert 0 <= col < 160 and 0 <= row < 120
    box = (slice(max(0, row - 12), row + 6), slice(max(0, col - 15), col + 15))
    changed = np.abs(open_ - rest)[box].mean()
    forehead = np.abs(open_ - rest)[:25, 60:100].mean()
    assert changed > 0.05, changed
    assert forehead < 0.01, forehead

"""One Ctrl+Z undoes one Generate, keys on every mesh it keyed included, through Blender's own
undo stack (``bpy.ops.ed.undo``/``redo`` run in the bpy wheel's background mode: memfile undo).

What this cannot show without a window: the modal path (a click in the panel) pushes its undo
step when ``modal()`` returns FINISHED; Blender does that for every operator registered with
UNDO, the same flag the synchronous path is tested with here.
"""
import os

import pytest

bpy = pytest.importorskip("bpy")

from blender_process import arkit_face, load_repo_package, sound_strip, speech_wav  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import compat  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def setup(tiny_runtime_model):
    os.environ["LIPSYNC_MODEL"] = str(tiny_runtime_model)
    os.environ["LIPSYNC_DEVICE"] = "cpu"
    pkg.register()
    yield
    pkg.unregister()


def jaw_keys(name):
    """Keyframes on the jawOpen shape key of object ``name`` (looked up anew: undo frees
    Python references), 0 when it has none."""
    obj = bpy.data.objects[name]
    key = obj.data.shape_keys
    ad = key.animation_data
    if ad is None or ad.action is None:
        return 0
    fc = compat.find_fcurve(ad.action, key, key.key_blocks["jawOpen"].path_from_id("value"))
    return 0 if fc is None else len(fc.keyframe_points)


def test_one_undo_removes_one_generate_on_every_mesh_and_redo_brings_it_back(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    teeth = arkit_face("Teeth")
    face = arkit_face("Face")                    # active, both selected
    teeth.select_set(True)
    sound_strip(scene, speech_wav(tmp_path / "speech.wav"))
    bpy.ops.ed.undo_push(message="start")
    face.location.x = 3.0                        # the artist's last change before Generate
    bpy.ops.ed.undo_push(message="move")
    # as a button click calls it: an undo step when the operator asks for one (Python calls
    # default to none; "INVOKE_DEFAULT" goes synchronous in background, see generate_operator)
    assert bpy.ops.lipsync.generate("INVOKE_DEFAULT", True, mapping="arkit") == {"FINISHED"}
    assert "'Teeth'" in bpy.context.scene.lipsync.last_report
    assert jaw_keys("Face") > 10 and jaw_keys("Teeth") > 10
    bpy.ops.ed.undo()
    # the Generate is gone from both meshes, and nothing before it
    assert jaw_keys("Face") == 0 and jaw_keys("Teeth") == 0
    assert bpy.data.objects["Face"].location.x == 3.0
    bpy.ops.ed.redo()
    assert jaw_keys("Face") > 10 and jaw_keys("Teeth") > 10

"""Capture once, key many; every mesh of a head; clean re-keys; reduced keys that honour their
tolerance for the interpolation written. The add-on on the real bpy wheel, no worker: the curves
come from files in the format ``predict`` writes (lipsync_core.curves)."""
import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_process import ROOT, arkit_face, load_repo_package, needs_audio, sound_strip  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import capture_store, compat, keyframe_writer  # noqa: E402
from lipsync_repo.lipsync_core import curves as curves_mod  # noqa: E402
from lipsync_repo.lipsync_core import keyplan  # noqa: E402
from lipsync_repo.lipsync_core.params import BY_NAME, NUM_PARAMS, PARAM_NAMES  # noqa: E402

SPEECH = ROOT / "assets" / "demo" / "speech_en.wav"      # 7.26 s


@pytest.fixture(scope="module", autouse=True)
def registered():
    pkg.register()
    yield
    pkg.unregister()


@pytest.fixture
def scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    s = bpy.context.scene
    s.render.fps, s.render.fps_base = 24, 1
    return s


@pytest.fixture(scope="module")
def curves_file(tmp_path_factory) -> Path:
    """Curves over the whole file at 50 Hz: a jaw that opens and shuts, three closures."""
    t = np.arange(363) / 50.0                       # as predict gives for the 7.26 s file
    frames = np.zeros((t.size, NUM_PARAMS), np.float32)
    frames[:, BY_NAME["jaw_open"].index] = 0.3 + 0.25 * np.sin(2 * np.pi * 1.3 * t)
    for a in (1.0, 3.0, 5.0):
        frames[(t >= a) & (t < a + 0.12), BY_NAME["mouth_close"].index] = 1.0
    c = curves_mod.Curves(fps=50.0, start_time=0.0, params=PARAM_NAMES, frames=frames,
                          model={"name": "test curves", "identity": "abc123"})
    path = tmp_path_factory.mktemp("curves") / "speech_en.json"
    curves_mod.write_curves(path, c)
    return path


def mesh_with_keys(name, keys, empty=()):
    """A triangle with shape keys that each move a vertex (those in ``empty`` move nothing)."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for i, k in enumerate(keys):
        block = obj.shape_key_add(name=k, from_mix=False)
        if k not in empty:
            block.data[i % 3].co.z = 0.01
    obj.select_set(True)
    return obj


def fcurve_of(obj, name):
    key = obj.data.shape_keys
    ad = key.animation_data
    if ad is None or ad.action is None:
        return None
    return compat.find_fcurve(ad.action, key, key.key_blocks[name].path_from_id("value"))


def keys_of(obj, name):
    fc = fcurve_of(obj, name)
    if fc is None:
        return np.zeros((0, 2))
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def head_scene(scene):
    sound_strip(scene, SPEECH, frame_start=1)
    head = arkit_face("Head")
    teeth = mesh_with_keys("Teeth", ["jawOpen", "mouthClose"])
    beard = mesh_with_keys("Beard", ["Jaw_Open", "Mouth_Smile_L"])      # CC4 spelling
    hat = mesh_with_keys("Hat", ["Squash"])                               # nothing maps it
    bpy.context.view_layer.objects.active = head
    head.select_set(True)
    bpy.ops.lipsync.load_preset(preset="arkit")
    return head, teeth, beard, hat


@needs_audio
def test_import_keys_every_mesh_of_the_head_and_keeps_the_curves(scene, curves_file):
    head, teeth, beard, hat = head_scene(scene)
    assert bpy.ops.lipsync.import_curves(filepath=str(curves_file)) == {"FINISHED"}
    report = scene.lipsync.last_report
    assert "'Teeth'" in report and "'Beard'" in report and "Hat" in report, report
    for obj, name in ((head, "jawOpen"), (teeth, "jawOpen"), (beard, "Jaw_Open")):
        assert len(keys_of(obj, name)) > 100, obj.name
    assert hat.data.shape_keys.animation_data is None
    np.testing.assert_allclose(keys_of(teeth, "jawOpen"), keys_of(head, "jawOpen"))
    # ARKit convention on every mesh: mouthClose never above jawOpen
    close, jaw = keys_of(teeth, "mouthClose"), keys_of(teeth, "jawOpen")
    assert close[:, 1].max() > 0.05 and np.all(close[:, 1] <= jaw[:, 1] + 1e-6)
    # the curves are kept in the .blend with the model's identity
    text = capture_store.find(bpy.data, scene.name, "Dialogue")
    head_line = json.loads(text.lines[0].body)
    assert head_line["model_identity"] == "abc123" and head_line["origin"].startswith("imported")
    kept, _ = capture_store.load(bpy.data, scene.name, "Dialogue")
    assert kept.num_frames == 363


@needs_audio
def test_rekey_follows_settings_without_the_model(scene, curves_file, tmp_path):
    head, teeth, beard, hat = head_scene(scene)
    bpy.ops.lipsync.import_curves(filepath=str(curves_file))
    before = keys_of(head, "jawOpen")
    scene.lipsync.intensity = 0.5
    assert bpy.ops.lipsync.rekey() == {"FINISHED"}
    after = keys_of(head, "jawOpen")
    np.testing.assert_allclose(after[:, 1], np.clip(before[:, 1] * 0.5, 0, 1), atol=1e-5)
    scene.lipsync.lead_ms = 30.0 + 1000.0 / 24                 # one frame more lead
    bpy.ops.lipsync.rekey()
    moved = keys_of(head, "jawOpen")
    assert moved[0, 0] == after[0, 0] - 1
    # survives a save and reload
    blend = tmp_path / "kept.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    bpy.context.view_layer.objects.active = bpy.data.objects["Head"]
    assert bpy.ops.lipsync.rekey() == {"FINISHED"}


@needs_audio
def test_rekey_without_kept_curves_is_one_sentence(scene):
    sound_strip(scene, SPEECH)
    arkit_face()
    with pytest.raises(RuntimeError, match="No curves are kept for strip 'Dialogue'; run Generate"):
        bpy.ops.lipsync.rekey()


@needs_audio
def test_a_new_table_removes_the_previous_runs_keys(scene, curves_file):
    head, *_ = head_scene(scene)
    block = head.data.shape_keys.key_blocks["mouthFunnel"]
    block.value = 0.4
    block.keyframe_insert("value", frame=-50)                    # outside the strip: kept
    bpy.ops.lipsync.import_curves(filepath=str(curves_file))
    assert len(keys_of(head, "mouthFunnel")) > 100 and len(keys_of(head, "mouthPucker")) > 100
    for row in head.lipsync.rows:                                # the rounding rows go
        if row.parameter in ("lip_funnel", "lip_pucker"):
            row.enabled = False
    assert bpy.ops.lipsync.rekey() == {"FINISHED"}
    assert keys_of(head, "mouthFunnel").tolist() == [[-50.0, pytest.approx(0.4)]]
    assert fcurve_of(head, "mouthPucker") is None                # emptied: removed
    assert head.data.shape_keys.key_blocks["mouthPucker"].value == 0.0
    assert len(keys_of(head, "jawOpen")) > 100


@pytest.mark.parametrize("interpolation", ["BEZIER", "LINEAR"])
def test_reduced_keys_honour_the_tolerance_of_the_curve_blender_plays(scene, interpolation):
    obj = arkit_face()
    frames = np.arange(0, 400, dtype=float)
    x = frames / 400
    values = 0.5 + 0.4 * np.sin(2 * np.pi * 3 * x) * np.exp(-2 * x)
    values[150:154] = [0.0, 1.0, 1.0, 0.0]                        # a closure: sharp corners
    tol = 0.01
    n = keyframe_writer.write_keys(obj, {"jawOpen": (frames, values)}, 0, 399,
                                   interpolation=interpolation, tolerance=tol)
    fc = fcurve_of(obj, "jawOpen")
    played = keyframe_writer.evaluate(fc, frames)
    assert np.abs(played - values).max() <= tol + 1e-6
    assert n == len(fc.keyframe_points) < 200
    assert {k.interpolation for k in fc.keyframe_points} == {interpolation}


def test_keys_chosen_for_straight_lines_miss_the_tolerance_as_bezier(scene):
    # why the writer checks the played curve: the simplify() keys, written as Bezier, overshoot
    obj = arkit_face()
    frames = np.arange(0, 400, dtype=float)
    values = np.where((frames > 150) & (frames < 154), 1.0, 0.0) + 0.3 * frames / 400
    idx = keyplan.simplify(values, 0.01)
    keyframe_writer.write_keys(obj, {"jawOpen": (frames[idx], values[idx])}, 0, 399,
                               interpolation="BEZIER")
    played = keyframe_writer.evaluate(fcurve_of(obj, "jawOpen"), frames)
    assert np.abs(played - values).max() > 0.01


@needs_audio
@pytest.mark.parametrize("ext", [".json", ".csv", ".npz"])
def test_export_and_import_the_kept_curves(scene, curves_file, tmp_path, ext):
    head_scene(scene)
    bpy.ops.lipsync.import_curves(filepath=str(curves_file))
    out = tmp_path / f"export{ext}"
    assert bpy.ops.lipsync.export_curves(filepath=str(out)) == {"FINISHED"}
    back = curves_mod.read_curves(out)
    kept, _ = capture_store.load(bpy.data, scene.name, "Dialogue")
    np.testing.assert_allclose(back.frames, kept.frames, atol=1e-5)
    assert back.fps == pytest.approx(kept.fps)
    assert bpy.ops.lipsync.import_curves(filepath=str(out)) == {"FINISHED"}


@needs_audio
def test_export_live_link_face_csv(scene, curves_file, tmp_path):
    head_scene(scene)
    bpy.ops.lipsync.import_curves(filepath=str(curves_file))
    out = tmp_path / "take.csv"
    assert bpy.ops.lipsync.export_curves(filepath=str(out), format="LIVELINK") == {"FINISHED"}
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:2] == ["Timecode", "BlendShapeCount"] and "JawOpen" in header


def test_viseme_convention_and_options_live_in_the_table(scene):
    obj = mesh_with_keys("Avatar", [f"viseme_{v}" for v in "sil PP FF aa O U".split()])
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.lipsync.auto_match() == {"FINISHED"}
    assert "viseme solve" in scene.lipsync.last_report
    assert obj.lipsync.convention == "solve"
    from lipsync_repo.lipsync_addon import properties
    table = properties.rows_to_mapping(obj)
    assert table.convention == "solve" and set(table.shape_keys) == \
        {f"viseme_{v}" for v in "PP FF aa O U".split()}
    obj.lipsync.mode, obj.lipsync.min_hold_ms = "hold", 80.0
    assert properties.rows_to_mapping(obj).options.mode == "hold"


def test_the_writer_clears_shapes_an_earlier_run_keyed(scene):
    obj = arkit_face()
    frames = np.arange(10, 60, dtype=float)
    keyframe_writer.write_keys(obj, {"jawOpen": (frames, np.full(50, 0.5)),
                                     "mouthFunnel": (frames, np.full(50, 0.7))}, 10, 59)
    block = obj.data.shape_keys.key_blocks["mouthPucker"]
    block.value = 0.2
    block.keyframe_insert("value", frame=100)                    # outside the range: kept
    keyframe_writer.write_keys(obj, {"mouthPucker": (frames, np.full(50, 0.3))}, 10, 59)
    keyframe_writer.write_keys(obj, {"jawOpen": (frames, np.full(50, 0.4))}, 10, 59,
                               previous=["jawOpen", "mouthFunnel", "mouthPucker"])
    assert fcurve_of(obj, "mouthFunnel") is None
    assert obj.data.shape_keys.key_blocks["mouthFunnel"].value == 0.0
    assert keys_of(obj, "mouthPucker").tolist() == [[100.0, pytest.approx(0.2)]]
    assert len(keys_of(obj, "jawOpen")) == 50


@needs_audio
def test_generate_keeps_the_workers_model_identity_with_the_curves(scene, curves_file):
    # what the operator does with a worker's result: finish() with the hello's "model" dict
    from lipsync_repo.lipsync_addon import job as job_mod
    head, teeth, beard, hat = head_scene(scene)
    job = job_mod.prepare(scene, head, others=[teeth, beard, hat])
    assert [t.object_name for t in job.others] == ["Teeth", "Beard"]
    assert any("Hat" in w for w in job.warnings)
    curves = curves_mod.read_curves(curves_file)
    hello_model = {"name": "shipped", "identity": "f00d" * 16, "format": "lipsync-runtime/1"}
    report = job_mod.finish(job, head, {"curves": curves.to_dict()}, "CPU", model=hello_model)
    job.cleanup()
    assert report.meshes == ("Teeth", "Beard")
    _, head_line = capture_store.load(bpy.data, scene.name, "Dialogue")
    assert head_line["model_identity"] == "f00d" * 16 and head_line["model"]["name"] == "shipped"
    assert head_line["origin"] == "model"


@needs_audio
def test_a_new_preset_or_setting_rekeys_a_keyed_mesh_by_itself(scene, curves_file):
    from lipsync_repo.lipsync_addon import properties
    head, *_ = head_scene(scene)
    assert properties.auto_rekey(bpy.context) is False          # never keyed: nothing happens
    bpy.ops.lipsync.import_curves(filepath=str(curves_file))
    before = keys_of(head, "jawOpen")
    scene.lipsync.intensity = 0.5                               # the panel's update calls:
    assert properties.auto_rekey(bpy.context) is True
    np.testing.assert_allclose(keys_of(head, "jawOpen")[:, 1], before[:, 1] * 0.5, atol=1e-5)
    # loading another preset re-keys too: on a head with both name sets (as Ready Player Me
    # has), the viseme solve replaces the ARKit keys
    for v in ("PP", "aa", "O", "U"):
        head.shape_key_add(name=f"viseme_{v}", from_mix=False)
    scene.lipsync.intensity = 1.0
    bpy.ops.lipsync.load_preset(preset="oculus")
    assert fcurve_of(head, "mouthFunnel") is None and fcurve_of(head, "jawOpen") is None
    assert len(keys_of(head, "viseme_aa")) > 100 and keys_of(head, "viseme_PP")[:, 1].max() > 0.8
    assert scene.lipsync.last_report.startswith("Lip sync on 'Head'")


def test_auto_match_ignores_shapes_that_move_nothing(scene):
    # a converted VRoid avatar: ARKit names whose jawOpen is empty (a bone opens its jaw),
    # real Oculus visemes and Fcl_MTH shapes -> not the ARKit convention
    arkit = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft",
             "mouthSmileRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
             "mouthPressRight", "mouthRollLower", "mouthRollUpper", "mouthStretchLeft",
             "mouthStretchRight", "tongueOut"]
    visemes = [f"viseme_{v}" for v in "sil PP FF TH DD kk CH SS nn RR aa E I O U".split()]
    obj = mesh_with_keys("Face", arkit + visemes, empty=("jawOpen",))
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.lipsync.auto_match() == {"FINISHED"}
    assert obj.lipsync.convention == "solve" and "Oculus" in scene.lipsync.last_report
    obj.data.shape_keys.key_blocks["jawOpen"].data[0].co.z = 0.02      # now the jaw moves
    assert bpy.ops.lipsync.auto_match() == {"FINISHED"}
    assert obj.lipsync.convention == "arkit" and "ARKit convention" in scene.lipsync.last_report

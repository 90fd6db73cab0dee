"""``bpy.ops.lipsync.generate()`` end to end: the add-on on the bpy wheel, the real worker
process (``python -m inference serve``) and a tiny random checkpoint, on real (Piper) speech
framed by silence, at a non-ASCII path.

A random model says nothing about mouth shapes, but the pipeline's silence gate holds the mouth
at rest through long silences, so where the keys leave zero tells whether timing and lead are
right.
"""
import json
import math
import os
import subprocess
import sys
import wave

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("torch")

from blender_process import ROOT, arkit_face, load_repo_package, sound_strip, speech_wav  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import compat, worker_client  # noqa: E402
from lipsync_repo.lipsync_core import keyplan  # noqa: E402

SILENCE_S = 1.0          # seconds of silence before and after the speech
FPS, FPS_BASE = 30, 1.001
ANTICIPATION_S = 0.18    # seconds of model output the silence gate keeps before speech


@pytest.fixture(scope="module", autouse=True)
def setup(tiny_runtime_model):
    os.environ["LIPSYNC_MODEL"] = str(tiny_runtime_model)
    os.environ["LIPSYNC_DEVICE"] = "cpu"
    pkg.register()
    yield
    pkg.unregister()
    assert worker_client.current_worker() is None          # unregister shut the worker down


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Speech with SILENCE_S of silence on each side; returns (path, speech onset seconds)."""
    folder = tmp_path_factory.mktemp("声")
    raw = speech_wav(folder / "raw.wav")
    with wave.open(str(raw)) as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), np.int16)
    loud = np.flatnonzero(np.abs(data) > 0.05 * np.abs(data).max())
    data = data[loud[0]:loud[-1] + 1]                       # trim Piper's own edges
    pad = np.zeros(int(SILENCE_S * rate), np.int16)
    path = folder / "せりふ.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(np.concatenate([pad, data, pad]).tobytes())
    return path, SILENCE_S, SILENCE_S + len(data) / rate


def new_scene(speech_path, frame_start=11, trim=6):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, FPS_BASE
    obj = arkit_face()
    strip = sound_strip(scene, speech_path, frame_start=frame_start)
    strip.frame_offset_start = trim
    return scene, obj, strip


def fcurve_of(obj, name):
    key = obj.data.shape_keys
    ad = key.animation_data
    if ad is None or ad.action is None:
        return None
    return compat.find_fcurve(ad.action, key, key.key_blocks[name].path_from_id("value"))


def keys_of(obj, name):
    fc = fcurve_of(obj, name)
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def timing_of(scene, strip, path):
    return keyplan.StripTiming(strip.frame_start, strip.frame_final_start, strip.frame_final_end,
                               scene.render.fps / scene.render.fps_base,
                               getattr(strip, "sound_offset", 0.0),
                               file_duration=wave.open(str(path)).getnframes()
                               / wave.open(str(path)).getframerate())


def first_moving_frame(keys, start_frame):
    """First keyed frame after start_frame whose value leaves rest."""
    moving = keys[(keys[:, 0] >= start_frame) & (keys[:, 1] > 1e-3)]
    return moving[0, 0]


def test_generate_keys_timing_lead_and_rerun(speech):
    path, onset, offset = speech
    scene, obj, strip = new_scene(path)
    block = obj.data.shape_keys.key_blocks["jawOpen"]
    for frame, value in ((-50, 0.25), (5000, 0.75)):          # keys outside the strip's range
        block.value = value
        block.keyframe_insert("value", frame=frame)

    assert bpy.ops.lipsync.generate(mapping="arkit", lead_ms=0.0) == {"FINISHED"}
    report = scene.lipsync.last_report
    assert "keys on 29 shape keys" in report and "cpu" in report.lower(), report
    t = timing_of(scene, strip, path)
    plan0 = keyplan.plan(t, 0.0)
    keys = keys_of(obj, "jawOpen")
    inside = keys[(keys[:, 0] >= plan0.first_frame) & (keys[:, 0] <= plan0.last_frame)]
    # one key per frame over exactly the strip's audio, the outside keys untouched
    assert plan0.first_frame == strip.frame_final_start
    assert plan0.last_frame == strip.frame_final_end - 1
    np.testing.assert_array_equal(inside[:, 0], np.arange(plan0.first_frame, plan0.last_frame + 1))
    assert keys[0].tolist() == [-50.0, 0.25] and keys[-1].tolist() == [5000.0, 0.75]
    assert len(keys) == plan0.num_frames + 2
    assert ((inside[:, 1] >= 0) & (inside[:, 1] <= 1)).all()
    # the mouth rests in the leading silence and moves with the speech, on the right frame
    # The pipeline keeps the model's own anticipation before speech (120 ms, then a 60 ms ease
    # to rest: GATE_* in inference/pipeline.py); a random tiny model's output shows there.
    expected = t.frame_of(onset)                                # where the speech starts
    earliest = t.frame_of(onset, ANTICIPATION_S)
    moving0 = first_moving_frame(keys, plan0.first_frame)
    assert earliest - 2 <= moving0 <= expected + 4, (moving0, earliest, expected)
    assert inside[inside[:, 0] < earliest - 5, 1].max() < 1e-3

    # a re-run with a 200 ms lead replaces its own range only, and moves the onset earlier
    assert bpy.ops.lipsync.generate(mapping="arkit", lead_ms=200.0) == {"FINISHED"}
    plan2 = keyplan.plan(t, 200.0)
    keys2 = keys_of(obj, "jawOpen")
    assert plan2.first_frame == math.ceil(strip.frame_final_start - 0.2 * t.fps - 1e-6)
    assert keys2[0].tolist() == [-50.0, 0.25] and keys2[-1].tolist() == [5000.0, 0.75]
    frames = keys2[1:-1, 0]
    assert len(np.unique(frames)) == len(frames)
    # old keys of plan0's range that lie outside plan2's range (the last 6 frames) survive
    assert frames[0] == plan2.first_frame
    assert frames[-1] == plan0.last_frame
    moving2 = first_moving_frame(keys2, plan2.first_frame)
    assert moving0 - moving2 == pytest.approx(0.2 * t.fps, abs=1.01), (moving0, moving2)


def test_worker_stays_warm_and_generate_is_one_undo_step(speech):
    # one Ctrl+Z undoing one run (several meshes too) is tested through Blender's undo stack
    # in test_undo.py; here: one call makes every change, a failing call none (crash test).
    path, _, _ = speech
    scene, obj, strip = new_scene(path)
    worker = worker_client.current_worker()
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}
    assert worker_client.current_worker() is worker and worker.alive   # warm: same process
    assert "UNDO" in bpy.types.LIPSYNC_OT_generate.bl_options
    assert all(fcurve_of(obj, k) is not None for k in ("jawOpen", "mouthClose", "tongueOut"))


def test_worker_crash_mid_run_writes_nothing(speech, monkeypatch):
    path, _, _ = speech
    scene, obj, strip = new_scene(path)
    real_poll = worker_client.Worker.poll

    def crash_on_progress(self, timeout=0.0):
        message = real_poll(self, timeout)
        if message is not None and message.get("type") == "progress":
            self.proc.kill()                                  # the worker dies mid-job
        return message

    monkeypatch.setattr(worker_client.Worker, "poll", crash_on_progress)
    with pytest.raises(RuntimeError, match="inference worker stopped"):
        bpy.ops.lipsync.generate(mapping="arkit")
    assert obj.data.shape_keys.animation_data is None           # nothing written
    assert worker_client.current_worker() is None              # discarded
    monkeypatch.setattr(worker_client.Worker, "poll", real_poll)
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}   # a fresh worker
    assert fcurve_of(obj, "jawOpen") is not None


def test_packed_and_muted_sound(speech, tmp_path):
    path, _, _ = speech
    copy = tmp_path / "packed.wav"
    copy.write_bytes(path.read_bytes())
    scene, obj, strip = new_scene(copy)
    strip.sound.pack()
    strip.mute = True
    copy.unlink()
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}
    assert "muted" in scene.lipsync.last_report
    assert len(keys_of(obj, "jawOpen")) > 10


def test_mapping_naming_missing_shape_keys_is_reported(speech):
    path, _, _ = speech
    scene, obj, strip = new_scene(path)
    obj.shape_key_remove(obj.data.shape_keys.key_blocks["mouthClose"])
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}
    assert "mouthClose" in scene.lipsync.last_report and "Skipped 1" in scene.lipsync.last_report


def test_batch_script_in_module_mode(speech, tmp_path, tiny_runtime_model):
    path, _, _ = speech
    scene, obj, strip = new_scene(path)
    bare = bpy.data.objects.new("Face2", bpy.data.meshes.new("Face2"))  # no shape keys at all
    scene.collection.objects.link(bare)
    blend = tmp_path / "場面" / "scene.blend"
    blend.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "out" / "result.blend"
    env = {**os.environ, "LIPSYNC_MODEL": str(tiny_runtime_model)}
    cmd = [sys.executable, str(ROOT / "lipsync_addon" / "batch.py"), "--blend", str(blend),
           "--object", "Face", "--object", "Face2", "--strip", "Dialogue", "--mapping", "arkit",
           "--lead-ms", "60", "--device", "cpu", "--output", str(out), "--add-missing-shape-keys",
           "--summary", str(tmp_path / "summary.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["ok"] and [j["object"] for j in summary["jobs"]] == ["Face", "Face2"]
    assert all(j["keys"] > 0 and j["device"] for j in summary["jobs"])
    bpy.ops.wm.open_mainfile(filepath=str(out))
    face2 = bpy.data.objects["Face2"]
    assert len(face2.data.shape_keys.key_blocks) == 30          # Basis + the preset's 29 keys
    assert len(keys_of(face2, "jawOpen")) == summary["jobs"][1]["keys"] // 29
    # failure: one line on stderr, non-zero exit, nothing saved
    bad = subprocess.run(cmd[:4] + ["--object", "Nope", "--output", str(tmp_path / "no.blend")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == \
        f"lipsync batch: There is no object named 'Nope' in {blend}."
    assert not (tmp_path / "no.blend").exists()


def test_one_generate_keys_the_teeth_too_and_rekeys_without_the_worker(speech):
    from lipsync_repo.lipsync_addon import capture_store
    path, _, _ = speech
    scene, obj, strip = new_scene(path)
    teeth = bpy.data.objects.new("Teeth", bpy.data.meshes.new("Teeth"))
    teeth.data.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    scene.collection.objects.link(teeth)
    teeth.shape_key_add(name="Basis", from_mix=False)
    teeth.shape_key_add(name="jawOpen", from_mix=False)
    teeth.select_set(True)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}
    assert "'Teeth'" in scene.lipsync.last_report
    np.testing.assert_allclose(keys_of(teeth, "jawOpen"), keys_of(obj, "jawOpen"))
    hello_model = worker_client.current_worker().hello["model"]
    _, head = capture_store.load(bpy.data, scene.name, strip.name)
    assert head["model"] == hello_model and head["model_identity"]
    # the model is not needed again: no worker, a new intensity, keys follow (last in this
    # module: the tests above share the warm worker)
    worker_client.shutdown_worker()
    before = keys_of(obj, "jawOpen")
    scene.lipsync.intensity = 0.5
    assert bpy.ops.lipsync.rekey() == {"FINISHED"}
    assert worker_client.current_worker() is None
    np.testing.assert_allclose(keys_of(obj, "jawOpen")[:, 1], before[:, 1] * 0.5, atol=1e-5)
    np.testing.assert_allclose(keys_of(teeth, "jawOpen"), keys_of(obj, "jawOpen"))

"""The add-on loaded from the repository on the real bpy wheel, without the worker: registration,
mapping table operators, the strip reader, the fast key writer, bad-input messages."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_process import (arkit_face, load_repo_package, needs_audio, sound_strip,  # noqa: E402
                             speech_wav, wav_seconds)

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import compat, keyframe_writer, strip_source  # noqa: E402
from lipsync_repo.lipsync_addon import job as job_mod  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def registered():
    pkg.register()
    yield
    pkg.unregister()


@pytest.fixture
def scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return speech_wav(tmp_path_factory.mktemp("音声") / "せりふ.wav")


def test_fcurve_branch_follows_the_version():
    assert compat.fcurve_api((4, 2, 23)) == "legacy"
    assert compat.fcurve_api((4, 3, 2)) == "legacy"
    assert compat.fcurve_api((4, 4, 0)) == "layered"
    assert compat.fcurve_api((5, 0, 1)) == "layered"
    assert compat.fcurve_api(tuple(bpy.app.version)) == ("layered" if bpy.app.version >= (4, 4, 0)
                                                         else "legacy")


def test_operators_and_properties_are_registered(scene):
    for op in ("generate", "cancel", "load_preset", "auto_match", "import_mapping",
               "export_mapping", "add_shape_keys", "setup_environment", "check_environment"):
        assert hasattr(bpy.ops.lipsync, op)
    assert scene.lipsync.lead_ms == 30.0
    assert hasattr(bpy.types, "LIPSYNC_PT_panel")


def test_no_mesh_and_no_shape_keys_are_one_sentence(scene):
    with pytest.raises(RuntimeError, match="No object is active"):
        bpy.ops.lipsync.generate()
    mesh = bpy.data.meshes.new("Bare")
    obj = bpy.data.objects.new("Bare", mesh)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    with pytest.raises(RuntimeError, match="has no shape keys.*Add Shape Keys"):
        bpy.ops.lipsync.generate()
    assert scene.lipsync.last_report.startswith("Mesh 'Bare' has no shape keys")
    # the offered fix: add the preset's names, and the table with them
    assert bpy.ops.lipsync.add_shape_keys(preset="oculus") == {"FINISHED"}
    names = [k.name for k in obj.data.shape_keys.key_blocks]
    assert names[0] == "Basis" and "viseme_PP" in names and len(names) == 15
    assert len(obj.lipsync.rows) == len(json.loads(
        (pkg_path() / "assets/mappings/oculus.json").read_text(encoding="utf-8"))["rows"])


def pkg_path() -> Path:
    return Path(pkg.__file__).parent


def test_mapping_table_round_trips_through_json_and_the_blend(scene, tmp_path):
    obj = arkit_face()
    assert bpy.ops.lipsync.auto_match() == {"FINISHED"}
    rows = obj.lipsync.rows
    assert len(rows) == 33 and rows[0].shape_key == "jawOpen"
    rows[0].weight = 0.75
    rows[1].enabled = False
    out = tmp_path / "マップ.json"
    assert bpy.ops.lipsync.export_mapping(filepath=str(out)) == {"FINISHED"}
    rows.clear()
    assert bpy.ops.lipsync.import_mapping(filepath=str(out)) == {"FINISHED"}
    assert rows[0].weight == 0.75 and not rows[1].enabled
    blend = tmp_path / "table.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    again = bpy.data.objects["Face"].lipsync.rows
    assert len(again) == 33 and again[0].weight == 0.75 and not again[1].enabled
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": [{"parameter": "jaw", "shape_key": "x"}]}), encoding="utf-8")
    bpy.context.view_layer.objects.active = bpy.data.objects["Face"]
    with pytest.raises(RuntimeError, match="unknown parameter 'jaw'; use one of: jaw_open"):
        bpy.ops.lipsync.import_mapping(filepath=str(bad))


@needs_audio
def test_strip_reader_timing_and_bad_strips(scene, speech, tmp_path):
    scene.render.fps, scene.render.fps_base = 30, 1.001
    strip = sound_strip(scene, speech, frame_start=11)
    strip.frame_offset_start = 5                       # trim 5 frames off the front
    src = strip_source.read_strip(scene)
    t = src.timing
    assert src.name == "Dialogue" and src.audio_path == str(speech)
    assert t.fps == pytest.approx(30 / 1.001)
    assert t.frame_final_start == 16 and t.skip == pytest.approx(5 / t.fps)
    assert t.file_duration == pytest.approx(wav_seconds(speech))
    assert not src.warnings
    strip.mute = True
    assert "muted" in strip_source.read_strip(scene).warnings[0]
    with pytest.raises(strip_source.InputError, match="no sound strip named 'Nope'"):
        strip_source.read_strip(scene, "Nope")
    # missing file: one sentence naming the strip and the fix
    moved = tmp_path / "moved.wav"
    shutil.copy(speech, moved)
    strip.sound.filepath = str(moved)
    os.unlink(moved)
    with pytest.raises(strip_source.InputError, match="sound file of strip 'Dialogue' is missing"):
        strip_source.read_strip(scene)


@needs_audio
def test_packed_sound_is_read_from_a_temporary_copy(scene, speech, tmp_path):
    copy = tmp_path / "packed.wav"
    shutil.copy(speech, copy)
    strip = sound_strip(scene, copy)
    strip.sound.pack()
    os.unlink(copy)
    src = strip_source.read_strip(scene)
    assert src.temp_path and Path(src.audio_path).read_bytes() == speech.read_bytes()
    src.cleanup()
    assert not os.path.exists(src.audio_path)


@needs_audio
def test_short_strip_and_missing_rows_are_reported(scene, speech):
    obj = arkit_face()
    strip = sound_strip(scene, speech)
    strip.frame_final_duration = 2                     # 2 frames at 24 fps < 0.1 s
    with pytest.raises(strip_source.InputError, match="at least 0.1 s"):
        job_mod.prepare(scene, obj)
    strip.frame_final_duration = 40
    obj.shape_key_remove(obj.data.shape_keys.key_blocks["mouthClose"])
    job = job_mod.prepare(scene, obj, mapping_override="arkit")
    assert any("mouthClose" in w for w in job.warnings)
    assert "mouthClose" not in job.table.shape_keys
    job.cleanup()


def test_key_writer_replaces_only_its_range(scene):
    obj = arkit_face()
    block = obj.data.shape_keys.key_blocks["jawOpen"]
    for frame, value in ((1, 0.3), (100, 0.6), (300, 0.9)):
        block.value = value
        block.keyframe_insert("value", frame=frame)
    fcurve = compat.find_fcurve(obj.data.shape_keys.animation_data.action, obj.data.shape_keys,
                                block.path_from_id("value"))
    fcurve.keyframe_points[0].interpolation = "CONSTANT"
    frames = np.arange(50, 250, dtype=float)
    n = keyframe_writer.write_keys(obj, {"jawOpen": (frames, np.full(200, 0.5))}, 50, 249)
    assert n == 200
    co = [tuple(k.co) for k in fcurve.keyframe_points]
    assert co[0] == (1.0, pytest.approx(0.3)) and co[-1] == (300.0, pytest.approx(0.9))
    assert (100.0, pytest.approx(0.6)) not in co and len(co) == 202
    assert fcurve.keyframe_points[0].interpolation == "CONSTANT"
    keyframe_writer.write_keys(obj, {"jawOpen": (frames[:10], np.zeros(10))}, 50, 249)
    assert len(fcurve.keyframe_points) == 12
    assert fcurve.evaluate(55) == pytest.approx(0.0)


def test_nla_push(scene):
    obj = arkit_face()
    keyframe_writer.write_keys(obj, {"jawOpen": (np.arange(10.0), np.linspace(0, 1, 10))}, 0, 9,
                               use_nla=True)
    ad = obj.data.shape_keys.animation_data
    assert ad.action is None
    assert len(ad.nla_tracks) == 1 and ad.nla_tracks[0].strips[0].action is not None


def test_batch_arguments(tmp_path):
    from lipsync_repo.lipsync_addon import batch
    assert batch.script_argv(["blender", "-b", "f.blend", "--python", "b.py", "--", "--object",
                              "Face"]) == ["--object", "Face"]
    assert batch.script_argv(["b.py", "--object", "Face"]) == ["--object", "Face"]
    args = batch.parse_args(["--object", "A", "--object", "B", "--strip", "S"])
    assert batch.job_list(args) == [{"object": "A", "strip": "S"}, {"object": "B", "strip": "S"}]
    args = batch.parse_args(["--object", "A", "--object", "B", "--strip", "S", "--strip", "T"])
    assert [j["strip"] for j in batch.job_list(args)] == ["S", "T"]
    with pytest.raises(batch.UsageError, match="one per --object"):
        batch.job_list(batch.parse_args(["--object", "A", "--strip", "S", "--strip", "T"]))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"object": "A", "strip": "S", "mapping": "vrm", "lead_ms": 40}]))
    assert batch.job_list(batch.parse_args(["--jobs", str(jobs)]))[0]["mapping"] == "vrm"
    jobs.write_text("{}")
    with pytest.raises(batch.BatchError, match="must hold a list"):
        batch.job_list(batch.parse_args(["--jobs", str(jobs)]))
    assert batch.main(["batch.py"]) == 2                   # nothing to do: usage error


@needs_audio
def test_non_wav_sound_uses_blenders_length(scene, speech, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    data, rate = soundfile.read(str(speech))
    flac = tmp_path / "speech.flac"
    soundfile.write(str(flac), data, rate)
    sound_strip(scene, flac)
    timing = strip_source.read_strip(scene).timing
    assert timing.file_duration == pytest.approx(len(data) / rate, abs=1.01 / timing.fps)


class Layout:
    """Records what a draw() call puts on screen (the wheel has no window to draw in)."""

    def __init__(self, log=None):
        self.log = [] if log is None else log

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.log.append((name, kwargs.get("text", args[0] if args and name == "label"
                                               else args[1] if len(args) > 1 else None)))
            return Layout(self.log)
        return call

    def labels(self):
        return [text for name, text in self.log if name == "label"]


@needs_audio
def test_panel_and_preferences_draw(scene, speech):
    import types
    from lipsync_repo.lipsync_addon import panel, preferences
    obj = arkit_face()
    sound_strip(scene, speech, frame_start=5)
    bpy.ops.lipsync.load_preset(preset="arkit")
    obj.lipsync.rows[0].shape_key = "jawOpenTypo"
    layout = Layout()
    stand_in = types.SimpleNamespace(layout=layout)
    stand_in.draw_mapping = lambda lay, o: panel.LIPSYNC_PT_panel.draw_mapping(stand_in, lay, o)
    panel.LIPSYNC_PT_panel.draw(stand_in, bpy.context)
    labels = layout.labels()
    assert "Face: 52 shape keys" in labels
    assert any(t.startswith("Dialogue: frames 5-") for t in labels)
    assert any(t.startswith("Missing: jawOpenTypo") for t in labels)
    assert any(t.startswith("Unmapped: browDownLeft") for t in labels)
    assert any(n == "operator" for n, _ in layout.log)
    row = Layout()
    panel.LIPSYNC_UL_mapping.draw_item(None, bpy.context, row, obj.lipsync, obj.lipsync.rows[1],
                                       0, obj.lipsync, "active_row", 1)
    assert [n for n, _ in row.log] == ["row", "prop", "prop", "prop_search", "prop", "prop"]
    prefs_layout = Layout()
    preferences.LIPSYNC_AP_preferences.draw(types.SimpleNamespace(layout=prefs_layout),
                                            bpy.context)
    assert "Optional" in prefs_layout.labels()         # the worker's settings (test_environment.py)


@needs_audio
def test_a_file_that_is_not_audio_says_so_before_any_length_check(scene, tmp_path):
    obj = arkit_face()
    text = tmp_path / "notes.wav"
    text.write_text("this is a text file, not a recording\n" * 20)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    header_only = tmp_path / "header_only.wav"
    import wave
    with wave.open(str(header_only), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    cases = {"Text": (text, "is named .wav but is not audio"),
             "Empty": (empty, r"is empty \(0 bytes\): it contains no audio"),
             "HeaderOnly": (header_only, "contains no audio")}
    for name, (path, expected) in cases.items():
        strip = sound_strip(scene, path, name=name)
        with pytest.raises(strip_source.InputError, match=expected) as info:
            job_mod.prepare(scene, obj, strip=name)
        assert "lengthen" not in str(info.value) and f"'{name}'" in str(info.value)
        scene.sequence_editor.strips.remove(strip)


@needs_audio
def test_a_packed_non_audio_sound_leaves_no_temporary_copy(scene, tmp_path):
    import glob
    import tempfile
    obj = arkit_face()
    text = tmp_path / "packed_notes.wav"
    text.write_text("not audio\n" * 50)
    strip = sound_strip(scene, text)
    strip.sound.pack()
    pattern = os.path.join(tempfile.gettempdir(), "lipsync-packed-*")
    before = set(glob.glob(pattern))
    with pytest.raises(strip_source.InputError, match="not audio"):
        job_mod.prepare(scene, obj)
    assert set(glob.glob(pattern)) == before


def test_object_kinds_take_a_or_an(scene):
    arm = bpy.data.objects.new("Armature", bpy.data.armatures.new("Armature"))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    with pytest.raises(RuntimeError, match="'Armature' is an armature, not a mesh"):
        bpy.ops.lipsync.generate()
    assert job_mod.kind_of("CAMERA") == "a camera" and job_mod.kind_of("EMPTY") == "an empty"
    assert job_mod.kind_of("FONT") == "a text object"


def test_lead_tooltip_says_it_is_extra_to_the_models_lead(scene):
    text = scene.lipsync.bl_rna.properties["lead_ms"].description
    assert "Extra" in text and "model" in text
    assert "50-100 ms" not in text


@needs_audio
def test_strip_picker_offers_sound_strips_only(scene, speech):
    from lipsync_repo.lipsync_addon import panel, properties
    sound_strip(scene, speech, name="Voice")
    sound_strip(scene, speech, name="Voice2", channel=2)
    strips = scene.sequence_editor.strips
    try:
        strips.new_effect("Colour", "COLOR", 3, 1, length=10)           # 5.0 and later
    except TypeError:
        strips.new_effect("Colour", "COLOR", 3, 1, frame_end=11)        # 4.5: an end frame
    names = properties._sound_strip_names(scene.lipsync, bpy.context, "")
    assert names == ["Voice", "Voice2"]
    layout = Layout()
    stand_in = types_ns(layout=layout, draw_mapping=lambda *a: None)
    panel.LIPSYNC_PT_panel.draw(stand_in, bpy.context)
    assert not any(n == "prop_search" for n, _ in layout.log)   # not every strip of the scene


def types_ns(**kw):
    import types
    return types.SimpleNamespace(**kw)


def test_save_preset_writes_to_the_user_folder_and_lists_it_beside_the_shipped_ones(scene):
    from lipsync_repo.lipsync_addon import environment, properties
    face = arkit_face("Face")
    assert bpy.ops.lipsync.load_preset(preset="arkit") == {"FINISHED"}
    face.lipsync.rows[0].weight = 0.625                 # the artist's tuning
    assert bpy.ops.lipsync.save_preset(name="My Rig") == {"FINISHED"}
    saved = environment.user_dir() / "mappings" / "My Rig.json"
    assert saved.is_file()
    assert json.loads(saved.read_text(encoding="utf-8"))["name"] == "My Rig"
    items = [i[0] for i in properties._preset_items(face.lipsync, bpy.context)]
    assert "arkit" in items and "user:My Rig" in items
    # another mesh picks it from the same list
    other = arkit_face("Other")
    other.lipsync.preset = "user:My Rig"
    assert bpy.ops.lipsync.load_preset() == {"FINISHED"}
    assert other.lipsync.rows[0].weight == pytest.approx(0.625)
    assert other.lipsync.table_name == "My Rig"
    with pytest.raises(RuntimeError, match="cannot be a preset name"):
        bpy.ops.lipsync.save_preset(name="../escape")
    assert not (environment.user_dir() / "escape.json").exists()

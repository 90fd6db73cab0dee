"""Generate All Strips against the real worker: every sound strip of a scene onto the mesh it
belongs to (the list, else by name), one progress bar, one ESC, one summary, one undo step.
The modal path runs the operator's own methods on a stand-in (the bpy wheel has no window),
fed TIMER and ESC events as Blender would (see test_modal.py)."""
import os
import time
import types

import pytest

bpy = pytest.importorskip("bpy")

from blender_process import arkit_face, load_repo_package, sound_strip, speech_wav  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import all_strips_operator as all_strips  # noqa: E402
from lipsync_repo.lipsync_addon import run_state  # noqa: E402
from lipsync_repo.lipsync_addon import compat, generate_operator  # noqa: E402

OP = all_strips.LIPSYNC_OT_generate_all


def _progress(scene):
    run = run_state.get(scene.name)
    return run.progress if run is not None else 0.0


def _stage(scene):
    run = run_state.get(scene.name)
    return run.stage if run is not None else ""


@pytest.fixture(scope="module", autouse=True)
def setup(tiny_runtime_model):
    os.environ["LIPSYNC_MODEL"] = str(tiny_runtime_model)
    os.environ["LIPSYNC_DEVICE"] = "cpu"
    pkg.register()
    yield
    pkg.unregister()


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    return (speech_wav(folder / "alice.wav", "Hello Bob. Is the kettle on yet?"),
            speech_wav(folder / "bob.wav", "Not yet, my mouth is busy with this sentence."))


def two_characters(voices):
    """Alice (a body mesh under an empty named Alice), Bob, their lines and a music strip."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    rig = bpy.data.objects.new("Alice", None)
    scene.collection.objects.link(rig)
    alice = arkit_face("Alice_Body")
    alice.parent = rig
    bob = arkit_face("Bob")
    sound_strip(scene, voices[0], name="Alice_line01", frame_start=1, channel=1)
    sound_strip(scene, voices[1], name="Bob_line02", frame_start=200, channel=2)
    sound_strip(scene, voices[0], name="Music", frame_start=1, channel=3)
    return scene, alice, bob


def jaw_frames(name):
    obj = bpy.data.objects[name]
    key = obj.data.shape_keys
    ad = key.animation_data
    if ad is None or ad.action is None:
        return []
    fc = compat.find_fcurve(ad.action, key, key.key_blocks["jawOpen"].path_from_id("value"))
    return [] if fc is None else [k.co.x for k in fc.keyframe_points]


def test_strips_are_matched_by_name_or_by_the_list(voices):
    scene, alice, bob = two_characters(voices)
    got = all_strips.assignments(scene, scene)
    assert [(s, o) for s, o, _ in got] == [("Alice_line01", "Alice_Body"), ("Music", None),
                                           ("Bob_line02", "Bob")]
    assert bpy.ops.lipsync.match_strips() == {"FINISHED"}
    rows = {r.strip: r.target for r in scene.lipsync.strip_targets}
    assert rows == {"Alice_line01": alice, "Music": None, "Bob_line02": bob}
    scene.lipsync.strip_targets[1].target = bob            # the artist sets one by hand
    assert bpy.ops.lipsync.match_strips() == {"FINISHED"}  # ... and a re-match keeps it
    got = {s: o for s, o, _ in all_strips.assignments(scene, scene)}
    assert got["Music"] == "Bob" and got["Alice_line01"] == "Alice_Body"


def test_one_click_keys_every_strip_onto_its_character_with_one_summary_and_one_undo(voices):
    scene, alice, bob = two_characters(voices)
    bpy.ops.ed.undo_push(message="start")
    # as a button click calls it (an undo step); background mode runs it synchronously
    assert bpy.ops.lipsync.generate_all("INVOKE_DEFAULT", True) == {"FINISHED"}
    report = bpy.context.scene.lipsync.last_report
    assert report.startswith("Lip sync for 2 of 3 sound strips"), report
    assert "'Alice_line01' -> 'Alice_Body'" in report and "'Bob_line02' -> 'Bob'" in report
    assert "'Music' (not keyed: no character's name appears" in report
    alice_frames, bob_frames = jaw_frames("Alice_Body"), jaw_frames("Bob")
    assert alice_frames and bob_frames
    assert max(alice_frames) < 200 <= min(bob_frames)      # each on its own line's frames
    assert not run_state.is_running(bpy.context.scene.name)
    bpy.ops.ed.undo()                                       # one Ctrl+Z: the whole run
    assert jaw_frames("Alice_Body") == [] and jaw_frames("Bob") == []


def test_a_bad_strip_is_listed_and_the_others_are_still_keyed(voices, tmp_path):
    scene, alice, bob = two_characters(voices)
    text = tmp_path / "Bob_notes.wav"
    text.write_text("not a recording\n" * 40)
    sound_strip(scene, text, name="Bob_notes", frame_start=400, channel=4)
    assert bpy.ops.lipsync.generate_all() == {"FINISHED"}
    report = scene.lipsync.last_report
    assert "2 of 4" in report and "'Bob_notes' (The file of sound strip" in report
    assert jaw_frames("Alice_Body") and jaw_frames("Bob")


class StandIn:
    invoke, modal, execute, cancel = OP.invoke, OP.modal, OP.execute, OP.cancel
    _start, _stop, _complete, _report_end, _scene, _remove_timer, _drop = (
        OP._start, OP._stop, OP._complete, OP._report_end, OP._scene, OP._remove_timer,
        OP._drop)

    def __init__(self):
        self.reports = []

    def report(self, kind, message):
        self.reports.append((set(kind), message))


class WindowManager:
    def __init__(self):
        self.timers = []

    def event_timer_add(self, step, window=None):
        self.timers.append(step)
        return object()

    def event_timer_remove(self, timer):
        self.timers.pop()

    def modal_handler_add(self, op):
        pass


def stand_in_context(scene):
    return types.SimpleNamespace(scene=scene, window=object(), screen=None,
                                 window_manager=WindowManager(), sequencer_scene=None,
                                 active_object=None)


def test_modal_run_has_one_progress_bar_and_escape_changes_nothing(voices, monkeypatch):
    monkeypatch.setattr(all_strips, "can_go_modal", lambda context: True)
    scene, alice, bob = two_characters(voices)
    context = stand_in_context(scene)
    op = StandIn()
    assert op.invoke(context, types.SimpleNamespace(type="LEFTMOUSE")) == {"RUNNING_MODAL"}
    assert run_state.is_running(scene.name) and not generate_operator.LIPSYNC_OT_generate.poll(context)
    seen = []
    while True:
        result = op.modal(context, types.SimpleNamespace(type="TIMER"))
        seen.append(_progress(scene))
        if result != {"RUNNING_MODAL"}:
            break
        time.sleep(0.05)
    assert result == {"FINISHED"}, op.reports
    bar = seen[:-1]                                  # the last look is after the run ended
    assert bar == sorted(bar) and max(bar, default=0) >= 0.5   # one bar for both strips
    assert context.window_manager.timers == [] and not run_state.is_running(scene.name)
    # a second run, cancelled with one ESC once the first strip's result is in: nothing changes
    for name in ("Alice_Body", "Bob"):
        bpy.data.objects[name].data.shape_keys.animation_data_clear()
    op = StandIn()
    assert op.invoke(context, types.SimpleNamespace(type="LEFTMOUSE")) == {"RUNNING_MODAL"}
    deadline = time.monotonic() + 120
    while not op._run.results:
        assert time.monotonic() < deadline
        assert op.modal(context, types.SimpleNamespace(type="TIMER")) == {"RUNNING_MODAL"}
        time.sleep(0.05)
    result = op.modal(context, types.SimpleNamespace(type="ESC"))
    while result == {"RUNNING_MODAL"}:
        time.sleep(0.1)
        result = op.modal(context, types.SimpleNamespace(type="TIMER"))
    assert result == {"CANCELLED"} and "cancelled" in scene.lipsync.last_report
    assert jaw_frames("Alice_Body") == [] and jaw_frames("Bob") == []
    assert not run_state.is_running(scene.name) and context.window_manager.timers == []


def test_a_dropped_handler_or_a_file_load_ends_the_run_and_writes_nothing(voices, monkeypatch,
                                                                          tmp_path):
    monkeypatch.setattr(all_strips, "can_go_modal", lambda context: True)
    scene, alice, bob = two_characters(voices)
    context = stand_in_context(scene)
    op = StandIn()
    assert op.invoke(context, types.SimpleNamespace(type="LEFTMOUSE")) == {"RUNNING_MODAL"}
    op.cancel(context)                                   # Blender dropped the handler
    assert not run_state.is_running(scene.name) and context.window_manager.timers == []
    time.sleep(1.0)
    assert jaw_frames("Alice_Body") == [] and jaw_frames("Bob") == []
    # a file load while a run goes on: the loaded scene is not running, and the run's next
    # tick (if any) ends it without writing
    op = StandIn()
    assert op.invoke(context, types.SimpleNamespace(type="LEFTMOUSE")) == {"RUNNING_MODAL"}
    path = str(tmp_path / "during_run.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path, copy=True)
    bpy.ops.wm.open_mainfile(filepath=path)
    assert not run_state.is_running(bpy.context.scene.name)
    result = op.modal(context, types.SimpleNamespace(type="TIMER"))
    deadline = time.monotonic() + 30
    while result == {"RUNNING_MODAL"}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        result = op.modal(context, types.SimpleNamespace(type="TIMER"))
    assert result == {"CANCELLED"}
    assert jaw_frames("Alice_Body") == [] and jaw_frames("Bob") == []

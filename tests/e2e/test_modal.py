"""The modal path of ``lipsync.generate`` (what a click in the panel runs), against the real
worker. The bpy wheel has no window, so Blender never calls ``invoke``/``modal`` here: the test
calls the operator's own methods on a stand-in operator object, with a stand-in window manager
that records timers, and feeds TIMER and ESC events the way Blender would."""
import time
import types

import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("torch")

from blender_process import arkit_face, load_repo_package, sound_strip, speech_wav  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import compat, generate_operator, worker_client  # noqa: E402
from lipsync_repo.lipsync_addon import run_state  # noqa: E402

OP = generate_operator.LIPSYNC_OT_generate


def _progress(scene):
    run = run_state.get(scene.name)
    return run.progress if run is not None else 0.0


def _stage(scene):
    run = run_state.get(scene.name)
    return run.stage if run is not None else ""


class StandInOperator:
    """The operator's methods on a plain object (a registered Operator cannot be instantiated)."""
    invoke, modal, execute = OP.invoke, OP.modal, OP.execute
    _prepare, _finish, _fail, _send, _end = (OP._prepare, OP._finish, OP._fail, OP._send,
                                             OP._end)
    _scene, _drop, cancel, _from_kept = OP._scene, OP._drop, OP.cancel, OP._from_kept

    def __init__(self, mapping="arkit"):
        self.strip, self.lead_ms, self.mapping = "", 60.0, mapping
        self.properties = types.SimpleNamespace(is_property_set=lambda name: False)
        self.options = types.SimpleNamespace(is_repeat=False)
        self.reports = []
        self.progress_stages = []       # every stage the panel was given, however fast the job

    def _progress(self, stage, fraction):
        self.progress_stages.append(stage)
        OP._progress(self, stage, fraction)

    def report(self, kind, message):
        self.reports.append((set(kind), message))


class StandInWindowManager:
    def __init__(self):
        self.timers, self.handlers = [], []

    def event_timer_add(self, step, window=None):
        self.timers.append(step)
        return object()

    def event_timer_remove(self, timer):
        self.timers.pop()

    def modal_handler_add(self, op):
        self.handlers.append(op)

    def progress_begin(self, *a): pass
    def progress_update(self, *a): pass
    def progress_end(self): pass


def event(kind):
    return types.SimpleNamespace(type=kind)


@pytest.fixture(scope="module", autouse=True)
def setup(tiny_runtime_model):
    import os
    os.environ["LIPSYNC_MODEL"] = str(tiny_runtime_model)
    os.environ["LIPSYNC_DEVICE"] = "cpu"
    pkg.register()
    yield
    pkg.unregister()


@pytest.fixture
def context(tmp_path, monkeypatch):
    monkeypatch.setattr(generate_operator, "can_go_modal", lambda context: True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    obj = arkit_face()
    sound_strip(scene, speech_wav(tmp_path / "speech.wav"))
    return types.SimpleNamespace(scene=scene, active_object=obj, window=object(), screen=None,
                                 window_manager=StandInWindowManager(), sequencer_scene=None,
                                 scene_name=scene.name)


def drive(op, context, first=None, timeout=300):
    """Feed timer events (after an optional first event) until the operator finishes."""
    deadline = time.monotonic() + timeout
    stages = []
    while time.monotonic() < deadline:
        result = op.modal(context, first or event("TIMER"))
        first = None
        stages.append(_stage(context.scene))
        if result != {"RUNNING_MODAL"}:
            return result, stages
        time.sleep(0.1)
    raise AssertionError("the modal operator never finished")


def jaw_fcurve(obj):
    ad = obj.data.shape_keys.animation_data
    if ad is None or ad.action is None:
        return None
    key = obj.data.shape_keys
    return compat.find_fcurve(ad.action, key, key.key_blocks["jawOpen"].path_from_id("value"))


def test_modal_job_reports_progress_and_writes_keys(context):
    op = StandInOperator()
    assert op.invoke(context, event("LEFTMOUSE")) == {"RUNNING_MODAL"}
    state = context.scene.lipsync
    assert run_state.is_running(context.scene.name) and context.window_manager.timers == [0.1]
    assert not OP.poll(context)                              # one job at a time
    assert op.modal(context, event("MOUSEMOVE")) == {"PASS_THROUGH"}   # the UI stays usable
    result, stages = drive(op, context)
    assert result == {"FINISHED"}, op.reports
    # a fast job may finish between two timer ticks, so read what the panel was given
    assert {"encoder", "head"} <= set(op.progress_stages), op.progress_stages
    assert not run_state.is_running(context.scene.name) and context.window_manager.timers == []
    assert "keys on 29 shape keys" in state.last_report
    assert len(jaw_fcurve(context.active_object).keyframe_points) > 10


def send_job(op, context):
    """invoke, then timer ticks until the request is on its way to the worker."""
    assert op.invoke(context, event("LEFTMOUSE")) == {"RUNNING_MODAL"}
    while op._request is None:
        assert op.modal(context, event("TIMER")) == {"RUNNING_MODAL"}
        time.sleep(0.05)


def wait_for_result(op, timeout=120):
    """Until the worker's result is in the queue, unread by the operator."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m and m.get("type") == "result" and m.get("id") == op._request["id"]
               for m in list(op._worker.messages.queue)):
            return
        time.sleep(0.05)
    raise AssertionError("the worker never answered")


def test_escape_cancels_and_writes_nothing(context):
    op = StandInOperator()
    send_job(op, context)
    assert op.modal(context, event("ESC")) == {"RUNNING_MODAL"}
    result, _ = drive(op, context)
    # whether the worker stopped or had already answered, ESC means nothing changes
    assert result == {"CANCELLED"}, op.reports
    assert "cancelled" in context.scene.lipsync.last_report
    assert jaw_fcurve(context.active_object) is None
    assert not run_state.is_running(context.scene.name) and context.window_manager.timers == []


def test_a_result_arriving_after_escape_is_not_written(context):
    op = StandInOperator()
    send_job(op, context)
    wait_for_result(op)                       # the answer is there, in the grace period
    assert op.modal(context, event("ESC")) == {"RUNNING_MODAL"}
    result, _ = drive(op, context)
    assert result == {"CANCELLED"}, op.reports
    assert jaw_fcurve(context.active_object) is None
    assert "cancelled" in context.scene.lipsync.last_report


def test_no_blender_data_is_held_across_ticks(context):
    op = StandInOperator()
    send_job(op, context)
    held = {k: type(v).__name__ for k, v in vars(op).items()
            if isinstance(v, bpy.types.bpy_struct)}
    assert held == {}, f"the modal operator holds Blender data across ticks: {held}"
    assert op._scene_name == context.scene.name
    result, _ = drive(op, context)
    assert result == {"FINISHED"}, op.reports


def test_cancel_method_ends_the_job_and_writes_nothing(context):
    op = StandInOperator()
    send_job(op, context)
    op.cancel(context)                       # Blender dropped the handler (a window closed)
    assert not run_state.is_running(context.scene.name) and context.window_manager.timers == []
    assert OP.poll(context)
    time.sleep(1.0)
    assert jaw_fcurve(context.active_object) is None


def test_running_is_not_saved_and_a_load_resets_it(context, tmp_path):
    op = StandInOperator()
    send_job(op, context)
    assert run_state.is_running(context.scene.name)
    path = str(tmp_path / "mid_job.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path, copy=True)
    # the same file, opened while this job runs: its scene is not running
    bpy.ops.wm.open_mainfile(filepath=path)
    scene = bpy.context.scene
    assert scene.name == context.scene_name
    assert not run_state.is_running(scene.name) and _stage(scene) == ""
    assert OP.poll(types.SimpleNamespace(scene=scene))
    # the dropped job's next tick (if Blender still sent one) ends it, writing nothing
    deadline = time.monotonic() + 30
    while op.modal(context, event("TIMER")) == {"RUNNING_MODAL"}:
        assert time.monotonic() < deadline, "the dropped job never ended"
        time.sleep(0.1)
    assert "cancelled" in op.reports[-1][1]
    assert jaw_fcurve(bpy.data.objects["Face"]) is None
    assert not run_state.is_running(scene.name)


def test_cancel_in_one_scene_leaves_another_scenes_job_alone(context):
    other = bpy.data.scenes.new("Other")
    op = StandInOperator()
    send_job(op, context)
    with bpy.context.temp_override(scene=other):
        bpy.ops.lipsync.cancel()
    result, _ = drive(op, context)
    assert result == {"FINISHED"}, op.reports
    assert len(jaw_fcurve(context.active_object).keyframe_points) > 10


def test_cancel_button_while_the_worker_starts(context):
    worker_client.shutdown_worker()                          # a cold start
    op = StandInOperator()
    assert op.invoke(context, event("LEFTMOUSE")) == {"RUNNING_MODAL"}
    bpy.ops.lipsync.cancel()
    assert op.modal(context, event("TIMER")) == {"CANCELLED"}
    assert jaw_fcurve(context.active_object) is None
    assert worker_client.current_worker() is None
    assert OP.poll(context)


def test_worker_crash_in_modal_writes_nothing(context):
    import os
    import signal
    from lipsync_repo.lipsync_addon import environment
    worker = worker_client.get_worker(environment.worker_config())
    worker.wait_hello()
    # frozen before the job reaches it, then killed: the job can never finish first (the tiny
    # model answers within one tick otherwise)
    os.kill(worker.proc.pid, signal.SIGSTOP)
    op = StandInOperator()
    assert op.invoke(context, event("LEFTMOUSE")) == {"RUNNING_MODAL"}
    assert op._request is not None and op._worker is worker      # sent to the frozen worker
    worker.proc.kill()
    result, _ = drive(op, context)
    assert result == {"CANCELLED"} and "worker stopped" in context.scene.lipsync.last_report
    assert jaw_fcurve(context.active_object) is None
    assert worker_client.current_worker() is None            # the next job starts a fresh one


def test_a_packed_sounds_copy_is_removed_when_the_worker_cannot_start(context, monkeypatch):
    import glob
    import os
    import tempfile
    context.scene.sequence_editor.active_strip.sound.pack()
    worker_client.shutdown_worker()
    monkeypatch.setenv("LIPSYNC_PYTHON", os.path.join(tempfile.gettempdir(), "no", "python"))
    pattern = os.path.join(tempfile.gettempdir(), "lipsync-packed-*")
    before = set(glob.glob(pattern))
    op = StandInOperator()
    assert op.invoke(context, event("LEFTMOUSE")) == {"CANCELLED"}
    assert "Could not start the inference worker" in op.reports[-1][1]
    assert set(glob.glob(pattern)) == before                  # no copy left behind
    assert OP.poll(context) and context.window_manager.timers == []
    with pytest.raises(RuntimeError, match="Could not start"):
        bpy.ops.lipsync.generate(mapping="arkit")             # the synchronous path too
    assert set(glob.glob(pattern)) == before


def test_redo_panel_rekeys_from_the_kept_curves_without_the_model(context, monkeypatch):
    import os
    import tempfile
    from lipsync_repo.lipsync_addon import capture_store
    assert bpy.ops.lipsync.generate(mapping="arkit") == {"FINISHED"}     # runs the model
    before = [k.co.y for k in jaw_fcurve(context.active_object).keyframe_points]
    # what the redo panel does: undo the run (its keys and the curves it kept in the .blend go),
    # then execute() again with the changed Lead; no worker can start now
    bpy.data.texts.remove(capture_store.find(bpy.data, context.scene.name, "Dialogue"))
    context.active_object.data.shape_keys.animation_data_clear()
    worker_client.shutdown_worker()
    monkeypatch.setenv("LIPSYNC_PYTHON", os.path.join(tempfile.gettempdir(), "no", "python"))
    op = StandInOperator()
    op.options.is_repeat = True
    op.properties = types.SimpleNamespace(is_property_set=lambda name: name == "lead_ms")
    op.lead_ms = 90.0
    assert op.execute(context) == {"FINISHED"}, op.reports
    assert "kept curves" in op.reports[-1][1]
    assert worker_client.current_worker() is None
    after = [k.co.y for k in jaw_fcurve(context.active_object).keyframe_points]
    assert len(after) > 10 and after != before                          # the new lead
    assert capture_store.load(bpy.data, context.scene.name, "Dialogue") is not None   # kept again

"""``lipsync.generate``: the Generate Lip Sync operator.

``execute()`` does the whole job synchronously (background mode and scripts never call
``invoke()``, and timers never fire there). ``invoke()`` with a window goes modal: the worker
runs in its own process, a reader thread feeds a queue, a 0.1 s event timer polls it, the panel
shows a progress bar with the stage, and ESC (or the panel's Cancel, for this scene's job only)
cancels. Keys are written only when a result arrives, in one step, so a cancelled or crashed job
changes nothing (a result that arrives in the grace period after ESC is thrown away); a crashed
worker is discarded and the next job starts a fresh one. The job's state (running, stage,
progress) lives in run_state, keyed by the scene's name, never in the .blend; across ticks the
operator holds names and plain Python only; ``cancel()`` and a file load end the job. The redo
panel (a new Lead or Mapping) re-keys from the kept curves without the model.

Imports: bpy, the add-on's own modules.
"""
from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import FloatProperty, StringProperty

from . import capture_store, compat, environment, job as job_mod, run_state, worker_client
from ..lipsync_core import keyplan
from .strip_source import InputError
from .worker_client import WorkerError

if TYPE_CHECKING:
    from .compat import OpResult

log = logging.getLogger(__name__)

# overall progress: (start, end) fraction of each worker stage
STAGES = {"audio": (0.0, 0.1), "encoder": (0.1, 0.8), "head": (0.8, 0.95), "write": (0.95, 1.0)}
CANCEL_GRACE_S = 3.0      # seconds a cancelled worker gets before it is killed



def request_cancel(scene_name: str) -> bool:
    """Cancel the job running in ``scene_name`` (only that one); False when none runs."""
    return run_state.request_cancel(scene_name)


# the last run's curves, in Python: the redo panel first undoes the run (and with it the curves
# it kept in the .blend), then calls execute() again; (scene, strip) -> (curves, model)
_last_curves: dict[tuple[str, str], tuple[Any, Any]] = {}


def _discard_result(message: dict[str, Any]) -> None:
    """A result that came after ESC: remove its file, write nothing."""
    path = message.get("path")
    if isinstance(path, str) and os.path.isfile(path):
        try:
            os.unlink(path)
        except OSError:
            pass


def can_go_modal(context: Any) -> bool:
    """A window to run a modal timer in (never in background mode, where timers never fire)."""
    return not bpy.app.background and context.window is not None


def overall(stage: str, fraction: float) -> float:
    lo, hi = STAGES.get(stage, (0.0, 1.0))
    return lo + (hi - lo) * max(0.0, min(1.0, fraction))


def _device(worker: worker_client.Worker) -> str:
    return str((worker.hello or {}).get("device", "unknown device"))


def _redraw(context: Any) -> None:
    screen = getattr(context, "screen", None)
    if screen is not None:
        for area in screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


class LIPSYNC_OT_generate(bpy.types.Operator):
    """Generate shape-key lip sync for the active mesh (and the other selected meshes whose
    shape keys a mapping drives) from a sound strip"""
    bl_idname = "lipsync.generate"
    bl_label = "Generate Lip Sync"
    bl_options = {"REGISTER", "UNDO"}

    strip: StringProperty(name="Strip", default="",  # type: ignore[valid-type]
                          description="Sound strip name; empty = the panel's choice or the "
                                      "active sound strip", options={"SKIP_SAVE"})
    lead_ms: FloatProperty(name="Lead (ms)", default=keyplan.DEFAULT_LEAD_MS,  # type: ignore[valid-type]
                           description="Override the scene's lead: milliseconds extra to the "
                                       "model's own lead",
                           options={"SKIP_SAVE"})
    mapping: StringProperty(name="Mapping", default="",  # type: ignore[valid-type]
                            description="Preset name or JSON file; empty = the object's table",
                            options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context: Any) -> bool:
        return not run_state.is_running(context.scene.name)

    # -- shared -----------------------------------------------------------------------------
    def _prepare(self, context: Any) -> job_mod.Job:
        lead = self.lead_ms if self.properties.is_property_set("lead_ms") else None
        scene = context.scene
        sound_scene = compat.sequencer_scene(context)
        if sound_scene.sequence_editor is None:
            sound_scene = scene
        strip = self.strip or scene.lipsync.strip
        return job_mod.prepare(scene, context.active_object, strip, lead, self.mapping,
                               sound_scene, others=job_mod.selected_meshes(context))

    def _scene(self, context: Any) -> Any:
        """The scene the job runs in, looked up by name now (never held across ticks)."""
        name = getattr(self, "_scene_name", None)
        return bpy.data.scenes.get(name) if name else context.scene

    def _finish(self, context: Any, job: job_mod.Job, result: dict[str, Any],
                worker: worker_client.Worker) -> OpResult:
        obj = bpy.data.objects.get(job.object_name)
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            raise InputError(f"{job.object_name!r} or its shape keys were removed while lip sync "
                             "ran; nothing was written.")
        curves = job_mod.result_curves(result)
        model = (worker.hello or {}).get("model")
        report = job_mod.finish(job, obj, curves, _device(worker), model=model)
        _last_curves.clear()
        _last_curves[(job.source.scene_name, job.source.name)] = (curves, model)
        scene = self._scene(context)
        if scene is not None:
            scene.lipsync.last_report = report.sentence()
        self.report({"WARNING"} if report.warnings else {"INFO"}, report.sentence())
        return {"FINISHED"}

    def _fail(self, context: Any, message: str) -> OpResult:
        scene = self._scene(context)
        if scene is not None:
            scene.lipsync.last_report = message
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def _from_kept(self, job: job_mod.Job) -> OpResult | None:
        """The redo panel changed Lead or Mapping: key from the curves kept in the .blend, else
        the last run's, without the model; None when none cover the strip (run the model)."""
        stored = capture_store.load(bpy.data, job.source.scene_name, job.source.name)
        curves, model = stored if stored is not None else \
            _last_curves.get((job.source.scene_name, job.source.name), (None, None))
        if curves is None or capture_store.uncovered(curves, job.plan.start, job.plan.end) > 0.1:
            return None
        if stored is not None:
            model = stored[1].get("model")
        obj = bpy.data.objects.get(job.object_name)
        report = job_mod.finish(job, obj, curves, "kept curves (no model)", model=model,
                                store=stored is None)
        scene = bpy.data.scenes.get(job.source.scene_name)
        if scene is not None:
            scene.lipsync.last_report = report.sentence()
        self.report({"WARNING"} if report.warnings else {"INFO"}, report.sentence())
        return {"FINISHED"}

    # -- synchronous ------------------------------------------------------------------------
    def execute(self, context: Any) -> OpResult:
        job = None
        worker = None
        wm = context.window_manager
        self._scene_name = context.scene.name
        try:
            job = self._prepare(context)
            if getattr(getattr(self, "options", None), "is_repeat", False):
                done = self._from_kept(job)             # the redo panel: re-key only
                if done is not None:
                    return done
            worker = worker_client.get_worker(environment.worker_config())
            wm.progress_begin(0, 100)
            req = job.request()
            result = worker.run(req["audio"], req["start"], req["end"], req["fps"],
                                lambda stage, f: wm.progress_update(int(100 * overall(stage, f))))
            return self._finish(context, job, result, worker)
        except (InputError, environment.EnvironmentMissing) as exc:
            return self._fail(context, str(exc))
        except WorkerError as exc:
            if exc.code == "crashed" and worker is not None:
                worker_client.discard_worker(worker)
            return self._fail(context, str(exc))
        finally:
            wm.progress_end()
            if job is not None:
                job.cleanup()

    # -- modal ------------------------------------------------------------------------------
    # Held across ticks: the scene's *name*, the Job (plain Python), the worker and the
    # RunState; never the scene, its property group or an object (Ctrl+Z can free them).
    def invoke(self, context: Any, event: Any) -> OpResult:
        if not can_go_modal(context):
            return self.execute(context)
        self._scene_name = context.scene.name
        self._timer = None
        try:
            state = run_state.begin(self._scene_name)
        except ValueError as exc:
            return self._fail(context, str(exc))
        self._run = state
        try:
            self._job = self._prepare(context)
            self._worker = worker_client.get_worker(environment.worker_config())
        except (InputError, environment.EnvironmentMissing, WorkerError) as exc:
            job = getattr(self, "_job", None)
            if job is not None:
                job.cleanup()
            run_state.end(state)
            return self._fail(context, str(exc))
        self._request: dict[str, Any] | None = None
        self._cancel_at: float | None = None
        state.on_drop.append(self._drop)
        if self._worker.hello is not None:
            self._send()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _send(self) -> None:
        req = self._job.request()
        self._request = self._worker.predict_request(req["audio"], req["start"], req["end"],
                                                     req["fps"])

    def _drop(self) -> None:
        """A file load dropped this job: stop the worker's request, remove the temp sound."""
        if self._request is not None:
            self._worker.cancel(self._request["id"])
        self._job.cleanup()

    def _end(self, context: Any) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        run_state.end(self._run)
        self._job.cleanup()
        _redraw(context)

    def cancel(self, context: Any) -> None:
        """Blender drops the modal handler (a window closes, a file loads): stop the job,
        write nothing, and leave no scene "running"."""
        if self._request is not None and self._worker.alive:
            self._worker.cancel(self._request["id"])
        self._end(context)

    def _progress(self, stage: str, fraction: float) -> None:
        self._run.stage, self._run.progress = stage, overall(stage, fraction)

    def modal(self, context: Any, event: Any) -> OpResult:
        state = self._run
        if event.type == "ESC" or state.cancel_requested:
            if self._cancel_at is None:
                self._cancel_at = time.monotonic()
                state.stage = "cancelling"
                if self._request is not None:
                    self._worker.cancel(self._request["id"])
        if self._cancel_at is not None and (self._request is None or
                                            time.monotonic() - self._cancel_at > CANCEL_GRACE_S):
            worker_client.discard_worker(self._worker)      # it did not stop in time
            self._end(context)
            return self._fail(context, "Lip sync was cancelled; nothing was changed.")
        if event.type == "ESC":
            return {"RUNNING_MODAL"}                        # consumed: the cancel is under way
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            if self._request is None and self._worker.hello is not None:
                self._send()                          # the hello was read elsewhere (Check)
            for _ in range(200):                      # drain what has arrived
                message = self._worker.poll()
                if message is None:
                    break
                if self._request is None:
                    if self._worker.accept_hello(message):
                        self._send()
                    continue
                done = worker_client.handle_job_message(message, self._request["id"],
                                                        self._progress)
                if done is not None:
                    self._end(context)
                    if self._cancel_at is not None:   # ESC means nothing changes
                        _discard_result(done)
                        return self._fail(context, "Lip sync was cancelled; nothing was "
                                                   "changed.")
                    return self._finish(context, self._job, done, self._worker)
        except WorkerError as exc:
            if exc.code == "crashed":
                worker_client.discard_worker(self._worker)
            self._end(context)
            return self._fail(context, str(exc))
        except InputError as exc:
            self._end(context)
            return self._fail(context, str(exc))
        except Exception as exc:                    # noqa: BLE001 - never leave "running" stuck
            log.exception("lip sync failed")
            worker_client.discard_worker(self._worker)
            self._end(context)
            return self._fail(context, f"Lip sync failed unexpectedly ({type(exc).__name__}: "
                                       f"{exc}); nothing was written.")
        _redraw(context)
        return {"RUNNING_MODAL"}


class LIPSYNC_OT_cancel(bpy.types.Operator):
    """Cancel the lip-sync job running in this scene; nothing is written"""
    bl_idname = "lipsync.cancel"
    bl_label = "Cancel Lip Sync"

    def execute(self, context: Any) -> OpResult:
        request_cancel(context.scene.name)
        return {"FINISHED"}


CLASSES = (LIPSYNC_OT_generate, LIPSYNC_OT_cancel)

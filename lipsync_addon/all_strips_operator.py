"""Generate All Strips: every sound strip of the scene onto the character it belongs to.

Which mesh a strip belongs to: the scene's assignment list (``scene.lipsync.strip_targets``,
one row per strip with the mesh set by hand), else a match by name: the mesh with shape keys
whose name, or whose parent's name (the character's armature), appears in the strip's name,
the longest such name winning ("Alice_line03" -> "Alice_Body" under "Alice"). **Match Strips**
fills the list so the artist can see and change the choice.

One run: every job is checked up front (job.prepare), then the worker runs them one after the
other; the panel shows one progress bar for the whole run, and one ESC (or Cancel) stops it.
The keys are written at the end, all in one step (one undo step), so a cancelled run changes
nothing, like Generate; a strip that fails (bad audio, a worker error) is listed in the one
summary and the others are still written. In background mode (scripts) ``execute`` runs the
same loop synchronously.

Imports: bpy, the add-on's own modules.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bpy

from . import compat, environment, job as job_mod, run_state, strip_source, worker_client
from .generate_operator import CANCEL_GRACE_S, _redraw, can_go_modal, overall
from .strip_source import InputError
from .worker_client import WorkerError

if TYPE_CHECKING:
    from .compat import OpResult

log = logging.getLogger(__name__)


# -- which strip goes to which mesh -------------------------------------------------------------
def _candidates(scene: Any) -> list[Any]:
    return [o for o in scene.objects if o.type == "MESH" and o.data.shape_keys is not None
            and len(o.data.shape_keys.key_blocks) > 1]


def match_by_name(strip_name: str, meshes: list[Any]) -> tuple[str | None, str]:
    """(mesh name or None, why): the mesh whose own or parent's name appears in the strip's
    name, the longest name winning; None when nothing matches or two meshes tie."""
    lowered = strip_name.lower()
    scored: list[tuple[int, str]] = []
    for obj in meshes:
        names = [obj.name] + ([obj.parent.name] if obj.parent is not None else [])
        best = max((len(n) for n in names if n and n.lower() in lowered), default=0)
        if best:
            scored.append((best, obj.name))
    if not scored:
        return None, "no character's name appears in the strip's name; set one in the list"
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None, (f"its name matches both {scored[0][1]!r} and {scored[1][1]!r}; "
                      "set one in the list")
    return scored[0][1], "matched by name"


def assignments(scene: Any, sound_scene: Any) -> list[tuple[str, str | None, str]]:
    """(strip, mesh or None, why) for every sound strip of ``sound_scene``, in time order."""
    rows = {r.strip: r.target for r in scene.lipsync.strip_targets}
    meshes = _candidates(scene)
    out = []
    strips = sorted(strip_source.sound_strips(sound_scene),
                    key=lambda s: (s.frame_final_start, s.name))
    for strip in strips:
        target = rows.get(strip.name)
        if target is not None and target.name in scene.objects:
            out.append((strip.name, target.name, "set in the list"))
        else:
            name, why = match_by_name(strip.name, meshes)
            out.append((strip.name, name, why))
    return out


def _sound_scene(context: Any) -> Any:
    sound_scene = compat.sequencer_scene(context)
    return context.scene if sound_scene.sequence_editor is None else sound_scene


# -- one run --------------------------------------------------------------------------------
@dataclass
class Run:
    """The jobs of one run and what became of them (plain Python: held across modal ticks)."""
    scene_name: str
    jobs: list[job_mod.Job]
    failures: list[tuple[str, str]]                 # (strip, sentence)
    results: list[tuple[job_mod.Job, Any, Any]] = field(default_factory=list)  # job, curves, model
    index: int = 0                                   # the job being run
    request: dict[str, Any] | None = None
    cancel_at: float | None = None
    cancelled: bool = False
    device: str = "unknown device"

    @property
    def done(self) -> bool:
        return self.cancelled or self.index >= len(self.jobs)

    def cleanup(self) -> None:
        for job in self.jobs:
            job.cleanup()


def prepare(context: Any) -> Run:
    """Check every strip's job up front; a strip that cannot run is a failure of the run,
    InputError only when there is nothing to run at all."""
    scene = context.scene
    sound_scene = _sound_scene(context)
    if sound_scene.sequence_editor is None or not strip_source.sound_strips(sound_scene):
        raise InputError(f"Scene {scene.name!r} has no sound strip; add the voice recordings "
                         "in the Video Sequencer (Add > Sound) first.")
    jobs, failures = [], []
    for strip_name, obj_name, why in assignments(scene, sound_scene):
        if obj_name is None:
            failures.append((strip_name, f"not keyed: {why}"))
            continue
        try:
            jobs.append(job_mod.prepare(scene, bpy.data.objects[obj_name], strip_name,
                                        sound_scene=sound_scene))
        except InputError as exc:
            failures.append((strip_name, str(exc)))
    if not jobs:
        raise InputError("No sound strip could be generated: " + " ".join(
            f"{s!r}: {m}" for s, m in failures))
    return Run(scene.name, jobs, failures)


def _send(run: Run, worker: worker_client.Worker) -> None:
    req = run.jobs[run.index].request()
    run.request = worker.predict_request(req["audio"], req["start"], req["end"], req["fps"])


def tick(run: Run, state: run_state.RunState, worker: worker_client.Worker
         ) -> worker_client.Worker:
    """Read what the worker said and move the run on; returns the worker to use next (a fresh
    one after a crash). Never raises for one strip's failure: it is noted and the run goes on."""
    n = len(run.jobs)
    if state.cancel_requested and run.cancel_at is None:
        run.cancel_at = time.monotonic()
        state.stage = "cancelling"
        if run.request is not None:
            worker.cancel(run.request["id"])
    if run.cancel_at is not None and (run.request is None or
                                      time.monotonic() - run.cancel_at > CANCEL_GRACE_S):
        if run.request is not None:
            worker_client.discard_worker(worker)          # it did not stop in time
        run.cancelled = True
        return worker
    job = run.jobs[run.index]

    def progress(stage: str, fraction: float) -> None:
        state.stage = f"{job.source.name} ({run.index + 1}/{n}): {stage}"
        state.progress = (run.index + overall(stage, fraction)) / n

    try:
        if run.request is None and worker.hello is not None:
            _send(run, worker)
        for _ in range(200):
            message = worker.poll()
            if message is None:
                break
            if run.request is None:
                if worker.accept_hello(message):
                    _send(run, worker)
                continue
            done = worker_client.handle_job_message(message, run.request["id"], progress)
            if done is None:
                continue
            run.request = None
            if run.cancel_at is not None:                 # ESC means nothing changes
                run.cancelled = True
                return worker
            run.results.append((job, job_mod.result_curves(done),
                                (worker.hello or {}).get("model")))
            run.device = str((worker.hello or {}).get("device", run.device))
            run.index += 1
            state.progress = run.index / n
            if run.done:
                return worker
            job = run.jobs[run.index]
            _send(run, worker)
    except (WorkerError, InputError) as exc:
        if run.cancel_at is not None:
            run.cancelled = True
            return worker
        run.failures.append((job.source.name, str(exc)))
        run.request = None
        run.index += 1
        if isinstance(exc, WorkerError) and exc.code == "crashed":
            worker_client.discard_worker(worker)
            if not run.done:
                worker = worker_client.get_worker(environment.worker_config())
    return worker


def write(run: Run) -> list[job_mod.Report]:
    """Key every finished strip (the one step a run changes the scene)."""
    reports: list[job_mod.Report] = []
    for job, curves, model in run.results:
        obj = bpy.data.objects.get(job.object_name)
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            run.failures.append((job.source.name, f"{job.object_name!r} was removed while lip "
                                                  "sync ran; nothing was written to it."))
            continue
        reports.append(job_mod.finish(job, obj, curves, run.device, model=model))
    return reports


def summary(run: Run, reports: list[job_mod.Report]) -> str:
    total = len(reports) + len(run.failures)
    done = "; ".join(f"{r.strip!r} -> {r.object_name!r} ({r.keys} keys)" for r in reports)
    text = f"Lip sync for {len(reports)} of {total} sound strips on {run.device}"
    text += f": {done}." if done else "."
    if run.failures:
        text += " Not done: " + "; ".join(f"{s!r} ({m.rstrip('.')})" for s, m in run.failures) + "."
    return text


class LIPSYNC_OT_generate_all(bpy.types.Operator):
    """Generate lip sync for every sound strip of the scene, each onto the mesh it belongs to
    (the All Strips list, else a match by name); one progress bar, one ESC, one summary"""
    bl_idname = "lipsync.generate_all"
    bl_label = "Generate All Strips"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return not run_state.is_running(context.scene.name)

    def _scene(self) -> Any:
        return bpy.data.scenes.get(self._scene_name)

    def _report_end(self, run: Run, reports: list[job_mod.Report]) -> OpResult:
        scene = self._scene()
        if run.cancelled:
            text = "Lip sync of all strips was cancelled; nothing was changed."
        else:
            text = summary(run, reports)
        if scene is not None:
            scene.lipsync.last_report = text
        if run.cancelled or not reports:
            self.report({"ERROR"}, text)
            return {"CANCELLED"}
        self.report({"WARNING"} if run.failures else {"INFO"}, text)
        return {"FINISHED"}

    def _start(self, context: Any) -> OpResult | None:
        self._scene_name = context.scene.name
        try:
            self._state = run_state.begin(self._scene_name)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        run: Run | None = None
        try:
            run = prepare(context)
            self._worker = worker_client.get_worker(environment.worker_config())
        except (InputError, environment.EnvironmentMissing, WorkerError) as exc:
            if run is not None:
                run.cleanup()                          # packed sounds' temporary copies
            run_state.end(self._state)
            context.scene.lipsync.last_report = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self._run: Run = run
        self._state.on_drop.append(self._drop)
        return None

    def _drop(self) -> None:
        """A file load dropped the run: stop the worker's request, remove temporary copies."""
        if self._run.request is not None and self._worker.alive:
            self._worker.cancel(self._run.request["id"])
        self._run.cleanup()

    def _stop(self) -> None:
        run_state.end(self._state)
        self._run.cleanup()

    def _complete(self) -> OpResult:
        run = self._run
        try:
            reports: list[job_mod.Report] = [] if run.cancelled else write(run)
        finally:
            self._stop()
        return self._report_end(run, reports)

    # background mode and scripts: the same loop, blocking
    def execute(self, context: Any) -> OpResult:
        failed = self._start(context)
        if failed is not None:
            return failed
        while not self._run.done:
            self._worker = tick(self._run, self._state, self._worker)
            if not self._run.done:
                time.sleep(0.05)
        return self._complete()

    def invoke(self, context: Any, event: Any) -> OpResult:
        if not can_go_modal(context):
            return self.execute(context)
        failed = self._start(context)
        if failed is not None:
            return failed
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _remove_timer(self, context: Any) -> None:
        if getattr(self, "_timer", None) is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def cancel(self, context: Any) -> None:
        """Blender dropped the handler: stop, write nothing, leave no scene "running"."""
        if self._run.request is not None and self._worker.alive:
            self._worker.cancel(self._run.request["id"])
        self._remove_timer(context)
        self._stop()

    def modal(self, context: Any, event: Any) -> OpResult:
        if event.type == "ESC":
            self._state.cancel_requested = True
        elif event.type != "TIMER" and not self._state.cancel_requested:
            return {"PASS_THROUGH"}
        try:
            self._worker = tick(self._run, self._state, self._worker)
        except Exception as exc:                  # noqa: BLE001 - never leave "running" stuck
            log.exception("lip sync of all strips failed")
            worker_client.discard_worker(self._worker)
            self._run.cancelled = True
            self._remove_timer(context)
            self._stop()
            self.report({"ERROR"}, f"Lip sync failed unexpectedly ({type(exc).__name__}: "
                                   f"{exc}); nothing was written.")
            return {"CANCELLED"}
        if self._run.done:
            self._remove_timer(context)
            result = self._complete()
            _redraw(context)
            return result
        _redraw(context)
        return {"RUNNING_MODAL"}


class LIPSYNC_OT_match_strips(bpy.types.Operator):
    """Fill the All Strips list: one row per sound strip, its mesh matched by name (rows set by
    hand are kept)"""
    bl_idname = "lipsync.match_strips"
    bl_label = "Match Strips"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OpResult:
        scene = context.scene
        rows = scene.lipsync.strip_targets
        kept = {r.strip: r.target for r in rows if r.target is not None}
        rows.clear()
        unmatched = []
        for strip_name, obj_name, _why in assignments(scene, _sound_scene(context)):
            row = rows.add()
            row.strip = strip_name
            target = kept.get(strip_name) or (bpy.data.objects.get(obj_name) if obj_name
                                               else None)
            row.target = target
            if target is None:
                unmatched.append(strip_name)
        text = f"{len(rows)} sound strips listed" + (
            f"; set a mesh for {', '.join(repr(s) for s in unmatched)}." if unmatched else ".")
        self.report({"INFO"}, text)
        return {"FINISHED"}


class LIPSYNC_UL_strip_targets(bpy.types.UIList):
    """One row: the strip's name -> its mesh."""

    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any,
                  active_data: Any, active_property: Any, index: Any = 0,
                  flt_flag: Any = 0) -> None:
        row = layout.row(align=True)
        row.label(text=item.strip, icon="SOUND")
        row.prop(item, "target", text="")


def draw(layout: Any, context: Any) -> None:
    """The panel's All Strips box (called by panel.py when no job runs)."""
    state = context.scene.lipsync
    box = layout.box()
    row = box.row(align=True)
    row.label(text="All Strips", icon="SEQUENCE")
    row.operator("lipsync.match_strips", text="", icon="VIEWZOOM")
    if len(state.strip_targets):
        box.template_list("LIPSYNC_UL_strip_targets", "", state, "strip_targets", state,
                          "active_strip_target", rows=3)
    box.operator("lipsync.generate_all", icon="PLAY")


CLASSES = (LIPSYNC_OT_generate_all, LIPSYNC_OT_match_strips, LIPSYNC_UL_strip_targets)

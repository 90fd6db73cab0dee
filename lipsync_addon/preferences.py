"""Add-on preferences: the device, an optional other Python and model, the Check and Open Log
operators.

Nothing needs setting up: the worker runs on Blender's own Python with the extension's bundled
wheels (environment.py). Check starts (or reuses) the worker and reports its hello: device,
execution provider, the providers this onnxruntime offers, and the model. With a window it
never waits on the UI thread: a thread waits for the hello and a ``bpy.app.timers`` function
publishes the result and redraws; in background mode (no timers fire there) it blocks.
Open Log opens the worker's log file (environment.log_path()).

Imports: bpy, the add-on's own modules.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import environment, run_state, worker_client

if TYPE_CHECKING:
    from .compat import OpResult

LOG_LINES = 12
_log: list[str] = []               # last lines of Check, shown in the preferences
_status: dict[str, Any] = {"running": False, "summary": ""}
_check: dict[str, Any] = {}        # the background Check's outcome, filled by its thread
POLL_S = 0.25                      # seconds between the timer's looks at a running Check

DEVICE_ITEMS = [
    ("AUTO", "Auto", "The best execution provider this onnxruntime has (CUDA, DirectML, "
                     "CoreML), else the CPU"),
    ("CPU", "CPU", "Always the CPU (works everywhere)"),
    ("CUDA", "CUDA", "An NVIDIA GPU through onnxruntime-gpu (install it into the Python used)"),
    ("DIRECTML", "DirectML", "Any DirectX 12 GPU on Windows (NVIDIA, AMD, Intel)"),
    ("COREML", "CoreML", "Apple's Neural Engine and GPU on macOS"),
]


def _append(line: str) -> None:
    _log.append(line.rstrip())
    del _log[:-200]


class LIPSYNC_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = environment.TOP_PACKAGE

    device: EnumProperty(name="Device", default="AUTO",  # type: ignore[valid-type]
                         items=DEVICE_ITEMS)
    python_path: StringProperty(name="Use this Python instead",  # type: ignore[valid-type]
                                subtype="FILE_PATH",
                                description="Optional: run the worker with this Python (it "
                                            "needs numpy, onnxruntime, soundfile and soxr); "
                                            "empty = Blender's own Python")
    model_dir: StringProperty(name="Model", subtype="DIR_PATH",  # type: ignore[valid-type]
                              description="A runtime model folder (config.json, encoder.onnx, "
                                          "head.onnx); empty = the model shipped in the "
                                          "extension")

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.prop(self, "device")
        row = layout.row()
        row.enabled = not _status["running"]
        row.operator("lipsync.check_environment", icon="CHECKMARK")
        row.operator("lipsync.open_log", icon="TEXT")
        if _status["summary"]:
            layout.label(text=str(_status["summary"])[:200])
        box = layout.box()
        box.label(text="Optional")
        box.prop(self, "python_path")
        box.prop(self, "model_dir")
        if _log:
            col = layout.box().column(align=True)
            for line in _log[-LOG_LINES:]:
                col.label(text=line[:160])


def check_summary(hello: dict[str, Any]) -> str:
    """One line from a worker's hello: device and provider, model, available providers."""
    providers = ", ".join(hello.get("providers") or []) or "none reported"
    return (f"Worker ready on {hello.get('device', 'an unknown device')}; model "
            f"{worker_client.model_label(hello)}; this onnxruntime offers {providers}.")


def _run_check(config: worker_client.WorkerConfig, out: dict[str, Any]) -> None:
    """Thread body: start or reuse the worker and wait for its hello (no bpy here)."""
    try:
        out["hello"] = worker_client.get_worker(config).wait_hello()
    except (worker_client.WorkerError, OSError) as exc:
        out["error"] = str(exc)
    finally:
        out["done"] = True


def _publish(out: dict[str, Any]) -> tuple[bool, str]:
    _status["running"] = False
    if "hello" in out:
        ok, summary = True, check_summary(out["hello"])
    else:
        ok, summary = False, str(out.get("error", "The worker did not answer."))
    _status["summary"] = summary
    _append(summary)
    return ok, summary


def _redraw_preferences() -> None:
    for window in getattr(bpy.context.window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()


def _check_timer() -> float | None:
    """bpy.app.timers callback: publish the Check once its thread is done."""
    if not _check.get("done"):
        return POLL_S
    _publish(_check)
    _redraw_preferences()
    return None


class LIPSYNC_OT_check_environment(bpy.types.Operator):
    """Start the worker and report its device, execution provider and model"""
    bl_idname = "lipsync.check_environment"
    bl_label = "Check"

    @classmethod
    def poll(cls, context: Any) -> bool:
        # not while a Generate waits on the worker: both would read its messages
        return not _status["running"] and not run_state.any_running()

    def execute(self, context: Any) -> OpResult:
        try:
            config = environment.worker_config()
        except environment.EnvironmentMissing as exc:
            _status["summary"] = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _append(f"$ {' '.join(config.command())}")
        _status["running"], _status["summary"] = True, "Checking the worker ..."
        _check.clear()
        if bpy.app.background:                        # no timers fire: wait here
            _run_check(config, _check)
            ok, summary = _publish(_check)
            self.report({"INFO"} if ok else {"ERROR"}, summary)
            return {"FINISHED"} if ok else {"CANCELLED"}
        threading.Thread(target=_run_check, args=(config, _check), daemon=True,
                         name="lipsync-check").start()
        bpy.app.timers.register(_check_timer, first_interval=POLL_S)
        self.report({"INFO"}, "Checking the worker; the result appears in the preferences.")
        return {"FINISHED"}


class LIPSYNC_OT_open_log(bpy.types.Operator):
    """Open the worker's log file (its messages and errors)"""
    bl_idname = "lipsync.open_log"
    bl_label = "Open Log"

    def execute(self, context: Any) -> OpResult:
        path = environment.log_path()
        if not path.is_file():
            self.report({"WARNING"}, f"No worker log yet ({path}); it is written once the worker "
                                     "has started.")
            return {"CANCELLED"}
        _open_path(str(path))
        return {"FINISHED"}


def _open_path(path: str) -> None:
    """Show a file with the system's viewer (Blender's own operator)."""
    bpy.ops.wm.path_open(filepath=path)


CLASSES = (LIPSYNC_AP_preferences, LIPSYNC_OT_check_environment, LIPSYNC_OT_open_log)

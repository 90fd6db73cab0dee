"""Add-on preferences: the worker's Python (managed venv or a path), model, device; the Set Up
Environment and Check operators.

Set Up runs :func:`environment.setup_commands` one after another in a child process; with a
window it is modal (a timer drains a reader thread's queue into the log shown here), in
background mode it blocks. Check starts the worker and reports its hello (device, model) plus
the interpreter's torch and transformers versions.

Imports: bpy, the add-on's own modules.
"""
from __future__ import annotations

import queue
import subprocess
import threading
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import environment, worker_client

if TYPE_CHECKING:
    from .compat import OpResult

LOG_LINES = 12
_log: list[str] = []               # last lines of Set Up / Check, shown in the preferences
_status: dict[str, Any] = {"running": False, "summary": ""}

VERSIONS_PROBE = ("import sys, torch, transformers; print('Python', sys.version.split()[0], "
                  "'| torch', torch.__version__, '| transformers', transformers.__version__, "
                  "'| CUDA', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')")


def _append(line: str) -> None:
    _log.append(line.rstrip())
    del _log[:-200]


class LIPSYNC_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = environment.TOP_PACKAGE

    python_path: StringProperty(name="Python", subtype="FILE_PATH",  # type: ignore[valid-type]
                                description="A Python with torch and transformers for the "
                                            "worker; empty = the managed environment")
    model_dir: StringProperty(name="Model", subtype="DIR_PATH",  # type: ignore[valid-type]
                              description="Checkpoint folder (config.json + model.safetensors); "
                                          "empty = the bundled default")
    device: EnumProperty(name="Device", default="AUTO", items=[  # type: ignore[valid-type]
        ("AUTO", "Auto", "The GPU when CUDA works, else the CPU"),
        ("CPU", "CPU", "Always the CPU"), ("CUDA", "CUDA", "An NVIDIA GPU")])
    torch_build: EnumProperty(name="PyTorch Build", default="CPU", items=[  # type: ignore[valid-type]
        ("CPU", "CPU", "Smaller download (about 200 MB); runs everywhere"),
        ("CUDA", "CUDA", "For NVIDIA GPUs (several GB)")])

    def draw(self, context: Any) -> None:
        layout = self.layout
        box = layout.box()
        box.label(text="Managed environment: " + str(environment.venv_dir()))
        row = box.row()
        row.prop(self, "torch_build", expand=True)
        row = box.row()
        row.enabled = not _status["running"]
        row.operator("lipsync.setup_environment", icon="IMPORT")
        row.operator("lipsync.check_environment", icon="CHECKMARK")
        layout.prop(self, "python_path")
        layout.prop(self, "model_dir")
        layout.prop(self, "device")
        if _status["summary"]:
            layout.label(text=str(_status["summary"]))
        if _log:
            col = layout.box().column(align=True)
            for line in _log[-LOG_LINES:]:
                col.label(text=line[:160])


def _reader(proc: subprocess.Popen, out: "queue.Queue[str | None]") -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.put(line)
    out.put(None)


class LIPSYNC_OT_setup_environment(bpy.types.Operator):
    """Create a Python environment for the worker in the extension's user folder and install
    PyTorch, transformers and the default speech encoder into it"""
    bl_idname = "lipsync.setup_environment"
    bl_label = "Set Up Environment"

    def _commands(self, context: Any) -> list[list[str]]:
        prefs = environment.preferences()
        return environment.setup_commands(prefs.torch_build if prefs is not None else "CPU")

    def execute(self, context: Any) -> OpResult:
        for cmd in self._commands(context):
            _append("$ " + " ".join(cmd))
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(environment.ROOT))
            for line in (proc.stdout + proc.stderr).splitlines()[-LOG_LINES:]:
                _append(line)
            if proc.returncode != 0:
                _status["summary"] = f"Set up failed at: {' '.join(cmd[:4])} ...; see the log."
                self.report({"ERROR"}, str(_status["summary"]))
                return {"CANCELLED"}
        _status["summary"] = "The managed environment is ready."
        self.report({"INFO"}, str(_status["summary"]))
        return {"FINISHED"}

    def invoke(self, context: Any, event: Any) -> OpResult:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        self._pending = self._commands(context)
        self._proc: subprocess.Popen | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        _status["running"], _status["summary"] = True, "Setting up the environment ..."
        _log.clear()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _next(self) -> bool:
        if not self._pending:
            return False
        cmd = self._pending.pop(0)
        _append("$ " + " ".join(cmd))
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, cwd=str(environment.ROOT))
        threading.Thread(target=_reader, args=(self._proc, self._queue), daemon=True).start()
        return True

    def _stop(self, context: Any, summary: str, ok: bool) -> OpResult:
        context.window_manager.event_timer_remove(self._timer)
        _status["running"], _status["summary"] = False, summary
        environment._torch_ok.clear()
        self.report({"INFO"} if ok else {"ERROR"}, summary)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return {"FINISHED"} if ok else {"CANCELLED"}

    def modal(self, context: Any, event: Any) -> OpResult:
        if event.type == "ESC":
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
            return self._stop(context, "Set up was cancelled; press Set Up again to redo it.",
                              False)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if self._proc is None and not self._next():
            return self._stop(context, "The managed environment is ready.", True)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                assert self._proc is not None
                code = self._proc.wait()
                if code != 0:
                    return self._stop(context, f"Set up failed (exit code {code}); see the log.",
                                      False)
                self._proc = None
                break
            _append(line)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return {"RUNNING_MODAL"}


class LIPSYNC_OT_check_environment(bpy.types.Operator):
    """Start the worker and report its device, model and library versions"""
    bl_idname = "lipsync.check_environment"
    bl_label = "Check"

    def execute(self, context: Any) -> OpResult:
        try:
            config = environment.worker_config()
            probe = subprocess.run([config.python, "-c", VERSIONS_PROBE], capture_output=True,
                                   text=True, timeout=300)
            if probe.returncode != 0:
                tail = (probe.stderr.strip().splitlines() or ["no output"])[-1]
                raise worker_client.WorkerError("crashed", f"{config.python} cannot import "
                                                f"torch and transformers ({tail}); press Set Up.")
            worker = worker_client.get_worker(config)
            hello = worker.wait_hello()
        except (environment.EnvironmentMissing, worker_client.WorkerError, OSError,
                subprocess.TimeoutExpired) as exc:
            _status["summary"] = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        summary = f"Device {hello.get('device')}; model {worker_client.model_label(hello)}."
        _status["summary"] = summary
        _append(probe.stdout.strip())
        _append(summary)
        self.report({"INFO"}, summary + " " + probe.stdout.strip())
        return {"FINISHED"}


CLASSES = (LIPSYNC_AP_preferences, LIPSYNC_OT_setup_environment, LIPSYNC_OT_check_environment)

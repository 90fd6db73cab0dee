"""The client side of the inference worker: spawn ``python -m lipsync_runtime serve``, talk JSON Lines.

One warm worker per Blender session (:func:`get_worker`), started on first use and reused while
its configuration (interpreter, import paths, model, device, online access) stays the same;
:func:`shutdown_worker` ends it (add-on unregister, Blender quit, atexit). A reader thread turns
the worker's stdout into a queue of decoded messages; a second one copies its stderr into a log
file (the worker's ``log`` path, shown by Open Log in the preferences) and keeps the last lines,
so neither pipe can fill up and block the worker. A worker that stays silent for
``STALL_TIMEOUT_S`` during a job is ended with a sentence (:meth:`Worker.stalled`); a crash is
reported as what happened plus where the log is. The temporary folders the worker writes long
results into are removed after the client has read them (at the next job and at shutdown).
Nothing here touches bpy: the modal operator polls :meth:`Worker.poll` from its timer,
background jobs block in :meth:`Worker.run`. :func:`last_device` / :func:`last_hello` give the
panel what the latest worker said about its device and execution provider.

Imports: standard library and lipsync_core.protocol (relatively).
"""
from __future__ import annotations

import atexit
import collections
import itertools
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..lipsync_core import protocol
from .worker_log import describe_exit, open_log

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 300.0       # seconds: loading the ONNX model takes a few on a cold disk
# seconds a running job may go without any message before the worker is taken as hung; progress
# arrives every few seconds even for an hour of audio. LIPSYNC_WORKER_STALL_S overrides it.
STALL_TIMEOUT_S = float(os.environ.get("LIPSYNC_WORKER_STALL_S", "") or 300.0)
_ids = itertools.count(1)


class WorkerError(Exception):
    """The worker refused a job or died; ``code`` is a protocol error code or "crashed"."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class WorkerConfig:
    python: str                  # interpreter: Blender's own (sys.executable) unless the user set one
    root: str                    # extension root: holds lipsync_runtime/ and lipsync_core/
    model: str = ""              # runtime model folder; "" = the worker's default (assets/runtime)
    device: str = "auto"         # auto | cpu | cuda | directml | coreml
    paths: tuple[str, ...] = ()  # more import paths after root (Blender's extension wheels)
    offline: bool = False        # Blender's Allow Online Access is off: HF_HUB_OFFLINE=1
    log: str = ""                # file the worker's stderr is copied to ("" = none)
    module: str = "lipsync_runtime"   # `python -m MODULE serve` ("inference" for the torch path)
    args: tuple[str, ...] = ()        # more serve arguments, e.g. ("--backend", "torch")
    extra_env: tuple[tuple[str, str], ...] = field(default=())

    def command(self) -> list[str]:
        cmd = [self.python, "-m", self.module, "serve", "--device", self.device, *self.args]
        if self.model:
            cmd += ["--model", self.model]
        return cmd

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The worker's environment: ``root`` and ``paths`` first on PYTHONPATH."""
        env = dict(os.environ if base is None else base)
        path = [self.root, *self.paths]
        if env.get("PYTHONPATH"):
            path.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(path)
        env["PYTHONIOENCODING"] = "utf-8"
        env["PYTHONNOUSERSITE"] = "1"        # a user's ~/.local packages must not shadow ours
        env.pop("PYTHONHOME", None)          # Blender's own would break another interpreter
        if self.offline:
            env["HF_HUB_OFFLINE"] = "1"
        env.update(dict(self.extra_env))
        return env


class Worker:
    def __init__(self, config: WorkerConfig):
        self.config = config
        self.hello: dict[str, Any] | None = None
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._stderr_lock = threading.Lock()        # the reader appends while crash_error reads
        self._result_dirs: list[str] = []           # worker temp folders to remove once read
        self.started_at = self.last_message_at = time.monotonic()   # the stdout reader updates it
        self.job_running = False
        self._log = open_log(config.log)
        try:
            self.proc = subprocess.Popen(
                config.command(), cwd=config.root, env=config.environ(), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
                errors="replace", bufsize=1,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            if self._log is not None:
                self._log.close()
            raise WorkerError("crashed", f"Could not start the inference worker with "
                              f"{config.python!r} ({exc.strerror}); check the Python path in "
                              "the add-on preferences.") from None
        threading.Thread(target=self._read_stdout, daemon=True, name="lipsync-stdout").start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True,
                                               name="lipsync-stderr")
        self._stderr_reader.start()

    # -- threads (no bpy here) --------------------------------------------------------------
    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.last_message_at = time.monotonic()
            if not line.strip():
                continue
            try:
                self.messages.put(protocol.decode(line))
            except ValueError:
                self._keep("stdout: " + line.rstrip())
        self.messages.put(None)                       # end of stream: the process is gone

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        try:
            for line in self.proc.stderr:
                self._keep(line.rstrip())
        finally:
            if self._log is not None:
                self._log.close()

    def _keep(self, line: str) -> None:
        with self._stderr_lock:
            self._stderr.append(line)
            if self._log is not None:
                try:
                    self._log.write(line + "\n")
                    self._log.flush()
                except (OSError, ValueError):       # disk full, closed: the tail still works
                    pass

    # -- state ------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_lines(self) -> list[str]:
        """A copy of the last stderr lines (safe while the reader thread appends)."""
        with self._stderr_lock:
            return list(self._stderr)

    def stderr_tail(self, lines: int = 8) -> str:
        return "\n".join(self.stderr_lines()[-lines:])

    def where_log(self) -> str:
        return f"its log is {self.config.log}" if self.config.log else \
            "start Blender from a terminal to see its messages"

    def crash_error(self) -> WorkerError:
        """What happened to a worker that stopped, and where its log is, in one sentence."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr_reader.join(timeout=2)          # its last lines (the exception) arrive
        what = describe_exit(code, self.stderr_lines())
        return WorkerError("crashed", f"The inference worker stopped: {what}; {self.where_log()}. "
                           "Generate again to start a fresh one.")

    def stalled(self, now: float | None = None, timeout: float | None = None) -> bool:
        """Whether a running job has gone ``timeout`` seconds without any message."""
        limit = STALL_TIMEOUT_S if timeout is None else timeout
        now = time.monotonic() if now is None else now
        return self.job_running and now - self.last_message_at > limit

    def stall_error(self, timeout: float | None = None) -> WorkerError:
        """End a hung worker; the sentence to show for it."""
        limit = STALL_TIMEOUT_S if timeout is None else timeout
        self.kill()
        return WorkerError("crashed", f"The inference worker sent nothing for {limit:.0f} s and "
                           f"was stopped; {self.where_log()}. Generate again to start a fresh "
                           "one.")

    # -- protocol ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(protocol.encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self.crash_error() from None

    def poll(self, timeout: float = 0.0) -> dict[str, Any] | None:
        """The next message, None if none within ``timeout``; WorkerError if the worker died,
        or (after killing it) if it hung: no hello within HELLO_TIMEOUT_S, or a job silent
        for STALL_TIMEOUT_S. The modal operator and :meth:`run` both rely on this watchdog."""
        try:
            message = self.messages.get(timeout=timeout) if timeout > 0 else \
                self.messages.get_nowait()
        except queue.Empty:
            self._watchdog()
            return None
        if message is None:
            self.messages.put(None)                   # stay "dead" for later polls
            raise self.crash_error()
        self._track(message)
        return message

    def _watchdog(self) -> None:
        now = time.monotonic()
        if self.hello is None and now - self.started_at > HELLO_TIMEOUT_S:
            self.kill()
            raise WorkerError("crashed", f"The inference worker did not start within "
                              f"{HELLO_TIMEOUT_S:.0f} s and was stopped; {self.where_log()}.")
        if self.stalled(now):
            raise self.stall_error()

    def _track(self, message: dict[str, Any]) -> None:
        """Note a job's end; remember the temp folder of a file result for removal once read."""
        if message.get("type") in ("result", "error", "cancelled") and message.get("id"):
            self.job_running = False
        path = message.get("path") if message.get("type") == "result" else None
        if isinstance(path, str) and path:
            folder = os.path.dirname(os.path.abspath(path))
            tmp = os.path.abspath(tempfile.gettempdir())
            if folder != tmp and os.path.commonpath([folder, tmp]) == tmp:
                self._result_dirs.append(folder)

    def wait_hello(self, timeout: float = HELLO_TIMEOUT_S) -> dict[str, Any]:
        deadline = min(time.monotonic() + timeout, self.started_at + HELLO_TIMEOUT_S)
        while self.hello is None:
            message = self.poll(timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
            if message is not None:
                self.accept_hello(message)
            elif time.monotonic() > deadline:
                self.kill()
                raise WorkerError("crashed", f"The inference worker did not start within "
                                  f"{timeout:.0f} s and was stopped; {self.where_log()}.")
        return self.hello

    def accept_hello(self, message: dict[str, Any]) -> bool:
        """Take a hello (True) or raise on a start-up error; False for anything else."""
        if message.get("type") == "hello":
            if message.get("protocol") != protocol.PROTOCOL_VERSION:
                self.kill()
                raise WorkerError("model", f"The inference worker speaks protocol "
                                  f"{message.get('protocol')}, the add-on "
                                  f"{protocol.PROTOCOL_VERSION}; reinstall the extension.")
            self.hello = message
            _remember_hello(message)
            return True
        if message.get("type") == "error":
            self.kill()
            raise WorkerError(message.get("code", "internal"), message.get("message", "?"))
        return False

    def predict_request(self, audio: str, start: float | None, end: float | None,
                        fps: float | None) -> dict[str, Any]:
        self.remove_result_dirs()                 # the previous job's result has been read
        job_id = f"j{next(_ids)}"
        request = {"type": "predict", "id": job_id, "audio": audio, "start": start, "end": end,
                   "fps": fps}
        self.last_message_at = time.monotonic()
        self.job_running = True
        self.send(request)
        return request

    def remove_result_dirs(self) -> None:
        while self._result_dirs:
            shutil.rmtree(self._result_dirs.pop(), ignore_errors=True)

    def run(self, audio: str, start: float | None, end: float | None, fps: float | None,
            on_progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
        """Blocking predict: the result message (inline curves or a file path)."""
        self.wait_hello()
        request = self.predict_request(audio, start, end, fps)
        try:
            while True:
                message = self.poll(timeout=0.5)
                if message is None:
                    continue
                done = handle_job_message(message, request["id"], on_progress)
                if done is not None:
                    return done
        finally:
            self.job_running = False

    def cancel(self, job_id: str) -> None:
        if self.alive:
            try:
                self.send({"type": "cancel", "id": job_id})
            except WorkerError:
                pass

    def shutdown(self, timeout: float = 3.0) -> None:
        if self.alive:
            try:
                self.send({"type": "shutdown"})
                self.proc.wait(timeout=timeout)
            except (WorkerError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.remove_result_dirs()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("The inference worker (pid %s) did not exit", self.proc.pid)


def handle_job_message(message: dict[str, Any], job_id: str,
                       on_progress: Callable[[str, float], None] | None) -> dict[str, Any] | None:
    """The result message when ``message`` ends job ``job_id``; None while it runs.

    Raises WorkerError for an error reply and for a cancelled job (code "cancelled").
    """
    kind = message.get("type")
    if message.get("id") not in (job_id, None) or kind == "hello":
        return None
    if kind == "progress":
        if on_progress is not None:
            on_progress(str(message.get("stage", "")), float(message.get("fraction", 0.0)))
        return None
    if kind == "result":
        return message
    if kind == "error":
        raise WorkerError(message.get("code", "internal"),
                          message.get("message", "The inference worker reported an error."))
    if kind == "cancelled":
        raise WorkerError("cancelled", "Lip sync was cancelled; nothing was changed.")
    return None


def model_label(hello: dict[str, Any] | None) -> str:
    """A short name for the model a worker's hello describes."""
    model = (hello or {}).get("model")
    if not isinstance(model, dict):
        return str(model or "unknown model")
    name = model.get("name") or os.path.basename(str(model.get("path", "")).rstrip("/\\"))
    parts = [p for p in (model.get("head"), model.get("encoder_kind")) if p]
    return f"{name or 'model'} ({' on '.join(parts)})" if parts else (name or "model")


# -- what the latest worker said ------------------------------------------------------------
_last_hello: dict[str, Any] | None = None


def _remember_hello(hello: dict[str, Any]) -> None:
    global _last_hello
    _last_hello = hello


def last_hello() -> dict[str, Any] | None:
    """The latest worker's hello (None before any worker greeted)."""
    return _last_hello


def last_device() -> str | None:
    """What the latest worker runs on, e.g. "CPU (onnxruntime 1.32, CPUExecutionProvider)"."""
    return None if _last_hello is None else str(_last_hello.get("device", "unknown device"))


def last_provider() -> str | None:
    """The execution provider the latest worker chose (e.g. "DmlExecutionProvider"), if said."""
    model = (_last_hello or {}).get("model")
    provider = model.get("provider") if isinstance(model, dict) else None
    return str(provider) if provider else None


# -- the one warm worker ---------------------------------------------------------------------
_lock = threading.Lock()
_worker: Worker | None = None


def get_worker(config: WorkerConfig) -> Worker:
    """The warm worker for ``config``, started (not yet greeted) if needed."""
    global _worker
    with _lock:
        if _worker is not None and (not _worker.alive or _worker.config != config):
            _worker.shutdown()
            _worker = None
        if _worker is None:
            log.info("Starting the inference worker: %s", " ".join(config.command()))
            _worker = Worker(config)
        return _worker


def current_worker() -> Worker | None:
    return _worker


def discard_worker(worker: Worker) -> None:
    """Forget (and kill) a worker after a crash or cancel so the next job gets a fresh one."""
    global _worker
    with _lock:
        worker.kill()
        if _worker is worker:
            _worker = None


def shutdown_worker() -> None:
    global _worker
    with _lock:
        if _worker is not None:
            _worker.shutdown()
            _worker = None


atexit.register(shutdown_worker)


def this_python() -> str:
    """The interpreter running this code (Blender's bundled Python, or the bpy wheel's venv)."""
    return sys.executable

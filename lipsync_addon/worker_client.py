"""The client side of the inference worker: spawn ``python -m inference serve``, talk JSON Lines.

One warm worker per Blender session (:func:`get_worker`), started on first use and reused while
its interpreter, model and device stay the same; :func:`shutdown_worker` ends it (add-on
unregister, Blender quit, atexit). A reader thread turns the worker's stdout into a queue of
decoded messages and a second thread keeps the last lines of its stderr for error reports, so
neither pipe can fill up and block the worker. Nothing here touches bpy: the modal operator
polls :meth:`Worker.poll` from its timer, background jobs block in :meth:`Worker.run`.

Imports: standard library and lipsync_core.protocol (relatively).
"""
from __future__ import annotations

import atexit
import collections
import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..lipsync_core import protocol

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 600.0       # seconds: first start may load a large encoder from disk
_ids = itertools.count(1)


class WorkerError(Exception):
    """The worker refused a job or died; ``code`` is a protocol error code or "crashed"."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class WorkerConfig:
    python: str                  # interpreter with torch and transformers
    root: str                    # extension root: holds inference/ and lipsync_core/
    model: str = ""              # checkpoint directory; "" = the worker's default
    device: str = "auto"         # auto | cpu | cuda

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "inference", "serve", "--device", self.device]
        if self.model:
            cmd += ["--model", self.model]
        return cmd


class Worker:
    def __init__(self, config: WorkerConfig):
        self.config = config
        self.hello: dict[str, Any] | None = None
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        env = dict(os.environ)
        env["PYTHONPATH"] = config.root + (os.pathsep + env["PYTHONPATH"]
                                           if env.get("PYTHONPATH") else "")
        env["PYTHONIOENCODING"] = "utf-8"
        env.pop("PYTHONHOME", None)          # Blender's own would break another interpreter
        try:
            self.proc = subprocess.Popen(
                config.command(), cwd=config.root, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8", bufsize=1,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            raise WorkerError("crashed", f"Could not start the inference worker with "
                              f"{config.python!r} ({exc.strerror}); check the Python path in "
                              "the add-on preferences.") from None
        threading.Thread(target=self._read_stdout, daemon=True, name="lipsync-stdout").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="lipsync-stderr").start()

    # -- threads (no bpy here) --------------------------------------------------------------
    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                self.messages.put(protocol.decode(line))
            except ValueError:
                self._stderr.append("stdout: " + line.rstrip())
        self.messages.put(None)                       # end of stream: the process is gone

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip())

    # -- state ------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, lines: int = 8) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def crash_error(self) -> WorkerError:
        code = self.proc.poll()
        tail = [line for line in self._stderr if line.strip()]
        last = tail[-1] if tail else "no message"
        return WorkerError("crashed", f"The inference worker stopped (exit code {code}): {last}")

    # -- protocol ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(protocol.encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self.crash_error() from None

    def poll(self, timeout: float = 0.0) -> dict[str, Any] | None:
        """The next message, None if none within ``timeout``; WorkerError if the worker died."""
        try:
            message = self.messages.get(timeout=timeout) if timeout > 0 else \
                self.messages.get_nowait()
        except queue.Empty:
            return None
        if message is None:
            self.messages.put(None)                   # stay "dead" for later polls
            self.proc.wait(timeout=5)
            raise self.crash_error()
        return message

    def wait_hello(self, timeout: float = HELLO_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while self.hello is None:
            message = self.poll(timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
            if message is not None:
                self.accept_hello(message)
            elif time.monotonic() > deadline:
                self.kill()
                raise WorkerError("crashed", f"The inference worker did not start within "
                                  f"{timeout:.0f} s; see the system console.")
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
            return True
        if message.get("type") == "error":
            self.kill()
            raise WorkerError(message.get("code", "internal"), message.get("message", "?"))
        return False

    def predict_request(self, audio: str, start: float | None, end: float | None,
                        fps: float | None) -> dict[str, Any]:
        job_id = f"j{next(_ids)}"
        request = {"type": "predict", "id": job_id, "audio": audio, "start": start, "end": end,
                   "fps": fps}
        self.send(request)
        return request

    def run(self, audio: str, start: float | None, end: float | None, fps: float | None,
            on_progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
        """Blocking predict: the result message (inline curves or a file path)."""
        self.wait_hello()
        request = self.predict_request(audio, start, end, fps)
        while True:
            message = self.poll(timeout=0.5)
            if message is None:
                continue
            done = handle_job_message(message, request["id"], on_progress)
            if done is not None:
                return done

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


def can_import_torch(python: str) -> bool:
    """Whether ``python`` can import torch (a few seconds; run rarely)."""
    if not python or not os.path.exists(python):
        return False
    try:
        return subprocess.run([python, "-c", "import torch"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def this_python() -> str:
    """The interpreter running this code (Blender's bundled Python, or the bpy wheel's venv)."""
    return sys.executable

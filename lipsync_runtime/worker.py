"""``python -m lipsync_runtime serve``: the warm worker the Blender add-on spawns.

Owns the worker side of lipsync_core.protocol: load the model once, say ``hello``, then answer
``predict`` requests one at a time with ``progress`` messages and a ``result`` (inline curves, or
for results longer than the request's ``inline_max_frames`` the path of a curves .json written
atomically in a fresh temporary folder that the client deletes), ``error`` (a code and a sentence;
the worker lives on) or ``cancelled``. A reader thread reads stdin so a ``cancel`` arrives while a
job runs; the job checks it between encoder and head windows. ``shutdown`` is answered in order
(after the jobs sent before it; cancel them first to stop sooner) with ``bye`` and exit 0; end of
stdin (the client is gone) cancels the running job and exits 0. Only protocol lines go to stdout (anything else printed is redirected to
stderr, where the logs go).

The engine is the ONNX Runtime one (lipsync_runtime.engine); ``python -m inference serve
--backend torch`` passes a factory for the torch engine instead, and everything else is this
module. Ships in the extension.

Imports: lipsync_core, lipsync_runtime (the engine lazily, after the protocol's stdout is set up).
"""
from __future__ import annotations

import logging
import math
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Optional

from lipsync_core import protocol

from .cli_common import (EXIT_OK, EXIT_USAGE, OneLineParser, UsageError, one_line, setup_logging,
                         tune_runtime)

PROG = "python -m lipsync_runtime serve"
DEFAULT_INLINE_MAX_FRAMES = 20000       # 50 Hz frames (400 s) above which results go to a file
PROGRESS_STEP = 0.05                    # report a stage again after this much more progress
log = logging.getLogger(__name__)
_EOF = object()


class Channel:
    """Protocol lines to the client: thread-safe, one flush per message."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message).encode("utf-8")
        with self._lock:
            self._stream.write(data)
            self._stream.flush()


class Jobs:
    """Which job runs, and which ids were cancelled (shared with the reader thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: str | None = None
        self.pending: set[str] = set()         # ids queued or running
        self.cancelled: set[str] = set()       # pending ids asked to stop
        self.stopping = threading.Event()

    def add(self, job_id: str) -> None:
        with self.lock:
            self.pending.add(job_id)

    def cancel(self, job_id: str) -> None:
        """Mark a queued or running job; a cancel for a finished job is ignored."""
        with self.lock:
            if job_id in self.pending:
                self.cancelled.add(job_id)

    def finish(self, job_id: str) -> None:
        with self.lock:
            self.pending.discard(job_id)
            self.cancelled.discard(job_id)

    def is_cancelled(self, job_id: str) -> bool:
        with self.lock:
            return job_id in self.cancelled or self.stopping.is_set()


def _reader(stream: BinaryIO, inbox: "queue.Queue[Any]", jobs: Jobs, out: Channel) -> None:
    """Read request lines; cancel and shutdown take effect at once, the rest are queued."""
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        try:
            message = protocol.decode(line)
        except ValueError as exc:
            out.send({"type": "error", "id": None, "code": "bad_request", "message": str(exc)})
            continue
        if message["type"] == "cancel":
            if isinstance(message.get("id"), str):
                jobs.cancel(message["id"])
            else:
                out.send({"type": "error", "id": None, "code": "bad_request",
                          "message": "A cancel request needs the string 'id' of its job."})
            continue
        if message["type"] == "predict" and isinstance(message.get("id"), str):
            jobs.add(message["id"])
        inbox.put(message)
        if message["type"] == "shutdown":               # answered after the jobs before it
            return
    jobs.stopping.set()                                  # the client is gone: stop at once
    inbox.put(_EOF)


def _number(message: dict, key: str, positive: bool = False) -> float | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise ValueError(f"'{key}' must be a {'positive' if positive else 'non-negative'} "
                         f"number or null; got {value!r}.")
    return float(value)


def _error_code(exc: BaseException) -> str:
    from lipsync_core.curves import CurvesError

    from .audio import AudioError
    from .errors import EncoderError, ModelError
    if isinstance(exc, FileNotFoundError):
        return "missing_file"
    if isinstance(exc, AudioError):
        return exc.code if exc.code in protocol.ERROR_CODES else "bad_audio"
    if isinstance(exc, (ModelError, CurvesError)):
        return "model"
    if isinstance(exc, EncoderError):
        return "encoder"
    return "internal"


class Worker:
    def __init__(self, engine: Any, out: Channel, jobs: Jobs) -> None:
        self.engine, self.out, self.jobs = engine, out, jobs

    def predict(self, message: dict[str, Any]) -> None:
        from lipsync_core.curves import write_curves

        from .errors import Cancelled

        job_id = message.get("id")
        if not isinstance(job_id, str) or not job_id:
            self.out.send({"type": "error", "id": None, "code": "bad_request",
                           "message": "A predict request needs a non-empty string 'id'."})
            return
        try:
            audio = message.get("audio")
            if not isinstance(audio, str) or not audio:
                raise ValueError("A predict request needs the path of its 'audio' file.")
            start, end = _number(message, "start"), _number(message, "end")
            fps = _number(message, "fps", positive=True)
            inline_max = message.get("inline_max_frames", DEFAULT_INLINE_MAX_FRAMES)
            if isinstance(inline_max, bool) or not isinstance(inline_max, int) or inline_max < 0:
                raise ValueError("'inline_max_frames' must be a whole number >= 0.")
            if end is not None and end <= (start or 0.0):
                raise ValueError(f"'end' ({end:g}) must come after 'start' ({start or 0:g}).")
        except ValueError as exc:
            self.out.send({"type": "error", "id": job_id, "code": "bad_request",
                           "message": str(exc)})
            return
        if not Path(audio).is_file():
            self.out.send({"type": "error", "id": job_id, "code": "missing_file",
                           "message": f"The audio file {audio!r} does not exist; check the "
                                      "sound strip's path."})
            return
        last: dict[str, float] = {}

        def progress(stage: str, fraction: float) -> None:
            if stage not in last or fraction >= last[stage] + PROGRESS_STEP or \
                    (fraction >= 1.0 > last[stage]):
                last[stage] = fraction
                self.out.send({"type": "progress", "id": job_id, "stage": stage,
                               "fraction": round(min(max(fraction, 0.0), 1.0), 4)})

        with self.jobs.lock:
            self.jobs.current = job_id
        t0 = time.perf_counter()
        try:
            curves = self.engine.predict(audio, start=start, end=end, fps=fps, progress=progress,
                                         cancel=lambda: self.jobs.is_cancelled(job_id))
            if curves.num_frames <= inline_max:
                reply = {"type": "result", "id": job_id, "curves": curves.to_dict()}
            else:
                progress("write", 0.0)
                folder = Path(tempfile.mkdtemp(prefix="lipsync-result-"))
                path = write_curves(folder / f"{_safe(job_id)}.json", curves)
                progress("write", 1.0)
                reply = {"type": "result", "id": job_id, "path": str(path)}
            self.out.send(reply)
            log.info("job %s: %d frames in %.2f s", job_id, curves.num_frames,
                     time.perf_counter() - t0)
        except Cancelled:
            self.out.send({"type": "cancelled", "id": job_id})
            log.info("job %s cancelled", job_id)
        except Exception as exc:                         # noqa: BLE001 - the worker lives on
            code = _error_code(exc)
            if code == "internal":
                log.exception("job %s failed", job_id)
                text = (f"The worker failed unexpectedly ({type(exc).__name__}: {one_line(exc)});"
                        " see the worker log for details.")
            else:
                text = one_line(exc)
            self.out.send({"type": "error", "id": job_id, "code": code, "message": text})
        finally:
            with self.jobs.lock:
                self.jobs.current = None

    def serve(self, inbox: "queue.Queue[Any]") -> int:
        while True:
            message = inbox.get()
            if message is _EOF:
                log.info("stdin closed; exiting")
                return EXIT_OK
            kind = message["type"]
            if kind == "shutdown":
                self.out.send({"type": "bye"})
                return EXIT_OK
            if kind == "predict":
                job_id = message.get("id")
                if self.jobs.stopping.is_set():
                    continue
                if isinstance(job_id, str) and self.jobs.is_cancelled(job_id):
                    self.out.send({"type": "cancelled", "id": job_id})   # cancelled while queued
                    self.jobs.finish(job_id)
                    continue
                try:
                    self.predict(message)
                finally:
                    if isinstance(job_id, str):
                        self.jobs.finish(job_id)
                continue
            self.out.send({"type": "error", "id": message.get("id"), "code": "bad_request",
                           "message": f"Unknown request type {kind!r}; use predict, cancel or "
                                      "shutdown."})


def _safe(job_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in job_id)[:64] or "result"


EngineFactory = Callable[[Optional[str], str], Any]     # (model folder or None, device) -> engine


def runtime_engine(model: str | None, device: str) -> Any:
    from .engine import load_engine
    return load_engine(model, device=device)


def main(argv: list[str], engine_factory: EngineFactory | None = None,
         devices: tuple[str, ...] | None = None, prog: str = PROG) -> int:
    """Serve until shutdown or end of stdin. ``engine_factory`` builds the engine (default: the
    ONNX Runtime one); ``devices`` are the --device choices it accepts."""
    from .providers import DEVICES

    parser = OneLineParser(prog=prog, description="The warm JSON Lines worker (see "
                           "lipsync_core/protocol.py).")
    parser.add_argument("--model", default=None,
                        help="model folder (default: the shipped model, assets/runtime)")
    parser.add_argument("--device", choices=devices or DEVICES, default="auto")
    parser.add_argument("--verbose", action="store_true", help="debug logs on stderr")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{prog}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    out = Channel(sys.stdout.buffer)
    sys.stdout = sys.stderr                       # stray prints must not corrupt the protocol
    tune_runtime()
    setup_logging(args.verbose)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        engine = (engine_factory or runtime_engine)(args.model, args.device)
    except Exception as exc:                      # noqa: BLE001 - reported, then exit
        code = _error_code(exc)
        if code == "internal":
            log.exception("the model could not be loaded")
        out.send({"type": "error", "id": None, "code": code if code != "internal" else "model",
                  "message": one_line(exc)})
        return 1
    from lipsync_core.params import PARAM_NAMES, SCHEMA_VERSION
    out.send({"type": "hello", "protocol": protocol.PROTOCOL_VERSION,
              "schema_version": SCHEMA_VERSION, "device": engine.device_description,
              "model": engine.model_info, "params": list(PARAM_NAMES),
              "providers": _providers()})
    jobs = Jobs()
    inbox: "queue.Queue[Any]" = queue.Queue()
    reader = threading.Thread(target=_reader, args=(sys.stdin.buffer, inbox, jobs, out),
                              name="stdin-reader", daemon=True)
    reader.start()
    return Worker(engine, out, jobs).serve(inbox)


def _providers() -> list[str]:
    """The execution providers this onnxruntime offers (empty when it is not importable)."""
    try:
        import onnxruntime
        return list(onnxruntime.get_available_providers())
    except ImportError:
        return []

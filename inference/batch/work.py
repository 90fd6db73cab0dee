"""One line through a warm engine: the code every batch engine (local, Ray) runs.

Owns: loading the engine for a worker, the model's identity for cache keys, the output formats
(json, csv, npz, livelink), and :func:`run_line`, which turns a task (see manifest.Line.to_task)
into the bytes of its curves file plus an outcome dict for the summary. Because both engines call
the same function with the same engine, their outputs are identical.

Imports: numpy, lipsync_core, lipsync_runtime (never torch: the worker processes must stay small;
tests/inference/test_batch_local.py checks sys.modules inside a worker).
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import numpy as np

from lipsync_core.curves import Curves, CurvesError, encode_curves
from lipsync_core.livelink import encode_livelink
from lipsync_core.params import PARAMS

log = logging.getLogger(__name__)

FORMATS = {"json": ".json", "csv": ".csv", "npz": ".npz", "livelink": ".livelink.csv"}
LIVELINK_DEFAULT_FPS = 60.0          # Live Link Face records at 60 fps by default
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)     # (26,) the resting mouth
_REST_TOLERANCE = 1e-4               # a curve this close to rest everywhere is "silent"


def model_identity(model_dir: str | None) -> str:
    """The runtime model's identity (changes whenever any model file changes), without loading
    the networks. Raises the runtime's ModelError with one sentence."""
    from lipsync_runtime.model import load_model
    return load_model(model_dir, verify=False).identity


def load_engine(model_dir: str | None, device: str, threads: int | None = None) -> Any:
    """A warm runtime engine. ``threads``: ONNX Runtime threads for this process (the local
    engine gives each worker its share of the cores)."""
    from lipsync_runtime.engine import load_engine as runtime_load
    return runtime_load(model_dir, device=device, threads=int(threads) if threads else None)


def encode(curves: Curves, fmt: str) -> bytes:
    """The bytes of ``curves`` as a file of format ``fmt`` (a key of FORMATS)."""
    if fmt == "livelink":
        return encode_livelink(curves)
    return encode_curves(curves, FORMATS[fmt])


def task_fps(task: dict[str, Any], fmt: str) -> float | None:
    """The frame rate a task asks for: its own, else the format's default (None = 50 Hz)."""
    if task.get("fps") is not None:
        return float(task["fps"])
    return LIVELINK_DEFAULT_FPS if fmt == "livelink" else None


def _expected_errors() -> tuple[type[BaseException], ...]:
    from lipsync_runtime.audio import AudioError
    from lipsync_runtime.errors import EncoderError, ModelError
    return (AudioError, ModelError, EncoderError, CurvesError, OSError)


def run_line(engine: Any, task: dict[str, Any], fmt: str,
             audio_path: str | None = None) -> tuple[dict[str, Any], bytes | None]:
    """(outcome, file bytes or None) for one task; never raises for a bad line.

    ``audio_path`` replaces the task's path (a Ray actor's local copy of shipped audio).
    outcome: {"status": "done" | "failed", "seconds": compute time, "frames", "duration": audio
    seconds covered, "note": "silent" or "", "error": sentence or None}.
    """
    t0 = time.perf_counter()
    try:
        curves = engine.predict(audio_path or task["audio"], start=task.get("start"),
                                end=task.get("end"), fps=task_fps(task, fmt))
        data = encode(curves, fmt)
    except _expected_errors() as exc:
        return {"status": "failed", "seconds": time.perf_counter() - t0,
                "error": " ".join(str(exc).split()) or type(exc).__name__}, None
    except Exception as exc:                               # noqa: BLE001 - one line must not stop others
        log.exception("line %s failed", task.get("id"))
        return {"status": "failed", "seconds": time.perf_counter() - t0,
                "error": f"Internal error on this line ({type(exc).__name__}: {exc}); "
                         "rerun with --verbose and report it."}, None
    silent = curves.num_frames > 0 and \
        bool(np.all(np.abs(curves.frames - REST) <= _REST_TOLERANCE))
    return {"status": "done", "seconds": time.perf_counter() - t0, "frames": curves.num_frames,
            "duration": round(curves.duration, 6), "note": "silent" if silent else "",
            "error": None}, data


def process_facts() -> dict[str, Any]:
    """What a worker reports when ready: pid, whether torch got imported, peak memory."""
    return {"pid": os.getpid(), "torch_imported": "torch" in sys.modules,
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux/macOS; 0 elsewhere)."""
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    except (ImportError, OSError):
        return 0.0


def current_rss_mb() -> float:
    """Resident memory now, in MiB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()

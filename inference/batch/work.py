"""Lines through a warm engine: the code every batch engine (local, Ray) runs.

Owns: loading the engine for a worker, the model's identity and window (for cache keys and
packs), the output formats (json, csv, npz, livelink), and :func:`run_pack`, which turns a pack
of tasks (see manifest.Line.to_task and packing) into the bytes of each line's curves file plus
an outcome dict for the summary. Because both engines call the same function with the same
engine and the same packs, their outputs are identical.

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
from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES, PARAMS, SAMPLE_RATE

log = logging.getLogger(__name__)

FORMATS = {"json": ".json", "csv": ".csv", "npz": ".npz", "livelink": ".livelink.csv"}
LIVELINK_DEFAULT_FPS = 60.0          # Live Link Face records at 60 fps by default
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)     # (26,) the resting mouth
_REST_TOLERANCE = 1e-4               # a curve this close to rest everywhere is "silent"


def model_facts(model_dir: str | None) -> tuple[str, int]:
    """(identity, encoder window in 50 Hz frames) of the runtime model, without loading the
    networks. The identity changes whenever any model file changes. Raises the runtime's
    ModelError with one sentence."""
    from lipsync_runtime.model import load_model
    model = load_model(model_dir, verify=False)
    return model.identity, int(model.encoder["window_frames"])


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


def _failed(seconds: float, exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "seconds": seconds,
            "error": " ".join(str(exc).split()) or type(exc).__name__}


def run_pack(engine: Any, tasks: list[dict[str, Any]], fmt: str,
             audio_paths: list[str] | None = None) -> list[tuple[dict[str, Any], bytes | None]]:
    """One (outcome, file bytes or None) per task of a pack (see inference.batch.packing);
    never raises for a bad line.

    The lines' audio is encoded together (engine.predict_many); each line's curves are then
    made exactly as engine.predict makes them (resampled to its fps, frame 0 at its start).
    ``audio_paths`` replace the tasks' paths (a Ray actor's local copies of shipped audio).
    outcome: {"status": "done" | "failed", "seconds": this line's share of the compute time,
    "frames", "duration": audio seconds covered, "note": "silent" or "", "error": sentence}.
    """
    from lipsync_runtime.audio import load_audio
    from lipsync_core.timing import resample_curves

    t0 = time.perf_counter()
    results: list[tuple[dict[str, Any], bytes | None] | None] = [None] * len(tasks)
    waves, index = [], []
    for i, task in enumerate(tasks):
        try:
            waves.append(load_audio(audio_paths[i] if audio_paths else task["audio"],
                                    start=task.get("start"), end=task.get("end")))
            index.append(i)
        except _expected_errors() as exc:
            results[i] = (_failed(0.0, exc), None)
    try:
        curves50 = engine.predict_many(waves) if waves else []
    except _expected_errors() as exc:
        curves50 = [exc] * len(waves)
    except Exception as exc:                               # noqa: BLE001 - report, go on
        log.exception("pack of %d lines failed", len(waves))
        curves50 = [RuntimeError(f"Internal error on this line ({type(exc).__name__}: {exc}); "
                                 "rerun with --verbose and report it.")] * len(waves)
    elapsed = time.perf_counter() - t0
    total = sum(len(w) for w in waves) or 1
    for i, wave, frames in zip(index, waves, curves50):
        share = elapsed * len(wave) / total
        task = tasks[i]
        if isinstance(frames, BaseException):
            results[i] = (_failed(share, frames), None)
            continue
        fps = task_fps(task, fmt)
        try:
            curves = Curves(fps=FRAME_RATE_HZ if fps is None else fps,
                            start_time=float(task.get("start") or 0.0), params=PARAM_NAMES,
                            frames=frames if fps is None else resample_curves(frames, fps),
                            model=dict(engine.model_info))
            data = encode(curves, fmt)
        except _expected_errors() as exc:
            results[i] = (_failed(share, exc), None)
            continue
        silent = curves.num_frames > 0 and \
            bool(np.all(np.abs(curves.frames - REST) <= _REST_TOLERANCE))
        results[i] = ({"status": "done", "seconds": share, "frames": curves.num_frames,
                       "duration": round(len(wave) / SAMPLE_RATE, 6),
                       "note": "silent" if silent else "", "error": None}, data)
    return [r for r in results if r is not None]


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

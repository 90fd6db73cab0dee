"""A speech file -> Curves, for either engine: reading the audio, timing the stages, the frame
rate, the model's description. One copy for the ONNX Runtime engine (lipsync_runtime.engine) and
the torch engine (inference/pipeline.py), which both give ``predict_wave``, ``model_info`` and
``last_timings``.

Owns :class:`Timings` and :func:`predict_file`. May import: numpy, lipsync_core,
lipsync_runtime.{audio, errors}. Ships in the extension.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from lipsync_core.curves import Curves
from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES
from lipsync_core.timing import resample_curves

from .errors import Cancelled

ProgressFn = Callable[[str, float], None]      # (stage, fraction in [0, 1])
CancelFn = Callable[[], bool]                  # True = stop as soon as possible


@dataclass
class Timings:
    """Seconds spent in each stage of the last prediction (for logs and the benchmark)."""
    audio: float = 0.0
    encoder: float = 0.0
    head: float = 0.0
    frames: int = 0                      # 50 Hz frames
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.audio + self.encoder + self.head


def predict_file(engine: Any, audio_path: str | os.PathLike, start: float | None = None,
                 end: float | None = None, fps: float | None = None,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> Curves:
    """Curves for ``audio_path`` (optionally the ``start``..``end`` seconds of it) at 50 Hz, or
    at ``fps`` frames per second; frame 0 is at ``start`` (or 0) seconds of the file.

    ``engine`` is either engine (this module's, or the torch one in inference/pipeline.py): it
    gives ``predict_wave``, ``model_info`` and ``last_timings``. Raises AudioError, EncoderError,
    ModelError or Cancelled.
    """
    from .audio import load_audio

    report = progress or (lambda stage, fraction: None)
    check = cancel or (lambda: False)
    t0 = time.perf_counter()
    report("audio", 0.0)
    wave = load_audio(audio_path, start=start, end=end)                # (samples,) 16 kHz
    report("audio", 1.0)
    t1 = time.perf_counter()
    curves50 = engine.predict_wave(wave, progress=report, cancel=check)
    if check():
        raise Cancelled()
    engine.last_timings.audio = t1 - t0
    frames = curves50 if fps is None else resample_curves(curves50, fps)
    return Curves(fps=FRAME_RATE_HZ if fps is None else float(fps),
                  start_time=float(start or 0.0), params=PARAM_NAMES, frames=frames,
                  model=engine.model_info)



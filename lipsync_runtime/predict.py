"""A speech file -> Curves, for either engine: reading the audio, timing the stages, the frame
rate, the model's description. One copy for the ONNX Runtime engine (lipsync_runtime.engine) and
the torch engine (inference/pipeline.py), which both give ``predict_wave``, ``model_info`` and
``last_timings``.

Owns :class:`Timings` and :func:`predict_file`. May import: numpy, lipsync_core,
lipsync_runtime.{audio, errors, windows}. Ships in the extension.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from lipsync_core.curves import Curves
from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES, SAMPLE_RATE
from lipsync_core.timing import encode_range, resample_curves

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

    The model hears the range with up to a second of the file either side, from a start on the
    file's own 50 Hz grid (lipsync_core.timing.encode_range), so a range's curves are the
    file's: Generate's range starts at the lead (0.03 s), not on the grid.

    ``engine`` is either engine (this module's, or the torch one in inference/pipeline.py): it
    gives ``predict_wave``, ``model_info`` and ``last_timings``. Raises AudioError, EncoderError,
    ModelError or Cancelled.
    """
    from .audio import audio_span, load_audio
    from .windows import frames_for

    report = progress or (lambda stage, fraction: None)
    check = cancel or (lambda: False)
    t0 = time.perf_counter()
    report("audio", 0.0)
    first, last, duration = audio_span(audio_path, start, end)        # seconds, checked
    begin, stop = encode_range(first, last, duration)                  # seconds, with context
    wave = load_audio(audio_path, start=begin or None, end=stop)       # (samples,) 16 kHz
    skip = int(round((first - begin) * SAMPLE_RATE))                   # samples before the range
    wanted = min(len(wave) - skip, int(round((last - first) * SAMPLE_RATE)))
    report("audio", 1.0)
    t1 = time.perf_counter()
    curves50 = engine.predict_wave(wave, progress=report, cancel=check)   # (frames, 26) 50 Hz
    if check():
        raise Cancelled()
    engine.last_timings.audio = t1 - t0
    frames = resample_curves(curves50, FRAME_RATE_HZ if fps is None else fps,
                             offset=(first - begin) * FRAME_RATE_HZ, count=frames_for(wanted))
    return Curves(fps=FRAME_RATE_HZ if fps is None else float(fps),
                  start_time=float(start or 0.0), params=PARAM_NAMES, frames=frames,
                  model=engine.model_info)



"""Whisper's silence padding, computed once and reused: how a short line stops paying for 30 s.

Owns: ``PaddingCache`` (the padding's attention keys and values, per silence level),
``cached_frames`` (how many frames a short clip computes) and the constants below. Both engines
use it: lipsync_runtime.engine (ONNX Runtime) and inference.encoders.whisper (torch).
May import: numpy and the standard library. Ships in the extension.

Whisper always encodes a 30 s window (1500 frames at 50 Hz); a 2 s line is padded with 28 s of
silence, and nearly all the encoder's work goes to that silence. The head was trained on padded
windows, and windows cut to the clip lose closures (docs/inference.md), so the padding must stay.
What changes is who computes it. The padding is log-mel at the clip's floor value (what zero audio
turns into, ``lipsync_runtime.logmel``), so its keys and values in every attention layer depend on
the clip only through that floor and through the little attention it pays to the clip. A
``PaddingCache`` runs the encoder once on a window of pure silence at the floor, keeps each layer's
keys and values, and a short clip then computes only its own frames plus
``EXACT_FRAMES`` (the frames whose convolutions still see the clip's last samples), attending to
its own keys and to the cached ones of the positions after it. Keys and values are stored
position first, (1500, L, D), so the part a clip needs is one contiguous slice. Work falls from 1500 frames to
about the clip's; the curves stay within docs/inference.md's measured bounds of the full window's.

Floors are rounded to ``FLOOR_STEP`` so one silence pass serves every line recorded at a similar
level; the cache keeps the ``ENTRIES`` most recent levels in float16, the encoder's own type for
them (keys and values of (1500, L, D): 18 MB a level for Whisper base; the graph casts them, 10x
faster than numpy's 17-35 ms).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np

EXACT_FRAMES = 2          # 50 Hz frames after the clip computed, not cached: conv edges
FLOOR_STEP = 1.0 / 8.0    # normalised log-mel units (1 = 40 dB) a cached silence level stands for
ENTRIES = 2               # silence levels kept (18 MB each)

SilencePass = Callable[[float], "tuple[np.ndarray, np.ndarray]"]


def floor_level(floor: float) -> float:
    """The cached silence level standing for a clip whose padding value is ``floor``."""
    return round(float(floor) / FLOOR_STEP) * FLOOR_STEP


def cached_frames(total: int, window: int) -> int | None:
    """Frames a clip of ``total`` 50 Hz frames computes with cached padding in a ``window``-frame
    window, or None when it fills the window (no padding to reuse: encode it as before)."""
    frames = int(total) + EXACT_FRAMES
    return frames if frames < int(window) else None


class PaddingCache:
    """Per-layer attention keys and values of a window of silence, for the recent floor levels.

    ``silence_pass(level)`` runs the encoder on a whole window of log-mel at ``level`` and returns
    (keys, values), each (window, L, D) float16. ``padding(floor, frames)`` gives the part a clip
    of ``frames`` computed frames attends to: positions [frames, window), contiguous views.
    """

    def __init__(self, silence_pass: SilencePass, entries: int = ENTRIES) -> None:
        self._pass = silence_pass
        self._entries = max(1, int(entries))
        self._levels: OrderedDict[float, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.passes = 0                          # silence passes run (for tests and the bench)

    def padding(self, floor: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, values), each (window - frames, L, D), for a clip whose padding is ``floor``."""
        level = floor_level(floor)
        if level in self._levels:
            self._levels.move_to_end(level)
        else:
            keys, values = self._pass(level)
            self.passes += 1
            self._levels[level] = (np.ascontiguousarray(keys, dtype=np.float16),
                                   np.ascontiguousarray(values, dtype=np.float16))
            while len(self._levels) > self._entries:
                self._levels.popitem(last=False)
        keys, values = self._levels[level]
        return keys[frames:], values[frames:]

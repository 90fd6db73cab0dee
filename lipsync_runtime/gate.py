"""The silence gate: long near-silent stretches ease the mouth to rest, whatever the model says.

Frames whose loudness stays near-silent for at least ``MIN_SILENCE_S`` are eased to the schema's
rest values (a closed, relaxed mouth), so pure silence never opens the mouth. Shorter quiet
stretches (a stop closure in "apple") are left to the model. One copy for the ONNX Runtime engine
and the torch path.

Owns: ``silence_gate``, ``apply_gate`` and the gate's constants. May import: numpy, lipsync_core.
Ships in the extension.
"""
from __future__ import annotations

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ, HOP_SAMPLES, PARAMS

SILENCE_DBFS = -55.0        # dBFS RMS of a 20 ms frame below which it is near-silent...
SILENCE_BELOW_PEAK_DB = 45.0   # ...or this many dB below the clip's loudest frame
MIN_SILENCE_S = 0.2         # seconds: shorter quiet stretches (stop closures) are the model's
GATE_RAMP_FRAMES = 3        # 50 Hz frames over which a long silence eases to rest
# The mouth moves before the sound (50-100 ms at utterance onsets) and relaxes after it, so the
# gate leaves the model alone this close to speech and eases to rest only beyond.
GATE_PRE_SPEECH_FRAMES = 6  # 120 ms before a loud frame: anticipation is kept
GATE_POST_SPEECH_FRAMES = 3  # 60 ms after a loud frame: the release is kept
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)   # (26,)


def silence_gate(wave: np.ndarray, num_frames: int, hop: int) -> np.ndarray:
    """(num_frames,) factor in [0, 1]: 0 inside long near-silent stretches, 1 elsewhere.

    ``wave`` is mono float audio and ``hop`` its samples per 50 Hz frame (320 at 16 kHz).
    """
    if num_frames == 0:
        return np.ones(0, dtype=np.float32)
    wave = np.asarray(wave, dtype=np.float32)
    mean_square = np.zeros(num_frames, dtype=np.float64)
    full = min(len(wave) // hop, num_frames)
    if full:                                       # a view, no copy of an hour of audio
        blocks = wave[:full * hop].reshape(full, hop)
        mean_square[:full] = np.einsum("ij,ij->i", blocks, blocks) / hop
    if full < num_frames:                          # the last, partial frame (zero-padded)
        tail = wave[full * hop:num_frames * hop].astype(np.float64)
        mean_square[full] = float(np.sum(tail * tail)) / hop
    rms = np.sqrt(mean_square)
    db = 20.0 * np.log10(np.maximum(rms, 1e-10))                    # (frames,) dBFS
    threshold = max(SILENCE_DBFS, float(db.max()) - SILENCE_BELOW_PEAK_DB) \
        if db.max() > SILENCE_DBFS else np.inf                       # all quiet: all silent
    quiet = db < threshold
    silent = np.zeros(num_frames, dtype=bool)
    min_run = int(round(MIN_SILENCE_S * FRAME_RATE_HZ))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):                        # runs of quiet frames
        if b - a >= min_run:
            silent[a:b] = True
    # distance (frames) from each silent frame to the nearest non-silent one: ramp inside runs
    gate = np.ones(num_frames, dtype=np.float32)
    if silent.any():
        idx = np.arange(num_frames)
        loud = np.flatnonzero(~silent)
        if loud.size == 0:
            return np.zeros(num_frames, dtype=np.float32)
        pos = np.searchsorted(loud, idx)
        big = num_frames + GATE_PRE_SPEECH_FRAMES + GATE_POST_SPEECH_FRAMES
        prev_loud = loud[np.clip(pos - 1, 0, loud.size - 1)]
        next_loud = loud[np.clip(pos, 0, loud.size - 1)]
        after = np.where(prev_loud < idx, idx - prev_loud, big)    # frames since speech ended
        before = np.where(next_loud > idx, next_loud - idx, big)   # frames until speech starts
        dist = np.minimum(np.maximum(after - GATE_POST_SPEECH_FRAMES, 0),
                          np.maximum(before - GATE_PRE_SPEECH_FRAMES, 0))
        gate = np.where(silent, np.clip(1.0 - dist / (GATE_RAMP_FRAMES + 1), 0.0, 1.0), 1.0)
    return gate.astype(np.float32)


def apply_gate(curves: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """(frames, 26) model curves at 50 Hz -> the same, eased to REST in long silences of ``wave``
    ((samples,) float at 16 kHz)."""
    gate = silence_gate(wave, len(curves), HOP_SAMPLES)[:, None]       # (frames, 1)
    return (REST + (curves - REST) * gate).astype(np.float32)

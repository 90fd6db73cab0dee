"""The silence gate: long near-silent stretches ease the mouth to rest, whatever the model says.

Frames whose loudness stays near-silent for at least ``MIN_SILENCE_S`` are eased to the schema's
rest values (a closed, relaxed mouth), so pure silence never opens the mouth. Shorter quiet
stretches (a stop closure in "apple") are left to the model. One copy for the ONNX Runtime engine
and the torch path.

"Near-silent" is either quiet in absolute terms (below ``SILENCE_DBFS`` or ``SILENCE_BELOW_PEAK_DB``
under the loudest frame), or, in a take with a steady noise floor (hiss, hum, fan, traffic), no
louder than that floor: ``noise_floor_quiet`` compares each frame's speech-band energy with the
band's own floor over the surrounding ``FLOOR_SPAN_S`` and calls it quiet when it rises less than
``FLOOR_MARGIN_DB`` above it, but only where the take's speech stands at least
``FLOOR_SPEECH_DB`` clear of that floor (at 0 dB SNR, or in babble, nothing is gated this way).

Owns: ``silence_gate``, ``apply_gate`` and the gate's constants. May import: numpy, lipsync_core.
Ships in the extension.
"""
from __future__ import annotations

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ, HOP_SAMPLES, PARAMS, SAMPLE_RATE

SILENCE_DBFS = -55.0        # dBFS RMS of a 20 ms frame below which it is near-silent...
SILENCE_BELOW_PEAK_DB = 45.0   # ...or this many dB below the clip's loudest frame
MIN_SILENCE_S = 0.2         # seconds: shorter quiet stretches (stop closures) are the model's
GATE_RAMP_FRAMES = 3        # 50 Hz frames over which a long silence eases to rest
# The mouth moves before the sound (50-100 ms at utterance onsets) and relaxes after it, so the
# gate leaves the model alone this close to speech and eases to rest only beyond.
GATE_PRE_SPEECH_FRAMES = 6  # 120 ms before a loud frame: anticipation is kept
GATE_POST_SPEECH_FRAMES = 3  # 60 ms after a loud frame: the release is kept
REST = np.array([p.rest for p in PARAMS], dtype=np.float32)   # (26,)

# The noise-floor test (docs/robustness.md, "A gate that hears the noise floor"). Chosen on valid.
NOISE_FLOOR_GATE = True      # False: only the absolute loudness test above
FLOOR_BANDS_HZ = tuple(float(f) for f in np.geomspace(250.0, 6000.0, 9))   # 8 speech bands
FLOOR_PERCENTILE = 10.0      # a band's floor: this percentile of its dB over the span
FLOOR_SPAN_S = 30.0          # seconds over which a floor is taken (a long take's noise drifts)
FLOOR_MARGIN_DB = 5.0        # mean dB above the band floors below which a frame is quiet
FLOOR_SPEECH_DB = 10.0       # ...only where the span's 95th percentile stands this far above
FLOOR_MIN_SILENCE_S = MIN_SILENCE_S   # seconds: quiet runs this test may rest (0.3 s and 0.4 s
                                     # spared only a b in the unit test's line)
FLOOR_CHUNK_FRAMES = 4096    # frames per FFT batch: an hour never holds its spectrogram at once


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
    silent = _long_runs(quiet, MIN_SILENCE_S)
    if NOISE_FLOOR_GATE and hop == HOP_SAMPLES:
        silent |= _long_runs(quiet | noise_floor_quiet(wave, num_frames), FLOOR_MIN_SILENCE_S)
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


def _long_runs(quiet: np.ndarray, seconds: float) -> np.ndarray:
    """(frames,) bool: the frames of ``quiet`` in runs of at least ``seconds``."""
    out = np.zeros(len(quiet), dtype=bool)
    min_run = int(round(seconds * FRAME_RATE_HZ))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):                        # runs of quiet frames
        if b - a >= min_run:
            out[a:b] = True
    return out


def band_levels(wave: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames, 8) float32 dB energy of ``wave`` (16 kHz) in ``FLOOR_BANDS_HZ``: one
    Hann-windowed FFT of each 20 ms frame's own samples (50 Hz bins), no overlap."""
    wave = np.asarray(wave, dtype=np.float32)
    freqs = np.fft.rfftfreq(HOP_SAMPLES, 1.0 / SAMPLE_RATE)            # (161,) Hz
    band = np.searchsorted(FLOOR_BANDS_HZ, freqs, side="right") - 1   # (bins,) band or -1 / 8
    n_bands = len(FLOOR_BANDS_HZ) - 1
    member = np.zeros((len(freqs), n_bands), np.float32)              # (bins, bands) 0/1
    inside = (band >= 0) & (band < n_bands)
    member[np.flatnonzero(inside), band[inside]] = 1.0
    window = np.hanning(HOP_SAMPLES).astype(np.float32)
    out = np.empty((num_frames, n_bands), np.float32)
    for a in range(0, num_frames, FLOOR_CHUNK_FRAMES):
        b = min(num_frames, a + FLOOR_CHUNK_FRAMES)
        piece = wave[a * HOP_SAMPLES:b * HOP_SAMPLES]                  # a view, no copy
        if len(piece) < (b - a) * HOP_SAMPLES:                         # the last, partial frame
            piece = np.concatenate([piece, np.zeros((b - a) * HOP_SAMPLES - len(piece),
                                                    np.float32)])
        spectrum = np.fft.rfft(piece.reshape(b - a, HOP_SAMPLES) * window, axis=1)
        power = np.square(np.abs(spectrum), dtype=np.float64)             # (chunk, 161)
        out[a:b] = 10.0 * np.log10(np.maximum(power @ member, 1e-12))
    return out


def noise_floor_quiet(wave: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames,) bool: frames no louder than the take's steady noise floor (module doc)."""
    quiet = np.zeros(num_frames, dtype=bool)
    if num_frames == 0:
        return quiet
    levels = band_levels(wave, num_frames)                             # (frames, 8) dB
    span = int(round(FLOOR_SPAN_S * FRAME_RATE_HZ))
    step = max(1, span // 4)                    # floors are taken per block of a quarter span
    for a in range(0, num_frames, step):
        b = min(num_frames, a + step)
        lo, hi = max(0, (a + b) // 2 - span // 2), min(num_frames, (a + b) // 2 + span // 2)
        if hi - lo < span:                      # near an end (or a short take): a whole span
            lo, hi = max(0, min(lo, hi - span)), min(num_frames, max(hi, lo + span))
        floor = np.percentile(levels[lo:hi], FLOOR_PERCENTILE, axis=0)       # (8,) dB
        above = np.clip(levels[lo:hi] - floor, 0.0, 30.0).mean(axis=1)      # (span,) dB
        if np.percentile(above, 95) >= FLOOR_SPEECH_DB:
            quiet[a:b] = above[a - lo:b - lo] < FLOOR_MARGIN_DB
    return quiet


def apply_gate(curves: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """(frames, 26) model curves at 50 Hz -> the same, eased to REST in long silences of ``wave``
    ((samples,) float at 16 kHz)."""
    gate = silence_gate(wave, len(curves), HOP_SAMPLES)[:, None]       # (frames, 1)
    return (REST + (curves - REST) * gate).astype(np.float32)

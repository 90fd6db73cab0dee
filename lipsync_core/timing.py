"""Frame timing: 50 Hz model curves -> scene frames, smoothing, and scene frame rates.

Owns how (frames, 26) curves at the model's 50 Hz become curves at a scene's frame rate
(23.976, 24, 25, 29.97, 30, 50, 59.94, 60, 120 fps or anything else, up or down) without
dropping short events, and a Gaussian smoothing that keeps closures closed.

Each output frame k sits at time k / fps (seconds from the first 50 Hz sample) and summarises
its window [t - 0.5/fps, t + 0.5/fps] of the curve, read as a piecewise-linear function of time
that holds its first and last values beyond the ends:

- parameters whose schema field ``resample`` is "peak" (closures, presses, rolls) take the value
  furthest from their ``rest`` anywhere in the window, so a 60 ms lip closure still reaches full
  closure on at least one frame at 24 fps (the windows tile time, so every 50 Hz sample falls in
  some frame's window);
- "mean" parameters take the exact mean of the linear interpolant over the window (a box filter:
  it anti-aliases when downsampling and reduces to linear interpolation when upsampling).

Imports: numpy and lipsync_core.params only.
"""
from __future__ import annotations

import math

import numpy as np

from .params import FRAME_RATE_HZ, PARAMS

# (26,) per-parameter settings from the schema, in output order.
_REST = np.array([p.rest for p in PARAMS], dtype=np.float64)
_PEAK = np.array([p.resample == "peak" for p in PARAMS], dtype=bool)


def scene_fps(fps: float, fps_base: float = 1.0) -> float:
    """A scene's real frame rate, as Blender stores it: ``fps / fps_base`` (30 / 1.001 = 29.97)."""
    if not (fps > 0 and fps_base > 0) or not math.isfinite(fps / fps_base):
        raise ValueError(f"A frame rate needs a positive fps and fps_base; got {fps} / {fps_base}.")
    return float(fps) / float(fps_base)


# seconds of audio either side of a requested range that the model hears too (encode_range):
# one Whisper window, which every clip pays for anyway, so a line that fits in one is encoded whole
ENCODE_CONTEXT_S = 30.0


def encode_range(start: float, end: float, duration: float) -> tuple[float, float]:
    """(begin, stop): the seconds of a ``duration``-second file to encode for curves of its
    ``start``..``end``. ``begin`` lies on the file's own 50 Hz grid (a multiple of 20 ms) up to
    ENCODE_CONTEXT_S before ``start``, ``stop`` up to ENCODE_CONTEXT_S after ``end``, both within
    the file. So a range's curves are the file's curves, exactly for a file of up to
    ENCODE_CONTEXT_S: cutting the audio at the range (Generate asks from the 30 ms lead) moved a
    held-out /m/'s mouth_close from 0.81 to 0.35, and to 0.29 at 10 ms."""
    step = 1.0 / FRAME_RATE_HZ
    begin = max(0.0, math.floor((start - ENCODE_CONTEXT_S) / step + 1e-9) * step)
    return begin, min(float(duration), end + ENCODE_CONTEXT_S)


def num_frames(num_samples: int, dst_fps: float, src_hz: float = FRAME_RATE_HZ) -> int:
    """How many frames at ``dst_fps`` cover ``num_samples`` samples at ``src_hz`` (at least 1)."""
    if num_samples <= 0:
        return 0
    duration = num_samples / src_hz                      # seconds
    return max(1, int(math.ceil(duration * dst_fps - 1e-6)))


def _check(curves: np.ndarray) -> np.ndarray:
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[1] != len(PARAMS):
        raise ValueError(f"Curves must have shape (frames, {len(PARAMS)}); got {curves.shape}.")
    return curves


def _interp(curves: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, P) curves at fractional sample positions x (M,) -> (M, P)."""
    last = curves.shape[0] - 1
    x = np.clip(x, 0.0, last)
    i = np.minimum(np.floor(x).astype(np.int64), max(last - 1, 0))
    u = (x - i)[:, None]
    j = np.minimum(i + 1, last)
    return curves[i] * (1.0 - u) + curves[j] * u


def _integral(curves: np.ndarray, cum: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integral from sample 0 to x (sample units) of the edge-held linear interpolant -> (M, P)."""
    last = curves.shape[0] - 1
    xc = np.clip(x, 0.0, last)
    i = np.minimum(np.floor(xc).astype(np.int64), max(last - 1, 0))
    u = (xc - i)[:, None]
    a = curves[i]
    b = curves[np.minimum(i + 1, last)]
    inside = cum[i] + a * u + (b - a) * (u * u) / 2.0
    below = np.minimum(x, 0.0)[:, None] * curves[0]            # held first value before 0
    above = np.maximum(x - last, 0.0)[:, None] * curves[last]  # held last value after the end
    return inside + below + above


def resample_curves(curves: np.ndarray, dst_fps: float, src_hz: float = FRAME_RATE_HZ,
                    offset: float = 0.0, count: int | None = None) -> np.ndarray:
    """Resample (T, 26) curves at ``src_hz`` to (N, 26) frames at ``dst_fps``.

    Frame k is at time offset / src_hz + k / dst_fps (``offset``: source samples, may be
    fractional, before the first output frame); N frames cover the ``count`` source samples from
    ``offset`` (default: the rest of the clip). "peak" parameters keep the value furthest from rest
    inside each frame's window, "mean" parameters the window's mean (see the module docstring).
    Returns float32.
    """
    curves = _check(curves)
    if not (dst_fps > 0 and src_hz > 0):
        raise ValueError(f"Frame rates must be positive; got {dst_fps} fps from {src_hz} Hz.")
    T = curves.shape[0]
    span = T - int(math.ceil(offset - 1e-9)) if count is None else int(count)
    N = num_frames(span, dst_fps, src_hz)
    if N == 0:
        return np.zeros((0, len(PARAMS)), dtype=np.float32)
    if dst_fps == src_hz and float(offset).is_integer() and int(offset) + N <= T:
        # Same rate on the same grid: frame k is sample offset + k. The window mean below would
        # blur each "mean" curve by a quarter of its neighbours (weights 1/8, 3/4, 1/8) and soften
        # short closures.
        return curves[int(offset):int(offset) + N].astype(np.float32)
    centre = offset + np.arange(N, dtype=np.float64) * (src_hz / dst_fps)   # (N,) source samples
    half = 0.5 * src_hz / dst_fps                                    # half window, samples
    lo, hi = centre - half, centre + half
    out = np.empty((N, len(PARAMS)), dtype=np.float64)

    # mean: exact integral of the linear interpolant over the window / its width
    cum = np.zeros_like(curves)                                      # (T, P) integral up to i
    if T > 1:
        cum[1:] = np.cumsum((curves[1:] + curves[:-1]) / 2.0, axis=0)
    mean = (_integral(curves, cum, hi) - _integral(curves, cum, lo)) / (hi - lo)[:, None]
    out[:, ~_PEAK] = mean[:, ~_PEAK]

    # peak: a linear interpolant's extreme over [lo, hi] is at an end or at a sample inside
    if _PEAK.any():
        sub = curves[:, _PEAK]                                       # (T, Pk)
        rest = _REST[_PEAK]
        lo_c, hi_c = np.clip(lo, 0, T - 1), np.clip(hi, 0, T - 1)
        width = int(math.floor(2 * half)) + 2                        # samples a window can hold
        idx = np.ceil(lo_c).astype(np.int64)[:, None] + np.arange(width)[None, :]   # (N, K)
        valid = (idx <= hi_c[:, None] + 1e-9) & (idx <= T - 1)
        inside = sub[np.minimum(idx, T - 1)]                         # (N, K, Pk)
        ends = np.stack([_interp(sub, lo_c), _interp(sub, hi_c)], axis=1)   # (N, 2, Pk)
        cand = np.concatenate([inside, ends], axis=1)                # (N, K+2, Pk)
        dev = np.abs(cand - rest)
        dev[:, :width][~valid] = -1.0
        pick = np.argmax(dev, axis=1)                                # (N, Pk)
        out[:, _PEAK] = np.take_along_axis(cand, pick[:, None, :], axis=1)[:, 0, :]
    return out.astype(np.float32)


def smooth_curves(curves: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along time with standard deviation ``sigma_frames`` (frames).

    "mean" parameters are plainly smoothed (edges held). "peak" parameters take, frame by frame,
    whichever of the original and the smoothed value lies further from rest: a closure keeps its
    full depth and its onset and release are eased outwards instead of eroded. The trade-off is
    that peak curves can only widen (a closure can start up to ~2 sigma early), never flatten.
    """
    curves = _check(curves)
    if sigma_frames < 0:
        raise ValueError(f"Smoothing must be zero or positive; got {sigma_frames} frames.")
    if sigma_frames == 0 or curves.shape[0] < 2:
        return curves.astype(np.float32)
    radius = int(math.ceil(3.0 * sigma_frames))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma_frames) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(curves, ((radius, radius), (0, 0)), mode="edge")
    smoothed = np.stack([np.convolve(padded[:, c], kernel, mode="valid")
                         for c in range(curves.shape[1])], axis=1)   # (T, P)
    keep = _PEAK[None, :] & (np.abs(curves - _REST) > np.abs(smoothed - _REST))
    return np.where(keep, curves, smoothed).astype(np.float32)


def frame_times(n: int, fps: float, start_time: float = 0.0) -> np.ndarray:
    """(n,) times in seconds of frames 0..n-1 at ``fps``, offset by ``start_time``."""
    return start_time + np.arange(n, dtype=np.float64) / fps

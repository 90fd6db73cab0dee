"""A trial, not part of the product: spectral noise suppression in front of the runtime engine.

    python scripts/denoise_trial.py --floor-db -20 [--gate-only] -- EVALUATE ARGS...

Why: issue 13 asks that closures survive noise, and in pink noise a closure's silent gap is filled
with noise. The trial asks whether suppressing stationary noise before Whisper gives the gap back.
It runs ``python -m inference evaluate`` (its arguments after ``--``) with every wave the runtime
engine is given first passed through ``suppress``; with ``--gate-only`` the model hears the wave
as it is and only the silence gate reads the suppressed one. docs/robustness.md has the result
(no gain; the product has no suppression).

The suppressor: a 32 ms sqrt-Hann STFT with a 16 ms hop (perfect reconstruction); the noise power
per bin is 1.5x the 10th percentile over the clip of the power smoothed over 5 frames; a Wiener
gain from the decision-directed a-priori SNR (smoothing 0.96), floored at ``--floor-db``.

Imports: numpy, lipsync_runtime.engine, inference.training.evaluate.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_FFT = 512   # samples, 32 ms at 16 kHz
HOP = 256     # samples, 16 ms
WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """(samples,) -> (frames, 257) complex; frame k covers samples [k*HOP - 256, k*HOP + 256)."""
    pad = np.concatenate([np.zeros(N_FFT - HOP, np.float32), x, np.zeros(N_FFT, np.float32)])
    return np.fft.rfft(np.lib.stride_tricks.sliding_window_view(pad, N_FFT)[::HOP] * WINDOW, axis=1)


def _istft(spec: np.ndarray, n: int) -> np.ndarray:
    """The inverse of :func:`_stft` (overlap-add of sqrt-Hann frames at 50 %), ``n`` samples."""
    frames = np.fft.irfft(spec, n=N_FFT, axis=1).astype(np.float32) * WINDOW
    out = np.zeros((len(frames) - 1) * HOP + N_FFT, np.float32)
    for k in range(N_FFT // HOP):
        block = frames[k::N_FFT // HOP].reshape(-1)
        out[k * HOP: k * HOP + block.size] += block[: out.size - k * HOP]
    return out[N_FFT - HOP: N_FFT - HOP + n]


def suppress(x: np.ndarray, floor_db: float = -20.0, alpha: float = 0.96) -> np.ndarray:
    """(samples,) float32 at 16 kHz -> the same length with stationary noise suppressed."""
    x = np.asarray(x, dtype=np.float32)
    if x.size < N_FFT:
        return x
    spec = _stft(x)
    power = spec.real ** 2 + spec.imag ** 2                               # (frames, 257)
    kernel = np.ones(5) / 5
    smooth = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, power)
    noise = 1.5 * np.percentile(smooth, 10.0, axis=0) + 1e-12             # (257,)
    post = power / noise
    gains = np.empty_like(power)
    prior = np.ones(power.shape[1])
    for t in range(len(power)):
        xi = alpha * prior + (1 - alpha) * np.maximum(post[t] - 1, 0)
        gains[t] = np.maximum(xi / (1 + xi), 10 ** (floor_db / 20))
        prior = gains[t] ** 2 * post[t]
    return _istft(spec * gains, x.size)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor-db", type=float, default=-20.0)
    parser.add_argument("--gate-only", action="store_true")
    parser.add_argument("evaluate", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    import lipsync_runtime.engine as engine
    from inference.training.evaluate import main as evaluate
    if args.gate_only:
        gate = engine.apply_gate
        engine.apply_gate = lambda curves, wave: gate(curves, suppress(wave, args.floor_db))
    else:
        predict = engine.RuntimeEngine.predict_wave
        engine.RuntimeEngine.predict_wave = (
            lambda self, wave, *a, **k: predict(self, suppress(wave, args.floor_db), *a, **k))
    rest = args.evaluate[1:] if args.evaluate[:1] == ["--"] else args.evaluate
    return evaluate(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Whisper's log-mel front end in numpy: the one implementation, for the ONNX Runtime engine and
the torch path alike.

Owns: ``log_mel``, ``mel_window`` (one encoder window's log-mel, padded) and the front end's
constants. May import: numpy, lipsync_core.
Ships in the extension.

Whisper's recipe: a 400-point periodic Hann STFT every 160 samples (25 ms windows, 10 ms hop; the
start reflected, as torch.stft centres), power spectrum, the 80 mel filters, log10, floor at
max - 8, then (x + 4) / 4. Applied once over the whole clip, the max taken over the whole clip so
every encoder window is scaled alike; the clip's end is padded with zeros as Whisper pads, and
windows that run past the end are padded with the floor value, which is what zero audio turns into.
The STFT runs in blocks of ``BLOCK_FRAMES`` so an hour of audio never holds its spectrogram twice.
The mel filters come with the model (``mel_filters.npy`` in a runtime model folder).
"""
from __future__ import annotations

import numpy as np

from lipsync_core.params import HOP_SAMPLES

N_FFT = 400  # samples, 25 ms at 16 kHz
MEL_HOP = 160  # samples, 10 ms: two mel frames per 50 Hz encoder frame
BLOCK_FRAMES = 6000  # mel frames per STFT block (60 s), bounds the STFT's memory
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def log_mel(wave: np.ndarray, total: int, mel_filters: np.ndarray) -> tuple[np.ndarray, float]:
    """Whisper's normalised log-mel for a clip: every 100 Hz frame that overlaps the clip.

    Parameters
    ----------
    wave : (samples,) float32 at 16 kHz.
    total : encoder frames wanted (ceil(samples / 320)).
    mel_filters : (N_FFT // 2 + 1, n_mels) = (201, 80), as ``WhisperFeatureExtractor.mel_filters``.

    Returns
    -------
    (mel, floor): mel is (n_mels, 2 * total + 2) float32; floor is the normalised value of silence
    for this clip (used to pad windows).
    """
    frames = 2 * total + 2  # two more than the encoder needs: frames that still overlap the clip's end
    half = N_FFT // 2
    buffer = np.zeros(half + max(wave.size, HOP_SAMPLES * total + 2 * N_FFT), dtype=np.float32)
    buffer[half: half + wave.size] = wave
    buffer[:half] = buffer[2 * half: half: -1]  # reflect: x[200], x[199], ..., x[1]
    filters = np.ascontiguousarray(np.asarray(mel_filters, dtype=np.float32).T)  # (n_mels, 201)
    mel = np.empty((filters.shape[0], frames), dtype=np.float32)
    for a in range(0, frames, BLOCK_FRAMES):
        b = min(frames, a + BLOCK_FRAMES)
        segment = buffer[a * MEL_HOP: (b - 1) * MEL_HOP + N_FFT]
        strided = np.lib.stride_tricks.sliding_window_view(segment, N_FFT)[::MEL_HOP]  # (b - a, 400)
        spectrum = np.fft.rfft(strided * _WINDOW, axis=1)                                # (b - a, 201)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
        mel[:, a:b] = np.log10(np.maximum(filters @ power.T, 1e-10))
    peak = float(mel.max())
    np.maximum(mel, peak - 8.0, out=mel)
    mel += 4.0
    mel /= 4.0
    floor = (max(peak - 8.0, -10.0) + 4.0) / 4.0
    return mel, floor


def mel_window(mel: np.ndarray, floor: float, start: int, frames: int) -> np.ndarray:
    """(n_mels, 2 * frames) float32: the log-mel of encoder frames [start, start + frames) of a
    clip (``mel`` and ``floor`` from :func:`log_mel`), padded past the clip's end with the floor,
    which is what Whisper's zero padding turns into."""
    window = np.full((mel.shape[0], 2 * frames), floor, dtype=np.float32)
    piece = mel[:, 2 * start: min(2 * (start + frames), mel.shape[1])]
    window[:, : piece.shape[1]] = piece
    return window

"""The Whisper encoder: log-mel front end and the per-window forward pass.

Owns: ``WhisperSpeechEncoder`` and ``log_mel`` (Whisper's own front end, computed in blocks).
May import: numpy, torch, transformers, ``inference.encoders.base``.

Windows. Whisper was trained on 30 s windows of log-mel (3000 frames at 100 Hz, 1500 encoder frames
at 50 Hz), shorter audio padded with silence. The default spec keeps that: 30 s windows, each audio
shorter than a window is padded exactly as Whisper pads it, and a 5 s margin each side is discarded
(20 s hop). A spec may ask for shorter windows (``window_s`` < 30): the model is then built with
its positional table cut to that length, which is faster but departs from Whisper's training; the
choice is recorded in the spec, so training and inference agree.

Log-mel. Whisper's recipe (400-point Hann STFT every 160 samples, the 80 mel filters, log10, floor
at max - 8, then (x + 4) / 4) is applied once over the whole clip, the max taken over the whole clip
so every window is scaled alike; the clip's end is padded with zeros as Whisper pads, and windows
that run past the end are padded with the floor value, which is what zero audio turns into.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inference.encoders.base import HOP_SAMPLES, SpeechEncoder
from inference.encoders.spec import EncoderSpec

N_FFT = 400  # samples, 25 ms
MEL_HOP = 160  # samples, 10 ms: two mel frames per 50 Hz encoder frame
BLOCK_FRAMES = 6000  # mel frames per STFT block (60 s), bounds the STFT's memory


def log_mel(wave: np.ndarray, total: int, mel_filters: np.ndarray) -> tuple[torch.Tensor, float]:
    """Whisper's normalised log-mel for a clip: every 100 Hz frame that overlaps the clip.

    Parameters
    ----------
    wave : (samples,) float32 at 16 kHz.
    total : encoder frames wanted (ceil(samples / 320)).
    mel_filters : (N_FFT // 2 + 1, n_mels) from ``WhisperFeatureExtractor.mel_filters``.

    Returns
    -------
    (mel, floor): mel is (n_mels, 2 * total + 2) float32 on the CPU; floor is the normalised value of
    silence for this clip (used to pad windows).
    """
    frames = 2 * total + 2  # two more than the encoder needs: frames that still overlap the clip's end
    # Zero-pad the end (Whisper pads with zeros to 30 s), reflect the start (torch.stft's centring).
    half = N_FFT // 2
    buffer = np.zeros(half + max(wave.size, HOP_SAMPLES * total + 2 * N_FFT), dtype=np.float32)
    buffer[half: half + wave.size] = wave
    buffer[:half] = buffer[2 * half: half: -1]  # x[200], x[199], ..., x[1]
    padded = torch.from_numpy(buffer)  # one copy of the clip, however long
    window = torch.hann_window(N_FFT)
    filters = torch.from_numpy(np.asarray(mel_filters, dtype=np.float32)).T.contiguous()  # (n_mels, bins)
    mel = torch.empty((filters.shape[0], frames), dtype=torch.float32)
    for a in range(0, frames, BLOCK_FRAMES):
        b = min(frames, a + BLOCK_FRAMES)
        segment = padded[a * MEL_HOP: (b - 1) * MEL_HOP + N_FFT]
        spec = torch.stft(segment, N_FFT, MEL_HOP, window=window, center=False, return_complex=True)
        power = (spec.abs() ** 2).contiguous()  # (bins, b - a)
        mel[:, a:b] = torch.clamp(filters @ power, min=1e-10).log10()
    peak = float(mel.max())
    mel = torch.maximum(mel, torch.tensor(peak - 8.0))
    mel = (mel + 4.0) / 4.0
    floor = (max(peak - 8.0, -10.0) + 4.0) / 4.0
    return mel, floor


class WhisperSpeechEncoder(SpeechEncoder):
    """``WhisperEncoder`` run on fixed-length windows (``spec.window_frames`` encoder frames)."""

    def __init__(self, spec: EncoderSpec, model: Any, mel_filters: np.ndarray,
                 device: torch.device, dtype: torch.dtype) -> None:
        config = model.config
        if config.max_source_positions != spec.window_frames:
            raise ValueError("the Whisper model must be built for the spec's window length")
        self.mel_filters = np.asarray(mel_filters, dtype=np.float32)
        super().__init__(spec, model, dim=config.d_model, num_hidden=config.encoder_layers + 1,
                         device=device, dtype=dtype)

    def _prepare(self, wave: np.ndarray, total: int) -> Any:
        return log_mel(wave, total, self.mel_filters)

    def _run_window(self, prepared: Any, start: int, stop: int) -> tuple[torch.Tensor, ...]:
        mel, floor = prepared
        width = 2 * self.spec.window_frames
        chunk = torch.full((mel.shape[0], width), floor, dtype=torch.float32)
        piece = mel[:, 2 * start: min(2 * start + width, mel.shape[1])]
        chunk[:, : piece.shape[1]] = piece
        features = chunk.to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, n_mels, 2W)
        want_all = self.spec.layer != -1
        output = self.model(input_features=features, output_hidden_states=want_all)
        if want_all:  # the last entry is the encoder's output, after any final layer norm
            return (*output.hidden_states[:-1], output.last_hidden_state)
        return (output.last_hidden_state,)

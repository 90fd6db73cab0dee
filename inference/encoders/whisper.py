"""The Whisper encoder: log-mel front end and the per-window forward pass.

Owns: ``WhisperSpeechEncoder``. The log-mel front end is the runtime's numpy one
(lipsync_runtime.logmel), shared with the ONNX Runtime engine.
May import: numpy, torch, transformers, ``inference.encoders.base``, lipsync_runtime.logmel.

Windows. Whisper was trained on 30 s windows of log-mel (3000 frames at 100 Hz, 1500 encoder frames
at 50 Hz), shorter audio padded with silence. The default spec keeps that: 30 s windows, each audio
shorter than a window is padded exactly as Whisper pads it, and a 5 s margin each side is discarded
(20 s hop). A spec may ask for shorter windows (``window_s`` < 30): the model is then built with
its positional table cut to that length, which is faster but departs from Whisper's training; the
choice is recorded in the spec, so training and inference agree.

Log-mel: see lipsync_runtime/logmel.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inference.encoders.base import SpeechEncoder
from inference.encoders.spec import EncoderSpec
from lipsync_runtime.logmel import log_mel


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
        mel, floor = log_mel(wave, total, self.mel_filters)
        return torch.from_numpy(mel), floor

    def _run_window(self, prepared: Any, start: int, stop: int,
                    window: int) -> tuple[torch.Tensor, ...]:
        mel, floor = prepared
        width = 2 * window                                   # log-mel frames at 100 Hz
        chunk = torch.full((mel.shape[0], width), floor, dtype=torch.float32)
        piece = mel[:, 2 * start: min(2 * start + width, mel.shape[1])]
        chunk[:, : piece.shape[1]] = piece
        features = chunk.to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, n_mels, 2W)
        if window != self.spec.window_frames:                # a window cut to the clip
            return window_states(self.model, features)
        want_all = self.spec.layer != -1
        output = self.model(input_features=features, output_hidden_states=want_all)
        if want_all:  # the last entry is the encoder's output, after any final layer norm
            return (*output.hidden_states[:-1], output.last_hidden_state)
        return (output.last_hidden_state,)


def window_states(encoder: Any, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Whisper's encoder on a window of any length up to its positional table's.

    encoder: a transformers ``WhisperEncoder``; mel: (1, n_mels, 2T) log-mel at 100 Hz. Returns
    the L + 1 hidden states, each (1, T, dim), the last after the final layer norm, exactly what
    the full-window call gives with ``output_hidden_states`` (transformers' own forward insists
    on its full window). ``inference.export`` traces this same function for the runtime.
    """
    gelu = torch.nn.functional.gelu
    x = gelu(encoder.conv1(mel))
    x = gelu(encoder.conv2(x)).permute(0, 2, 1)                         # (1, T, D)
    x = x + encoder.embed_positions.weight[: x.shape[1]]
    hidden = [x]
    for block in encoder.layers:
        out = block(x, None)
        x = out[0] if isinstance(out, tuple) else out
        hidden.append(x)
    return (*hidden[:-1], encoder.layer_norm(x))

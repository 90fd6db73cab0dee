"""wav2vec2, HuBERT and WavLM encoders (self-supervised speech models over raw 16 kHz samples).

Owns: ``SSLSpeechEncoder``: whole-clip waveform normalisation and the per-window forward pass.
May import: numpy, torch, transformers (through the model passed in), ``inference.encoders.base``.

Frame i of these models reads samples [320 i, 320 i + R) where R is the convolutional receptive
field (400 for the published models). The clip is padded at the end with zeros so that exactly
ceil(samples / 320) frames come out, and each window is fed the samples its frames need.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inference.encoders.base import HOP_SAMPLES, SpeechEncoder
from inference.encoders.spec import EncoderError, EncoderSpec


def conv_geometry(config: Any) -> tuple[int, int]:
    """(receptive field, total stride) in samples of the convolutional feature extractor."""
    receptive, stride = 1, 1
    for kernel, step in zip(config.conv_kernel, config.conv_stride):
        receptive += (int(kernel) - 1) * stride
        stride *= int(step)
    return receptive, stride


class SSLSpeechEncoder(SpeechEncoder):
    """A ``Wav2Vec2Model`` / ``HubertModel`` / ``WavLMModel`` run in overlapping windows.

    normalize : zero-mean unit-variance normalisation of the waveform, done once over the whole
        clip (so every window sees the same scaling); True for models whose feature extractor
        asks for it (``do_normalize``).
    """

    def __init__(self, spec: EncoderSpec, model: torch.nn.Module, normalize: bool,
                 device: torch.device, dtype: torch.dtype) -> None:
        config = model.config
        self.receptive, stride = conv_geometry(config)
        if stride != HOP_SAMPLES:
            raise EncoderError(f"This encoder's frames are {stride} samples apart, not {HOP_SAMPLES} "
                               "(50 Hz); it is not supported.")
        self.normalize = bool(normalize)
        super().__init__(spec, model, dim=config.hidden_size, num_hidden=config.num_hidden_layers + 1,
                         device=device, dtype=dtype)

    def _prepare(self, wave: np.ndarray, total: int) -> torch.Tensor:
        if self.normalize:
            mean = float(np.mean(wave, dtype=np.float64))
            var = float(np.var(wave, dtype=np.float64))
            wave = ((wave - mean) / np.sqrt(var + 1e-7)).astype(np.float32)
        needed = total * HOP_SAMPLES + self.receptive - HOP_SAMPLES  # samples for exactly `total` frames
        padded = np.zeros(max(needed, wave.size), dtype=np.float32)
        padded[: wave.size] = wave
        return torch.from_numpy(padded)  # (samples,) on the CPU

    def _run_window(self, prepared: torch.Tensor, start: int, stop: int) -> tuple[torch.Tensor, ...]:
        lo = start * HOP_SAMPLES
        hi = stop * HOP_SAMPLES + self.receptive - HOP_SAMPLES
        chunk = prepared[lo:hi].to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, samples)
        want_all = self.spec.layer != -1
        output = self.model(input_values=chunk, output_hidden_states=want_all)
        if want_all:
            return tuple(output.hidden_states)
        return (output.last_hidden_state,)

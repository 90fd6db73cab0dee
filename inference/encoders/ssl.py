"""wav2vec2, HuBERT and WavLM encoders (self-supervised speech models over raw 16 kHz samples).

Owns: ``SSLSpeechEncoder``: whole-clip waveform normalisation and the per-window forward pass.
May import: numpy, torch, transformers (through the model passed in), ``inference.encoders.base``.

Frame i of these models reads samples [320 i, 320 i + R) where R is the convolutional receptive
field (400 for the published models). The clip is padded at the end with zeros so that exactly
ceil(samples / 320) frames come out, and each window is fed the samples its frames need.

Base models (``feat_extract_norm == "group"``, e.g. wav2vec2-base, hubert-base) normalise their
first convolution's output per channel over the whole input. Run window by window that would be
per window, so the statistics are instead measured once over the whole clip (a cheap pass of the
first convolution, in blocks) and every window is normalised with them: windowed output then
matches a single pass over the clip.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from inference.encoders.base import HOP_SAMPLES, SpeechEncoder
from inference.encoders.spec import EncoderError, EncoderSpec


def conv_geometry(config: Any) -> tuple[int, int]:
    """(receptive field, total stride) in samples of the convolutional feature extractor."""
    receptive, stride = 1, 1
    for kernel, step in zip(config.conv_kernel, config.conv_stride):
        receptive += (int(kernel) - 1) * stride
        stride *= int(step)
    return receptive, stride


STATS_BLOCK_SAMPLES = 16000 * 10  # first-convolution statistics are gathered 10 s at a time


class ClipGroupNorm(nn.Module):
    """A per-channel GroupNorm whose mean and variance are set per clip rather than per input."""

    def __init__(self, norm: nn.GroupNorm) -> None:
        super().__init__()
        self.eps = float(norm.eps)
        self.weight, self.bias = norm.weight, norm.bias
        self.mean: torch.Tensor
        self.var: torch.Tensor
        channels = norm.num_channels
        self.register_buffer("mean", torch.zeros(channels), persistent=False)
        self.register_buffer("var", torch.ones(channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, channels, time)
        scale = (self.var + self.eps).rsqrt() * self.weight
        shift = self.bias - self.mean * scale
        return x * scale.to(x.dtype)[None, :, None] + shift.to(x.dtype)[None, :, None]


class SSLSpeechEncoder(SpeechEncoder):
    """A ``Wav2Vec2Model`` / ``HubertModel`` / ``WavLMModel`` run in overlapping windows.

    normalize : zero-mean unit-variance normalisation of the waveform, done once over the whole
        clip (so every window sees the same scaling); True for models whose feature extractor
        asks for it (``do_normalize``).
    """

    def __init__(self, spec: EncoderSpec, model: Any, normalize: bool,
                 device: torch.device, dtype: torch.dtype) -> None:
        config = model.config
        self.receptive, stride = conv_geometry(config)
        if stride != HOP_SAMPLES:
            raise EncoderError(f"This encoder's frames are {stride} samples apart, not {HOP_SAMPLES} "
                               "(50 Hz); it is not supported.")
        self.normalize = bool(normalize)
        super().__init__(spec, model, dim=config.hidden_size, num_hidden=config.num_hidden_layers + 1,
                         device=device, dtype=dtype)
        self.first_conv: nn.Conv1d | None = None
        self.clip_norm: ClipGroupNorm | None = None
        if getattr(config, "feat_extract_norm", "") == "group":
            layer = self.model.feature_extractor.conv_layers[0]
            norm = layer.layer_norm
            if isinstance(norm, nn.GroupNorm) and norm.num_groups == norm.num_channels:
                self.first_conv = layer.conv
                self.clip_norm = ClipGroupNorm(norm).to(device)
                layer.layer_norm = self.clip_norm

    def _clip_statistics(self, padded: torch.Tensor) -> None:
        """Per-channel mean and (biased) variance of the first convolution over the whole clip."""
        assert self.first_conv is not None and self.clip_norm is not None
        kernel, stride = self.first_conv.kernel_size[0], self.first_conv.stride[0]
        outputs = (padded.numel() - kernel) // stride + 1
        block = max(1, STATS_BLOCK_SAMPLES // stride)  # conv outputs per block
        total = torch.zeros(self.first_conv.out_channels, dtype=torch.float64, device=self.device)
        squares = torch.zeros_like(total)
        for a in range(0, outputs, block):
            b = min(outputs, a + block)
            piece = padded[a * stride: (b - 1) * stride + kernel].to(device=self.device, dtype=self.dtype)
            y = self.first_conv(piece[None, None, :])[0].double()  # (channels, b - a)
            total += y.sum(dim=1)
            squares += (y * y).sum(dim=1)
        mean = total / outputs
        self.clip_norm.mean = mean.float()
        self.clip_norm.var = (squares / outputs - mean * mean).clamp_min(0).float()

    def _prepare(self, wave: np.ndarray, total: int) -> torch.Tensor:
        needed = total * HOP_SAMPLES + self.receptive - HOP_SAMPLES  # samples for exactly `total` frames
        padded = np.zeros(max(needed, wave.size), dtype=np.float32)  # the only copy of the clip
        padded[: wave.size] = wave
        if self.normalize:  # zero mean, unit variance over the clip (padding stays at 0)
            mean = float(np.mean(wave, dtype=np.float64))
            std = float(np.sqrt(np.var(wave, dtype=np.float64) + 1e-7))
            body = padded[: wave.size]
            body -= np.float32(mean)
            body /= np.float32(std)
        prepared = torch.from_numpy(padded)  # (samples,) on the CPU
        if self.clip_norm is not None:
            self._clip_statistics(prepared)
        return prepared

    def _run_window(self, prepared: torch.Tensor, start: int, stop: int,
                    window: int) -> tuple[torch.Tensor, ...]:
        # ``window`` is not needed: an SSL window is just the audio of [start, stop) (no padding).
        lo = start * HOP_SAMPLES
        hi = stop * HOP_SAMPLES + self.receptive - HOP_SAMPLES
        chunk = prepared[lo:hi].to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, samples)
        want_all = self.spec.layer != -1
        output = self.model(input_values=chunk, output_hidden_states=want_all)
        if want_all:  # the last entry is the encoder's output, after any final layer norm
            return (*output.hidden_states[:-1], output.last_hidden_state)
        return (output.last_hidden_state,)

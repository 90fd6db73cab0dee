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

Short clips: ``padding = "cached"`` encodes a clip shorter than the window as its own frames
attending to the cached keys and values of a window of silence (lipsync_runtime.padding), as the
runtime does when its model says so; "full" (the default here) pads and encodes the whole window.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inference.encoders.base import SpeechEncoder
from inference.encoders.spec import EncoderSpec
from lipsync_runtime.logmel import log_mel, mel_window
from lipsync_runtime.padding import PaddingCache, cached_frames


class WhisperSpeechEncoder(SpeechEncoder):
    """``WhisperEncoder`` run on fixed-length windows (``spec.window_frames`` encoder frames)."""

    padding = "full"                       # or "cached": see the module docstring

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
        total = (mel.shape[1] - 2) // 2                      # the clip's frames (logmel's count)
        frames = cached_frames(total, window) if self.padding == "cached" else None
        if frames is not None and start == 0 and window == self.spec.window_frames:
            return self._run_cached(mel, floor, frames)
        chunk = torch.from_numpy(mel_window(mel.numpy(), floor, start, window))
        features = chunk.to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, n_mels, 2W)
        if window != self.spec.window_frames:                # a window cut to the clip
            return window_states(self.model, features)
        want_all = self.spec.layer != -1
        output = self.model(input_features=features, output_hidden_states=want_all)
        if want_all:  # the last entry is the encoder's output, after any final layer norm
            return (*output.hidden_states[:-1], output.last_hidden_state)
        return (output.last_hidden_state,)

    def _run_cached(self, mel: torch.Tensor, floor: float, frames: int) -> tuple[torch.Tensor, ...]:
        """The first ``frames`` positions of a padded window, the rest from the padding cache."""
        if getattr(self, "_padding_cache", None) is None:
            self._padding_cache = PaddingCache(self._silence_pass)
        keys, values = self._padding_cache.padding(floor, frames)
        chunk = torch.from_numpy(mel_window(mel.numpy(), floor, 0, frames))
        as_model = {"device": self.device, "dtype": self.dtype}
        states, _, _ = window_states_kv(self.model, chunk.to(**as_model).unsqueeze(0),
                                        torch.from_numpy(keys).to(self.device),
                                        torch.from_numpy(values).to(self.device))
        return states

    def _silence_pass(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values (window, L, D) float16 of a whole window of log-mel at ``level``."""
        n_mels = self.mel_filters.shape[1]
        silence = torch.full((1, n_mels, 2 * self.spec.window_frames), level,
                             device=self.device, dtype=self.dtype)
        _, keys, values = window_states_kv(self.model, silence)
        return keys.cpu().numpy(), values.cpu().numpy()


def window_states(encoder: Any, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Whisper's encoder on a window of any length up to its positional table's.

    encoder: a transformers ``WhisperEncoder``; mel: (1, n_mels, 2T) log-mel at 100 Hz. Returns
    the L + 1 hidden states, each (1, T, dim), the last after the final layer norm, exactly what
    the full-window call gives with ``output_hidden_states`` (transformers' own forward insists
    on its full window). ``inference.export`` traces :func:`window_states_kv`, which this calls.
    """
    return window_states_kv(encoder, mel)[0]


def window_states_kv(encoder: Any, mel: torch.Tensor, pad_keys: torch.Tensor | None = None,
                     pad_values: torch.Tensor | None = None, kv_from: Any = 0
                     ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
    """:func:`window_states` for the first T positions of a window whose later positions are
    given only as their attention keys and values (lipsync_runtime.padding).

    pad_keys, pad_values: (M, L, dim) float16, the keys and values of positions [T, T + M) in each
    of the L layers (position first, so a cache of a whole window slices without copying; float16,
    the cache's type, cast inside the graph, which ONNX Runtime does 10x faster than numpy); None
    or M = 0 is a window of T positions alone. Returns (the L + 1 hidden states, each (1, T, dim);
    keys and values, each (T - kv_from, L, dim) float16): the window's own keys and values from
    position ``kv_from`` (an int, or a 0-d int64 tensor when traced for export), so a pass over a
    window of silence (kv_from 0) fills the padding cache, and any other window (kv_from T)
    returns none: in ONNX Runtime that keeps 47 MB off a full window's peak. Each layer is transformers'
    ``WhisperEncoderLayer`` written out (pre-norm attention, then the GELU MLP), because its
    attention cannot take keys from outside the window.
    """
    gelu = torch.nn.functional.gelu
    x = gelu(encoder.conv1(mel))
    x = gelu(encoder.conv2(x)).permute(0, 2, 1)                         # (1, T, D)
    x = x + encoder.embed_positions.weight[: x.shape[1]]
    hidden, keys, values = [x], [], []
    for index, block in enumerate(encoder.layers):
        attn = block.self_attn
        h = block.self_attn_layer_norm(x)
        q, k, v = attn.q_proj(h) * attn.scaling, attn.k_proj(h), attn.v_proj(h)   # (1, T, D)
        keys.append(k[0])
        values.append(v[0])
        if pad_keys is not None and pad_values is not None:
            k = torch.cat([k, pad_keys[None, :, index].to(k.dtype)], dim=1)     # (1, T + M, D)
            v = torch.cat([v, pad_values[None, :, index].to(v.dtype)], dim=1)
        heads, width = attn.num_heads, attn.head_dim
        q = q.reshape(1, -1, heads, width).transpose(1, 2)                      # (1, H, T, d)
        k = k.reshape(1, -1, heads, width).transpose(1, 2)                      # (1, H, T + M, d)
        v = v.reshape(1, -1, heads, width).transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)                # (1, H, T, T + M)
        mixed = (weights @ v).transpose(1, 2).reshape(1, -1, heads * width)     # (1, T, D)
        x = x + attn.out_proj(mixed)
        x = x + block.fc2(gelu(block.fc1(block.final_layer_norm(x))))
        hidden.append(x)
    states = (*hidden[:-1], encoder.layer_norm(x))
    kept = torch.arange(kv_from, x.shape[1], device=x.device)          # positions returned
    return (states, torch.stack(keys, dim=1).index_select(0, kept).half(),
            torch.stack(values, dim=1).index_select(0, kept).half())

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
from inference.fused_attention import attention
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
        self.layers_run = layers_run(spec.layer, config.encoder_layers)

    def _select(self, hidden: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if self.spec.layer == "all":
            return super()._select(hidden)
        return hidden[-1][0]       # the windows' states stop at the spec's layer (layers_run)

    def _prepare(self, wave: np.ndarray, total: int) -> Any:
        mel, floor = log_mel(wave, total, self.mel_filters)
        return torch.from_numpy(mel), floor

    def _run_window(self, prepared: Any, start: int, stop: int,
                    window: int) -> tuple[torch.Tensor, ...]:
        mel, floor = prepared
        total = (mel.shape[1] - 2) // 2                      # the clip's frames (logmel's count)
        # A window that runs past the clip's end (a short clip, or a long clip's padded tail,
        # lipsync_runtime.windows) computes its audio's frames and attends to cached padding.
        frames = cached_frames(total - start, window) if self.padding == "cached" else None
        if frames is not None and window == self.spec.window_frames:
            return self._run_cached(mel, floor, frames, start)
        chunk = torch.from_numpy(mel_window(mel.numpy(), floor, start, window))
        features = chunk.to(device=self.device, dtype=self.dtype).unsqueeze(0)  # (1, n_mels, 2W)
        if window != self.spec.window_frames or self.layers_run < len(self.model.layers):
            return window_states(self.model, features, self.layers_run)   # cut window or layers
        want_all = self.spec.layer != -1
        output = self.model(input_features=features, output_hidden_states=want_all)
        if want_all:  # the last entry is the encoder's output, after any final layer norm
            return (*output.hidden_states[:-1], output.last_hidden_state)
        return (output.last_hidden_state,)

    def _run_cached(self, mel: torch.Tensor, floor: float, frames: int,
                    start: int = 0) -> tuple[torch.Tensor, ...]:
        """The first ``frames`` positions of a padded window starting at clip frame ``start``,
        the rest from the padding cache."""
        if getattr(self, "_padding_cache", None) is None:
            self._padding_cache = PaddingCache(self._silence_pass)
        keys, values = self._padding_cache.padding(floor, frames)
        chunk = torch.from_numpy(mel_window(mel.numpy(), floor, start, frames))
        as_model = {"device": self.device, "dtype": self.dtype}
        states, _, _ = window_states_kv(self.model, chunk.to(**as_model).unsqueeze(0),
                                        torch.from_numpy(keys).to(self.device),
                                        torch.from_numpy(values).to(self.device),
                                        layers=self.layers_run)
        return states

    def _silence_pass(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values (window, L, D) float16 of a whole window of log-mel at ``level``."""
        n_mels = self.mel_filters.shape[1]
        silence = torch.full((1, n_mels, 2 * self.spec.window_frames), level,
                             device=self.device, dtype=self.dtype)
        _, keys, values = window_states_kv(self.model, silence, layers=self.layers_run)
        return keys.cpu().numpy(), values.cpu().numpy()


def layers_run(layer: int | str, total: int) -> int:
    """How many of the encoder's ``total`` transformer layers a spec's ``layer`` needs run: all of
    them for the last hidden state (-1 or ``total``) and for "all"; k for hidden state k < total,
    since nothing after layer k changes it (a head on layer 4 of Whisper base skips two of six)."""
    if layer == "all":
        return total
    return int(layer) % (total + 1)


HEAD_GROUPS = 4      # in eager torch, attention heads computed a group at a time: a 30 s window's
                     # weights (8 heads x 1500 x 1500 float32, 72 MB per layer) never all exist
                     # at once; the export is one fused node that never writes them at all


def window_states(encoder: Any, mel: torch.Tensor, layers: int | None = None
                  ) -> tuple[torch.Tensor, ...]:
    """Whisper's encoder on a window of any length up to its positional table's.

    encoder: a transformers ``WhisperEncoder``; mel: (1, n_mels, 2T) log-mel at 100 Hz. Returns
    the L + 1 hidden states, each (1, T, dim), the last after the final layer norm, exactly what
    the full-window call gives with ``output_hidden_states`` (transformers' own forward insists
    on its full window). ``inference.export`` traces :func:`window_states_kv`, which this calls.
    ``layers``: see :func:`window_states_kv`.
    """
    return window_states_kv(encoder, mel, layers=layers)[0]


def window_states_kv(encoder: Any, mel: torch.Tensor, pad_keys: torch.Tensor | None = None,
                     pad_values: torch.Tensor | None = None, kv_from: Any = 0,
                     layers: int | None = None
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

    ``layers``: run only the first ``layers`` transformer layers (None: all L). Then the states are
    the first ``layers`` + 1 hidden states, none of them normalised (the final layer norm belongs
    to the last layer's output only), and keys and values are (.., layers, dim).
    """
    run = len(encoder.layers) if layers is None else int(layers)
    gelu = torch.nn.functional.gelu
    x = gelu(encoder.conv1(mel))
    x = gelu(encoder.conv2(x)).permute(0, 2, 1)                         # (1, T, D)
    x = x + encoder.embed_positions.weight[: x.shape[1]]
    hidden, keys, values = [x], [], []
    for index, block in enumerate(encoder.layers[:run]):
        attn = block.self_attn
        h = block.self_attn_layer_norm(x)
        q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)                 # (1, T, D)
        keys.append(k[0])
        values.append(v[0])
        if pad_keys is not None and pad_values is not None:
            k = torch.cat([k, pad_keys[None, :, index].to(k.dtype)], dim=1)     # (1, T + M, D)
            v = torch.cat([v, pad_values[None, :, index].to(v.dtype)], dim=1)
        mixed = attention(q, k, v, attn.num_heads, scale=attn.scaling,
                          groups=HEAD_GROUPS)                                   # (1, T, D)
        x = x + attn.out_proj(mixed)
        x = x + block.fc2(gelu(block.fc1(block.final_layer_norm(x))))
        hidden.append(x)
    states = (*hidden[:-1], encoder.layer_norm(x)) if run == len(encoder.layers) else tuple(hidden)
    kept = torch.arange(kv_from, x.shape[1], device=x.device)          # positions returned
    if not keys:                          # layer 0 (the input to the first layer): no keys
        none = torch.zeros((len(kept), 0, x.shape[2]), dtype=torch.float16, device=x.device)
        return states, none, none
    return (states, torch.stack(keys, dim=1).index_select(0, kept).half(),
            torch.stack(values, dim=1).index_select(0, kept).half())

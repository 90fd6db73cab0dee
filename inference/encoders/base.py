"""The ``SpeechEncoder`` interface and the overlapping-window loop every encoder shares.

Owns: the window plan (which 50 Hz frames each window computes and which it keeps) and
``SpeechEncoder.encode``, which runs windows one at a time so memory stays bounded: only the
``(frames, dim)`` output grows with the audio. May import: numpy, torch, ``inference.encoders.spec``.

Windows, in 50 Hz frames (W = window, M = margin, H = W - 2M = hop)::

    window k < K-1 computes frames [k*H, k*H + W) and keeps [k*H + M, k*H + W - M)
    (the first keeps from frame 0); the last window is aligned to the end of the audio
    (it computes [total - W, total)) and keeps from where the previous one stopped.

Kept ranges tile the output exactly, so each frame comes from the one window where it has at least
M frames of context on both sides (or the audio's own edge), and there are no seams. Audio no
longer than one window is one window (padded by the encoder as its model expects).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np
import torch

from inference.encoders.spec import FRAME_RATE_HZ, EncoderError, EncoderSpec, EncodingCancelled
from lipsync_core.params import HOP_SAMPLES, SAMPLE_RATE  # noqa: F401 (re-exported)
from lipsync_runtime.audio import check_wave
from lipsync_runtime.windows import (Window, encoder_plan, frames_for,  # noqa: F401
                                     plan_windows)

log = logging.getLogger(__name__)


Progress = Callable[[float], None]  # receives the fraction done, 0.0 .. 1.0
Cancel = Callable[[], bool]  # returns True to stop (a threading.Event's is_set works)


class SpeechEncoder:
    """A frozen speech encoder: 16 kHz mono audio -> feature vectors at exactly 50 Hz.

    Attributes
    ----------
    spec : the EncoderSpec it was loaded from (window settings resolved).
    dim : feature size per frame (512 for Whisper base, 768 for wav2vec2-base).
    num_layers_out : 1, or L + 1 hidden states when ``spec.layer == "all"``.
    frame_rate : 50.0 Hz.
    device, dtype : where and in what precision the model runs (and the output is returned).
    """

    frame_rate: float = FRAME_RATE_HZ
    padding: str = "full"      # "cached": attends to a pass over silence (Whisper only)

    def __init__(self, spec: EncoderSpec, model: torch.nn.Module, dim: int, num_hidden: int,
                 device: torch.device, dtype: torch.dtype) -> None:
        self.spec = spec
        self.model: Any = model.to(device=device, dtype=dtype).eval().requires_grad_(False)
        self.dim = int(dim)
        self.num_hidden = int(num_hidden)  # hidden states the model exposes: transformer layers + 1
        self.num_layers_out = self.num_hidden if spec.layer == "all" else 1
        self.device = device
        self.dtype = dtype
        if spec.layer != "all" and not -self.num_hidden <= int(spec.layer) < self.num_hidden:
            raise EncoderError(f"Layer {spec.layer} does not exist: this encoder has hidden states "
                               f"0..{self.num_hidden - 1} (or -1 for the last).")

    # -- subclass hooks -------------------------------------------------------------------------
    def _prepare(self, wave: np.ndarray, total: int) -> Any:
        """Whole-clip preprocessing done once (normalisation, log-mel); cheap in memory."""
        raise NotImplementedError

    def _run_window(self, prepared: Any, start: int, stop: int,
                    window: int) -> tuple[torch.Tensor, ...]:
        """Hidden states for frames [start, stop) of a ``window``-frame window (the spec's, or a
        shorter one cut to the clip): a tuple of (1, stop - start or fewer, dim)."""
        raise NotImplementedError

    # -- shared loop ----------------------------------------------------------------------------
    def _select(self, hidden: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if self.spec.layer == "all":
            return torch.stack([h[0] for h in hidden], dim=0)  # (L, frames, dim)
        return hidden[int(self.spec.layer)][0]  # (frames, dim)

    def encode_many(self, waves: Sequence[np.ndarray], stream_s: float = 60.0, gap_s: float = 0.2,
                    progress: Progress | None = None, cancel: Cancel | None = None) -> list[torch.Tensor]:
        """Short clips encoded as long streams, as at inference; see ``encode_many`` below."""
        return encode_many(self, waves, stream_s, gap_s, progress, cancel)

    def encode(self, wave: np.ndarray, progress: Progress | None = None,
               cancel: Cancel | None = None) -> torch.Tensor:
        """Encode a whole clip.

        Parameters
        ----------
        wave : (samples,) float mono at 16 kHz (``inference.audio.load_audio`` gives this).
        progress : called with the fraction done after each window.
        cancel : polled before each window; when it returns True, EncodingCancelled is raised.

        Returns
        -------
        torch.Tensor, (frames, dim), or (L, frames, dim) for layer "all", frames = ceil(samples / 320),
        on ``self.device`` in ``self.dtype``.
        """
        wave = check_wave(wave)
        total = frames_for(wave.size)
        window, plan = encoder_plan(total, self.spec.window_frames, self.spec.margin_frames,
                                    self.spec.min_window_frames,    # as the runtime engine plans
                                    padded_tail=self.padding == "cached")
        shape = (total, self.dim) if self.spec.layer != "all" else (self.num_hidden, total, self.dim)
        out = torch.empty(shape, dtype=self.dtype, device=self.device)
        with torch.inference_mode():
            prepared = self._prepare(wave.astype(np.float32, copy=False), total)
            for index, win in enumerate(plan):
                if cancel is not None and cancel():
                    raise EncodingCancelled("Encoding was cancelled.")
                feats = self._select(self._run_window(prepared, win.start, min(win.stop, total),
                                                      window))
                feats = _fit_frames(feats, min(win.stop, total) - win.start)
                lo, hi = win.keep_start - win.start, win.keep_stop - win.start
                out[..., win.keep_start:win.keep_stop, :] = feats[..., lo:hi, :]
                del feats
                if progress is not None:
                    progress((index + 1) / len(plan))
        log.debug("encoded %d samples into %d frames in %d window(s)", wave.size, total, len(plan))
        return out


def encode_many(encoder: SpeechEncoder, waves: Sequence[np.ndarray], stream_s: float = 60.0,
                gap_s: float = 0.2, progress: Progress | None = None,
                cancel: Cancel | None = None) -> list[torch.Tensor]:
    """Encode many short clips as long streams, the way long audio is encoded at inference.

    Why: Whisper's features depend strongly on where a frame sits inside its 30 s window (the
    same 5 s of audio encoded alone and after 20 s of other audio gave a mean per-frame cosine of
    about 0.45 with whisper-base). Encoded one by one, short training clips only ever occupy the
    start of a window, while long audio at inference fills every position; streams of about
    ``stream_s`` seconds give training features from every position, with real speech as context.

    Clips are joined in the given order, each followed by ``gap_s`` of silence and padded to a
    whole 20 ms frame so it starts on a frame boundary; a stream closes once it passes
    ``stream_s``. Returns one tensor per clip, shaped like ``encoder.encode(clip)``'s:
    (ceil(samples / 320), dim) or (L, frames, dim).
    """
    gap = int(round(gap_s * SAMPLE_RATE))
    groups: list[list[int]] = [[]]
    length = 0
    for index, wave in enumerate(waves):
        if groups[-1] and length >= stream_s * SAMPLE_RATE:
            groups.append([])
            length = 0
        groups[-1].append(index)
        length += frames_for(len(wave) + gap) * HOP_SAMPLES
    results: list[torch.Tensor | None] = [None] * len(waves)
    for number, group in enumerate(groups):
        if not group:
            continue
        parts, starts, position = [], [], 0
        for index in group:
            wave = np.asarray(waves[index], dtype=np.float32)
            slot = frames_for(wave.size + gap) * HOP_SAMPLES
            padded = np.zeros(slot, dtype=np.float32)
            padded[: wave.size] = wave
            parts.append(padded)
            starts.append(position // HOP_SAMPLES)
            position += slot
        scale = 1.0 / len(groups)
        report = None if progress is None else (lambda f, n=number: progress((n + f) * scale))
        feats = encoder.encode(np.concatenate(parts), progress=report, cancel=cancel)
        for index, start in zip(group, starts):
            count = frames_for(len(waves[index]))
            results[index] = feats[..., start: start + count, :].clone()
    return [r for r in results if r is not None]


def _fit_frames(feats: torch.Tensor, frames: int) -> torch.Tensor:
    """Trim, or pad by repeating the last frame, along the frame axis (-2) to ``frames``."""
    have = feats.shape[-2]
    if have >= frames:
        return feats[..., :frames, :]
    if have == 0:
        raise EncoderError("The encoder returned no frames for this window.")
    pad = feats[..., -1:, :].expand(*feats.shape[:-2], frames - have, feats.shape[-1])
    return torch.cat([feats, pad], dim=-2)

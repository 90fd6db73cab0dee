"""Speech file -> Curves: the engine behind ``predict``, the worker and the benchmark.

Owns :class:`LipSyncEngine`, which loads a checkpoint and its speech encoder once and then turns
audio files into ``lipsync_core.curves.Curves``: audio (16 kHz mono) -> encoder features at
50 Hz -> head in batched overlapping windows -> silence gate -> optional scene frame rate.

The silence gate, windowing and frame-rate resampling are the runtime's (lipsync_runtime.gate,
lipsync_runtime.windows, lipsync_core.timing): the torch path and the shipped ONNX Runtime engine
share one copy of each. This engine is the ``--backend torch`` path, for checkpoints not exported.

Imports: numpy, torch, inference.{audio, encoders, heads, checkpoint}, lipsync_core, lipsync_runtime.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lipsync_core.curves import Curves
from lipsync_runtime.predict import Timings, predict_file  # noqa: F401 (Timings re-exported)
from lipsync_runtime.gate import REST, apply_gate, silence_gate  # noqa: F401 (re-exported)

from .checkpoint import (LoadedCheckpoint, ModelError, check_head_fits, load_checkpoint,
                         model_summary)
from .encoders import EncodingCancelled
from .heads import Cancelled, quantize_for_cpu, run_head_chunked

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "model"
ProgressFn = Callable[[str, float], None]      # (stage, fraction in [0, 1])
CancelFn = Callable[[], bool]                  # True = stop as soon as possible

__all__ = ["LipSyncEngine", "ModelError", "Cancelled", "Timings", "DEFAULT_MODEL_DIR",
           "silence_gate"]


def resolve_model_dir(model_dir: str | os.PathLike | None, flag: str = "--model") -> Path:
    """The checkpoint folder to use: ``model_dir``, else the project's default (assets/model).
    ``flag`` is the option that names a checkpoint in the command asking (export: --checkpoint)."""
    if model_dir is not None:
        return Path(model_dir)
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise ModelError(f"There is no default lip-sync model in {str(DEFAULT_MODEL_DIR)!r}; "
                         f"pass {flag} with a checkpoint folder, or train one with "
                         "'python -m inference train' (see the README).")
    return DEFAULT_MODEL_DIR


class LipSyncEngine:
    """A checkpoint and its speech encoder, loaded once, kept warm between predictions."""

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "auto",
                 chunk_frames: int = 1500, context_frames: int = 100, batch_size: int = 8,
                 int8: bool | None = None, threads: int | None = None,
                 head_workers: int | None = None,
                 checkpoint: LoadedCheckpoint | None = None, padding: str = "full") -> None:
        """``chunk_frames``/``context_frames``: the head's window core and context at 50 Hz
        (30 s and 2 s: the head is compute-bound on the CPU, so overlap is kept small);
        ``batch_size``: windows per head batch; ``int8``: dynamic int8 quantisation of the head
        (None = on the CPU only; about 2x faster there); ``threads``: torch CPU threads (None =
        torch's default); ``head_workers``: threads that run head windows side by side on the
        CPU (None = one per torch thread); ``checkpoint``: an already loaded checkpoint (the benchmark's random
        seed head) instead of ``model_dir``; ``padding``: "full" encodes a short clip's padded
        Whisper window whole, "cached" attends to a cached pass over silence instead, as the
        runtime's exported models do (lipsync_runtime.padding)."""
        from .encoders import load_encoder, pick_device

        if threads:
            torch.set_num_threads(int(threads))
        self.torch_device, self.dtype, self.device_description = pick_device(device)
        if checkpoint is None:
            path = resolve_model_dir(model_dir)
            checkpoint = load_checkpoint(path, self.torch_device, self.dtype)
        self.checkpoint = checkpoint
        self.head = checkpoint.head.to(self.torch_device).eval()
        self.int8 = self.torch_device.type == "cpu" and (int8 is None or bool(int8))
        if self.int8:
            self.head = quantize_for_cpu(self.head)
        self.encoder = load_encoder(checkpoint.encoder_spec, self.torch_device, self.dtype)
        if padding not in ("full", "cached"):
            raise ModelError(f"Unknown padding {padding!r}; choose full or cached.")
        if hasattr(self.encoder, "padding"):             # Whisper's; other encoders never pad
            self.encoder.padding = padding
        cfg = checkpoint.head_cfg
        check_head_fits(cfg, self.encoder)
        self.chunk_frames, self.context_frames, self.batch_size = \
            chunk_frames, context_frames, batch_size
        self.head_workers = 1 if self.torch_device.type != "cpu" else \
            max(1, int(head_workers or torch.get_num_threads()))
        self.model_info = {**model_summary(checkpoint.config, checkpoint.path),
                           "device": self.device_description, "head_int8": self.int8}
        self.last_timings = Timings()
        log.info("model %s on %s", checkpoint.path, self.device_description)

    def predict(self, audio_path: str | os.PathLike, start: float | None = None,
                end: float | None = None, fps: float | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> Curves:
        """Curves for ``audio_path``: the runtime's predict_file (one copy for both engines)."""
        return predict_file(self, audio_path, start, end, fps, progress, cancel)

    def predict_wave(self, wave: np.ndarray, progress: ProgressFn | None = None,
                     cancel: CancelFn | None = None) -> np.ndarray:
        """(samples,) float32 mono audio at 16 kHz -> (frames, 26) float32 curves at 50 Hz."""
        report = progress or (lambda stage, fraction: None)
        check = cancel or (lambda: False)
        timings = Timings()
        t0 = time.perf_counter()
        report("encoder", 0.0)
        try:
            feats = self.encoder.encode(wave, progress=lambda f: report("encoder", f),
                                        cancel=check)
        except EncodingCancelled:
            raise Cancelled() from None
        if check():
            raise Cancelled()
        report("encoder", 1.0)
        t1 = time.perf_counter()
        T = int(feats.shape[-2])
        report("head", 0.0)
        # with several workers, long clips are cut so that every worker gets a window
        core = min(self.chunk_frames,
                   max(-(-T // self.head_workers), 4 * self.context_frames))
        curves = run_head_chunked(self.head, feats, core=core, context=self.context_frames,
                                  batch_size=self.batch_size, workers=self.head_workers,
                                  progress=lambda f: report("head", f), cancel=check).numpy()
        t2 = time.perf_counter()
        curves = apply_gate(curves, wave)
        timings.encoder, timings.head, timings.frames = t1 - t0, t2 - t1, T
        self.last_timings = timings
        log.debug("%d frames: encoder %.3f s, head %.3f s", T, t1 - t0, t2 - t1)
        return curves.astype(np.float32)


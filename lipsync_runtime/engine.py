"""Speech file -> Curves on ONNX Runtime and numpy: the engine that ships in the extension.

Owns :class:`RuntimeEngine` and :func:`load_engine`. A runtime model folder (lipsync_runtime.model)
is loaded once; each prediction goes audio (16 kHz mono) -> front end (Whisper's log-mel, or the
normalised waveform for wav2vec2-style encoders) -> ``encoder.onnx`` in windows -> features at
50 Hz -> ``head.onnx`` in batched overlapping windows -> silence gate -> optional scene frame rate.
Windowing, the gate and resampling are the same code the torch path runs.

Short clips: Whisper always sees 30 s windows in training, and pads a shorter clip with silence.
The model folder's ``encoder.min_window_frames`` (or the ``min_window_s`` argument) cuts the
window of a clip shorter than 30 s to max(clip, minimum), so a 2 s line costs a 2 s window; None
keeps the full 30 s window for every clip. A model trained on full windows instead says
``encoder.padding = "cached"``: a short clip still sees the whole padded window, but the padding's
attention keys and values come from one pass over silence, kept between clips
(lipsync_runtime.padding), so a 2 s line computes about 2 s of frames.

May import: numpy, onnxruntime, lipsync_core, lipsync_runtime. Never torch or transformers.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

import numpy as np

from lipsync_core.curves import Curves
from lipsync_core.params import FRAME_RATE_HZ, HOP_SAMPLES, NUM_PARAMS

from .audio import check_wave
from .errors import Cancelled, EncoderError, ModelError
from .gate import apply_gate
from .logmel import log_mel, mel_window
from .model import RuntimeModel, load_model
from .padding import PaddingCache, cached_frames
from .predict import CancelFn, ProgressFn, Timings, predict_file
from .providers import describe, make_session
from .windows import chunk_windows, encoder_plan, frames_for

log = logging.getLogger(__name__)

HEAD_BATCH = 4        # head windows per session.run: 60 s peaks at 484 MB (8: 627 MB), as fast
STATS_BLOCK_SAMPLES = 16000 * 10               # first-convolution statistics, 10 s at a time


class RuntimeEngine:
    """A runtime model loaded once into ONNX Runtime sessions, kept warm between predictions."""

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "auto",
                 threads: int | None = None, min_window_s: float | None | str = "model",
                 verify: bool = True, padding: str = "model") -> None:
        """``device``: auto | cpu | cuda | directml | coreml (lipsync_runtime.providers);
        ``threads``: ONNX Runtime intra-op threads (None = one per core); ``min_window_s``:
        "model" = the model folder's setting, None = full windows for every clip, a number = cut
        shorter clips' windows to at least that many seconds; ``verify``: check the files'
        checksums; ``padding``: "model" = the folder's ``encoder.padding``, "cached" = short
        clips attend to cached padding (lipsync_runtime.padding), "full" = encode every padded
        window whole."""
        self.model: RuntimeModel = load_model(model_dir, verify=verify)
        enc, head = self.model.encoder, self.model.head
        if enc.get("dim") != head.get("in_dim") or \
                enc.get("num_layers_out") != head.get("num_encoder_layers"):
            raise ModelError("The model's head does not take what its encoder gives; re-export it.")
        self.encoder, provider = make_session(str(self.model.file(enc["file"])), device, threads)
        self.head, _ = make_session(str(self.model.file(head["file"])), device, threads)
        self.frontend = enc.get("frontend")
        if self.frontend == "whisper_log_mel":
            self.mel_filters = np.load(self.model.file(enc["mel_filters"]), allow_pickle=False)
        elif self.frontend != "waveform":
            raise ModelError(f"The model's encoder front end {self.frontend!r} is unknown; "
                             "update the extension or re-export the model.")
        self.stats = make_session(str(self.model.file(enc["stats"])), "cpu", threads)[0] \
            if enc.get("stats") else None
        if min_window_s == "model":
            self.min_window_frames = enc.get("min_window_frames")
        else:
            self.min_window_frames = None if min_window_s is None else \
                int(round(float(min_window_s) * FRAME_RATE_HZ))
        self.full_window = int(enc["window_frames"])
        self.margin = int(enc["margin_frames"])
        self.padding_cache = self._padding_cache(enc, padding)
        self.provider = provider
        self.device_description = describe(provider)
        self.model_info = {**self.model.summary(), "device": self.device_description,
                           "provider": provider, "backend": "onnxruntime"}
        self.last_timings = Timings()
        log.info("model %s on %s", self.model.path, self.device_description)

    def _padding_cache(self, enc: dict, padding: str) -> PaddingCache | None:
        """The padding cache when short clips should use one (see :meth:`__init__`), else None."""
        inputs = {i.name: i for i in self.encoder.get_inputs()}
        self._no_padding: np.ndarray | None = None
        if "pad_keys" in inputs:                 # an encoder that can attend to cached padding
            _, layers, dim = inputs["pad_keys"].shape                     # (M, L, D)
            self._no_padding = np.zeros((0, int(layers), int(dim)), dtype=np.float16)
        mode = (enc.get("padding") or "full") if padding == "model" else padding
        if mode not in ("cached", "full"):
            raise ModelError(f"Unknown padding {mode!r}; choose cached or full.")
        if mode == "full" or self.min_window_frames is not None:
            return None
        if self._no_padding is None:
            raise ModelError("This model's encoder cannot use cached padding; re-export it with "
                             "python -m inference export, or run it with padding 'full'.")
        return PaddingCache(self._silence_pass)

    def _silence_pass(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values (window, L, D) float16 of a whole window of log-mel at ``level``."""
        silence = np.full((1, self.mel_filters.shape[1], 2 * self.full_window), level, np.float32)
        keys, values = self.encoder.run(["keys", "values"], {
            "mel": silence, "pad_keys": self._no_padding, "pad_values": self._no_padding,
            "kv_from": np.zeros(1, np.int64)})
        return keys, values

    # -- the whole job -------------------------------------------------------------------------
    def predict(self, audio_path: str | os.PathLike, start: float | None = None,
                end: float | None = None, fps: float | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> Curves:
        """Curves for ``audio_path``; see :func:`predict_file`."""
        return predict_file(self, audio_path, start, end, fps, progress, cancel)

    def predict_wave(self, wave: np.ndarray, progress: ProgressFn | None = None,
                     cancel: CancelFn | None = None) -> np.ndarray:
        """(samples,) float32 mono audio at 16 kHz -> (frames, 26) float32 curves at 50 Hz."""
        report = progress or (lambda stage, fraction: None)
        check = cancel or (lambda: False)
        t0 = time.perf_counter()
        feats = self.encode(wave, progress=lambda f: report("encoder", f), cancel=check)
        t1 = time.perf_counter()
        curves = self.run_head(feats, progress=lambda f: report("head", f), cancel=check)
        t2 = time.perf_counter()
        curves = apply_gate(curves, wave)
        self.last_timings = Timings(encoder=t1 - t0, head=t2 - t1, frames=len(curves))
        return curves

    def predict_many(self, waves: list[np.ndarray], gap_s: float = 0.2,
                     cancel: CancelFn | None = None) -> list[np.ndarray]:
        """Many short clips ((samples,) at 16 kHz each) -> one (frames, 26) array per clip.

        Clips are packed, in order and ``gap_s`` of silence apart, into streams of at most one
        full encoder window (30 s), each encoded in one pass; the head and the silence gate then
        run on each clip's own frames. This is how the head's training features were made (short
        clips encoded in streams, inference.encoders.base.encode_many), so a 2 s line costs about
        2/30 of a window instead of a whole one, with the features the head learned from. A clip
        longer than a window is encoded alone, as :meth:`predict_wave` does.

        A model whose head was trained on windows cut to each clip (``min_window_frames`` set)
        gets exactly that: every clip is encoded alone in its own short window, which costs about
        its length already and keeps a clip's curves independent of its neighbours.
        """
        if self.min_window_frames is not None:
            return [self.predict_wave(np.asarray(w, dtype=np.float32), cancel=cancel)
                    for w in waves]
        gap = int(round(gap_s * 16000))
        results: list[np.ndarray | None] = [None] * len(waves)
        stream: list[int] = []
        used = 0

        def flush() -> None:
            if not stream:
                return
            slots = [frames_for(len(waves[i]) + gap) * HOP_SAMPLES for i in stream]
            joined = np.zeros(sum(slots), dtype=np.float32)
            starts, position = [], 0
            for i, slot in zip(stream, slots):
                joined[position: position + len(waves[i])] = waves[i]
                starts.append(position // HOP_SAMPLES)
                position += slot
            feats = self.encode(joined, cancel=cancel)
            for i, start in zip(stream, starts):
                count = frames_for(len(waves[i]))
                curves = self.run_head(np.ascontiguousarray(feats[..., start:start + count, :]),
                                       cancel=cancel)
                results[i] = apply_gate(curves, waves[i])
            stream.clear()

        for index, wave in enumerate(waves):
            wave = np.asarray(wave, dtype=np.float32)
            need = frames_for(len(wave) + gap)
            if need > self.full_window:                  # too long to share a window
                results[index] = self.predict_wave(wave, cancel=cancel)
                continue
            if used + need > self.full_window:
                flush()
                used = 0
            stream.append(index)
            used += need
        flush()
        return [r for r in results if r is not None]

    # -- encoder -------------------------------------------------------------------------------
    def encode(self, wave: np.ndarray, progress: Callable[[float], None] | None = None,
               cancel: CancelFn | None = None) -> np.ndarray:
        """(samples,) at 16 kHz -> (frames, dim) or (layers, frames, dim) float32 at 50 Hz."""
        wave = check_wave(wave)
        total = frames_for(wave.size)
        cached = self.padding_cache is not None
        window, plan = encoder_plan(total, self.full_window, self.margin, self.min_window_frames,
                                    padded_tail=cached)
        prepared = self._prepare(wave, total)
        layers = int(self.model.encoder["num_layers_out"])
        dim = int(self.model.encoder["dim"])
        out = np.empty((total, dim) if layers == 1 or self.model.encoder["layer"] != "all"
                       else (layers, total, dim), dtype=np.float32)
        for index, win in enumerate(plan):
            if cancel is not None and cancel():
                raise Cancelled()
            # A window past the clip's end (a short clip's only one, a long clip's padded tail)
            # computes its audio's frames and attends to the cached padding.
            tail = cached_frames(total - win.start, window) \
                if cached and win.stop > total and window == self.full_window else None
            feats = self._run_cached(prepared, tail, win.start) if tail is not None else \
                self._run_window(prepared, win.start, min(win.stop, total), window)
            lo, hi = win.keep_start - win.start, win.keep_stop - win.start
            out[..., win.keep_start:win.keep_stop, :] = feats[..., lo:hi, :]
            if progress is not None:
                progress((index + 1) / len(plan))
        return out

    def _prepare(self, wave: np.ndarray, total: int) -> Any:
        if self.frontend == "whisper_log_mel":
            return log_mel(wave, total, self.mel_filters)
        enc = self.model.encoder
        receptive = int(enc["receptive_samples"])
        padded = np.zeros(max(total * HOP_SAMPLES + receptive - HOP_SAMPLES, wave.size),
                          dtype=np.float32)
        padded[: wave.size] = wave
        if enc.get("normalize"):            # zero mean, unit variance over the clip (padding at 0)
            body = padded[: wave.size]
            mean = float(np.mean(wave, dtype=np.float64))
            body -= np.float32(mean)
            body /= np.float32(np.sqrt(np.var(wave, dtype=np.float64) + 1e-7))
        stats = self._clip_statistics(padded) if self.stats is not None else ()
        return padded, stats

    def _clip_statistics(self, padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and (biased) variance of the first convolution over the whole clip."""
        assert self.stats is not None
        kernel = int(self.model.encoder["stats_kernel"])
        stride = int(self.model.encoder["stats_stride"])
        outputs = (padded.size - kernel) // stride + 1
        block = max(1, STATS_BLOCK_SAMPLES // stride)
        total = squares = None
        for a in range(0, outputs, block):
            b = min(outputs, a + block)
            piece = padded[a * stride: (b - 1) * stride + kernel][None, :]
            s, sq = self.stats.run(None, {"wave": piece})
            total = s.astype(np.float64) if total is None else total + s
            squares = sq.astype(np.float64) if squares is None else squares + sq
        assert total is not None and squares is not None
        mean = total / outputs
        var = np.maximum(squares / outputs - mean * mean, 0.0)
        return mean.astype(np.float32), var.astype(np.float32)

    def _run_window(self, prepared: Any, start: int, stop: int, window: int) -> np.ndarray:
        """Features for frames [start, stop) of a ``window``-frame window: (..., stop - start, dim)."""
        if self.frontend == "whisper_log_mel":
            mel, floor = prepared
            feed = {"mel": mel_window(mel, floor, start, window)[None]}
            if self._no_padding is not None:          # no padding to attend to, no keys wanted
                feed["pad_keys"] = feed["pad_values"] = self._no_padding
                feed["kv_from"] = np.array([window], np.int64)
            feats = self.encoder.run(["features"], feed)[0][0]        # (W, D) or (L, W, D)
        else:
            padded, stats = prepared
            receptive = int(self.model.encoder["receptive_samples"])
            lo, hi = start * HOP_SAMPLES, stop * HOP_SAMPLES + receptive - HOP_SAMPLES
            feed = {"wave": np.ascontiguousarray(padded[lo:hi][None, :])}
            if stats:
                feed["norm_mean"], feed["norm_var"] = stats
            feats = self.encoder.run(None, feed)[0][0]
        return _fit_frames(feats, stop - start)

    def _run_cached(self, prepared: Any, frames: int, start: int = 0) -> np.ndarray:
        """Features for the first ``frames`` positions of a padded window starting at clip frame
        ``start`` (a short clip at 0, a long clip's tail later), attending to the cached padding
        after them: (frames, D) or (L, frames, D)."""
        assert self.padding_cache is not None
        mel, floor = prepared
        keys, values = self.padding_cache.padding(floor, frames)
        feats = self.encoder.run(["features"], {"mel": mel_window(mel, floor, start, frames)[None],
                                                "pad_keys": keys,
                                                "pad_values": values,
                                                "kv_from": np.array([frames], np.int64)})[0][0]
        return _fit_frames(feats, frames)

    # -- head ----------------------------------------------------------------------------------
    def run_head(self, feats: np.ndarray, progress: Callable[[float], None] | None = None,
                 cancel: CancelFn | None = None) -> np.ndarray:
        """(frames, dim) or (layers, frames, dim) features -> (frames, 26) float32 curves.

        Long clips are cut into cores of ``chunk_frames`` (30 s), each read with
        ``context_frames`` (2 s) either side; windows of equal length run in batches.
        """
        T = feats.shape[-2]
        out = np.empty((T, NUM_PARAMS), dtype=np.float32)
        windows = chunk_windows(T, int(self.model.head["chunk_frames"]),
                                int(self.model.head["context_frames"]))
        for b in range(0, len(windows), HEAD_BATCH):
            if cancel is not None and cancel():
                raise Cancelled()
            group = windows[b:b + HEAD_BATCH]
            x = np.stack([feats[..., ws:we, :] for ws, we, _, _ in group]).astype(np.float32)
            y = self.head.run(None, {"features": x})[0]                 # (b, W, 26)
            for row, (ws, _, cs, ce) in zip(y, group):
                out[cs:ce] = row[cs - ws:ce - ws]
            if progress is not None:
                progress(min(1.0, (b + len(group)) / len(windows)))
        return out


def _fit_frames(feats: np.ndarray, frames: int) -> np.ndarray:
    """Trim, or pad by repeating the last frame, along the frame axis (-2) to ``frames``."""
    have = feats.shape[-2]
    if have >= frames:
        return feats[..., :frames, :]
    if have == 0:
        raise EncoderError("The encoder returned no frames for this window.")
    pad = np.repeat(feats[..., -1:, :], frames - have, axis=-2)
    return np.concatenate([feats, pad], axis=-2)


def load_engine(model_dir: str | os.PathLike | None = None, device: str = "auto",
                **options: Any) -> RuntimeEngine:
    """The runtime engine for ``model_dir`` (default: the shipped model); see RuntimeEngine."""
    return RuntimeEngine(model_dir, device=device, **options)

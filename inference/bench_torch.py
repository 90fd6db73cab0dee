"""``python -m inference bench --backend torch``: the torch engine's speed, stage by stage.

Owns the benchmark (a measurement, never a test): for 10 s and 60 s of speech (a real file given
with --audio, repeated to length, or synthesised speech-like sound) it prints encoder time, head
time, total, real-time factor and peak memory, on the CPU and on CUDA when present, with a warm
model (one untimed run first, as in the worker). Without a trained checkpoint in --model it
benches a randomly initialised seed BiLSTM over the default encoder (same cost as trained
weights). It also times the seed BiLSTM head alone on 3000 frames (60 s): one pass at batch size
1 against the batched overlapping windows the engine uses, in float32 and int8. Wall times
depend on what else runs on the machine; the CPU-time column (all threads) depends much less.

Imports: numpy, torch, inference.{heads, checkpoint, encoders, pipeline}, lipsync_core.
"""
from __future__ import annotations

import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

from .commands.common import (EXIT_OK, EXIT_USAGE, OneLineParser, UsageError, fail, one_line,
                              setup_logging, tune_runtime)

PROG = "python -m inference bench --backend torch"
DEFAULT_ENCODER = {"kind": "whisper", "source": "openai/whisper-base", "layer": -1}
log = logging.getLogger(__name__)


def synth_speech(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Speech-like sound: harmonics of a gliding f0 under moving formants, syllables and pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 130 + 35 * np.sin(2 * np.pi * 0.6 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    centre = 500 + 1500 * (0.5 + 0.5 * np.sin(2 * np.pi * 2.7 * t))
    wave = np.zeros_like(t)
    for k in range(1, 30):
        wave += np.sin(k * phase) * np.exp(-((k * f0 - centre) / 450.0) ** 2)
    envelope = np.clip(np.sin(2 * np.pi * 4.2 * t), 0, None) ** 0.5 * ((t % 2.0) < 1.6)
    wave = 0.25 * wave / np.abs(wave).max() * envelope + 0.002 * rng.standard_normal(len(t))
    return wave.astype(np.float32)


def speech_of_length(seconds: float, audio: Path | None) -> np.ndarray:
    if audio is None:
        return synth_speech(seconds)
    from .audio import SAMPLE_RATE, load_audio
    wave = load_audio(audio)
    need = int(seconds * SAMPLE_RATE)
    return np.tile(wave, int(np.ceil(need / max(len(wave), 1))))[:need]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_engine(model: str | None, device: str):
    """The engine for ``model``, or a random seed BiLSTM over the default encoder."""
    import torch

    from .checkpoint import LoadedCheckpoint
    from .encoders import EncoderSpec, load_encoder, pick_device
    from .heads import HeadConfig, build_head
    from .pipeline import DEFAULT_MODEL_DIR, LipSyncEngine

    folder = Path(model) if model else DEFAULT_MODEL_DIR
    if (folder / "config.json").is_file():
        return LipSyncEngine(folder, device=device), f"checkpoint {folder}"
    spec = EncoderSpec.from_dict(DEFAULT_ENCODER)
    torch_device, dtype, _ = pick_device(device)
    dim = load_encoder(spec, torch_device, dtype).dim
    cfg = HeadConfig(in_dim=dim)
    head = build_head(cfg).eval().to(torch_device, dtype if torch_device.type == "cuda"
                                     else torch.float32)
    loaded = LoadedCheckpoint(head=head, head_cfg=cfg, encoder_spec=spec, path=folder,
                              config={"head": cfg.to_dict(), "encoder": spec.to_dict(),
                                      "training": {"name": "random seed BiLSTM (bench)"}})
    return LipSyncEngine(checkpoint=loaded, device=device), \
        f"random seed BiLSTM over {spec.source} (no checkpoint in {folder})"


def bench_pipeline(model: str | None, device: str, audio: Path | None, lengths: list[float]):
    import torch

    engine, what = build_engine(model, device)
    print(f"\n== pipeline on {engine.device_description}: {what}")
    print(f"   head windows: {engine.chunk_frames} frames + {engine.context_frames} context, "
          f"batch {engine.batch_size}, int8 {engine.int8}, {engine.head_workers} head "
          f"worker(s); torch threads {torch.get_num_threads()}")
    engine.predict_wave(speech_of_length(2.0, audio))                 # warm-up
    print(f"   {'audio':>6} {'encoder':>9} {'head':>8} {'total':>8} {'RTF':>7} {'CPU time':>9}"
          f" {'peak RSS':>9} {'CUDA peak':>9}")
    for seconds in lengths:
        wave = speech_of_length(seconds, audio)
        if engine.torch_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        cpu0 = time.process_time()          # CPU seconds of all threads: less load-sensitive
        t0 = time.perf_counter()
        engine.predict_wave(wave)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        timing = engine.last_timings
        cuda = (f"{torch.cuda.max_memory_allocated() / 2**20:8.0f}M"
                if engine.torch_device.type == "cuda" else f"{'-':>9}")
        print(f"   {seconds:5.0f}s {timing.encoder:8.2f}s {timing.head:7.2f}s {total:7.2f}s "
              f"{total / seconds:7.3f} {cpu:8.2f}s {peak_rss_mb():8.0f}M {cuda}")


def bench_head(device: str, frames: int = 3000, in_dim: int = 512, repeats: int = 2) -> None:
    import torch

    from .encoders import pick_device
    from .heads import HeadConfig, build_head, run_head_chunked

    torch_device, dtype, description = pick_device(device)
    dtype = dtype if torch_device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    head = build_head(HeadConfig(in_dim=in_dim)).eval().to(torch_device, dtype)
    feats = torch.randn(frames, in_dim, device=torch_device, dtype=dtype)
    print(f"\n== seed BiLSTM head alone, {frames} frames ({frames / 50:.0f} s), {description}, "
          f"{torch.get_num_threads()} thread(s), best of {repeats}")

    def timed(fn) -> float:
        fn()                                                           # warm-up
        best = float("inf")
        for _ in range(repeats):
            if torch_device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if torch_device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        return best

    from .heads import quantize_for_cpu
    variants = [("float32", head)]
    if torch_device.type == "cpu":
        variants.append(("int8", quantize_for_cpu(head)))
    for name, module in variants:
        with torch.inference_mode():
            one = timed(lambda: module(feats[None]))
        print(f"   {name:>7} one pass, batch size 1:                         {one:6.2f} s")
        workers = torch.get_num_threads() if torch_device.type == "cpu" else 1
        schemes = [(1500, 100, 8, 1), (500, 100, 8, 1)]
        if workers > 1:
            schemes += [(1500, 100, 8, workers), (500, 100, 8, workers)]
        for core, context, batch, jobs in schemes:
            t = timed(lambda: run_head_chunked(module, feats, core=core, context=context,
                                               batch_size=batch, workers=jobs))
            print(f"   {name:>7} windows {core:>4}+2x{context} frames, batch {batch:>2}, "
                  f"{jobs} worker(s): {t:6.2f} s ({one / t:.2f}x)")


def main(argv: list[str]) -> int:
    parser = OneLineParser(prog=PROG, description="Time encoder and head on 10 s and 60 s of "
                           "speech, on the CPU and on CUDA when present.")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: assets/model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "all"), default="all",
                        help="all = the CPU, then CUDA when present")
    parser.add_argument("--audio", default=None, help="a real speech file, repeated to length")
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core)")
    parser.add_argument("--skip-head", action="store_true", help="skip the head-alone figures")
    parser.add_argument("--verbose", action="store_true")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    tune_runtime()
    setup_logging(args.verbose)
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        devices = [args.device] if args.device != "all" else \
            ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        audio = Path(args.audio) if args.audio else None
        print(f"{PROG}: {'file ' + str(audio) if audio else 'synthesised speech-like audio'}")
        from .bench import host_description            # bench imports this module at its top
        print(f"{PROG}: host {host_description()}")
        for device in devices:
            if not args.skip_head:
                bench_head(device)
            bench_pipeline(args.model, device, audio, args.seconds)
    except Exception as exc:                                       # noqa: BLE001 - CLI boundary
        from .checkpoint import ModelError
        from .encoders import EncoderError
        return fail(PROG, exc, args.verbose, expected=isinstance(exc, (ModelError, EncoderError)))
    return EXIT_OK

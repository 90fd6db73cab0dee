"""``python -m inference bench``: how fast speech becomes curves on the runtime that ships.

Owns the benchmark of the ONNX Runtime engine (a measurement, never a test). For each length
(default 2, 10 and 60 s) of real speech (--audio, repeated to length) or synthesised speech-like
sound it prints encoder, head and total time, the real-time factor, CPU time (all threads; less
sensitive to other processes than wall time) and the process's peak memory, with a warm engine (one
untimed run of each length first, as in the worker; its time is printed as "first", which for a
short clip includes the pass over silence that fills the padding cache, lipsync_runtime.padding). ``--worker`` also times the real worker over
its pipes, as the add-on uses it: start-up to hello, then each length as a file, request to result.
``--backend torch`` runs the former torch benchmark (inference/bench_torch.py) instead.

Imports: numpy, lipsync_runtime, inference.commands (torch only with --backend torch).
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from .bench_torch import speech_of_length
from .commands.backend import DEVICES, split_backend
from .commands.common import (EXIT_OK, EXIT_USAGE, OneLineParser, UsageError, fail, one_line,
                              setup_logging, tune_runtime)

PROG = "python -m inference bench"
ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def host_description(cpuinfo: str | None = None) -> str:
    """The CPU this runs on, e.g. "AMD EPYC, 2 cores, AVX-512": the same graphs ran 60 s of speech
    in 1.25-1.30 s on one 2-core machine and 1.99-2.07 s on another (docs/inference.md), so every
    figure needs its host. ``cpuinfo``: /proc/cpuinfo's text (read when None; Linux only)."""
    import platform
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    flags = set(fields.get("flags", "").split())
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else \
        "AVX" if "avx" in flags else None
    parts = [name, f"{os.cpu_count() or 1} cores"] + ([simd] if simd else [])
    return ", ".join(parts)


def bench_engine(engine, audio: Path | None, lengths: list[float], repeats: int) -> None:
    print(f"\n== runtime engine on {engine.device_description}: {engine.model.path}")
    print(f"   encoder window: {engine.full_window / 50:g} s, clips under it cut to >= "
          f"{'full' if engine.min_window_frames is None else f'{engine.min_window_frames / 50:g} s'}"
          f"; padding {'cached' if engine.padding_cache is not None else 'encoded whole'}"
          f"; best of {repeats}")
    print(f"   {'audio':>6} {'encoder':>9} {'head':>8} {'total':>8} {'RTF':>7} {'CPU time':>9}"
          f" {'peak RSS':>9} {'first':>8}")
    for seconds in lengths:
        wave = speech_of_length(seconds, audio)
        first = float("nan")
        if seconds <= 60:             # warm-up at this length (longer ones reuse 30 s windows)
            t0 = time.perf_counter()
            engine.predict_wave(wave)
            first = time.perf_counter() - t0
        best = None
        for _ in range(repeats):
            cpu0, t0 = time.process_time(), time.perf_counter()
            engine.predict_wave(wave)
            total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            if best is None or total < best[0]:
                best = (total, cpu, engine.last_timings.encoder, engine.last_timings.head)
        total, cpu, enc, head = best
        print(f"   {seconds:5g}s {enc:8.3f}s {head:7.3f}s {total:7.3f}s {total / seconds:7.3f} "
              f"{cpu:8.3f}s {peak_rss_mb():8.0f}M {first:7.3f}s")


def bench_worker(model: str | None, device: str, audio: Path | None, lengths: list[float],
                 repeats: int) -> None:
    """The worker as the add-on runs it: spawn, hello, then each length as a file (written to
    a folder that goes when the bench ends)."""
    with tempfile.TemporaryDirectory(prefix="lipsync-bench-") as folder:
        _time_worker(Path(folder), model, device, audio, lengths, repeats)


def _time_worker(folder: Path, model: str | None, device: str, audio: Path | None,
                 lengths: list[float], repeats: int) -> None:
    import soundfile

    from lipsync_core import protocol

    files = {}
    for seconds in lengths:
        files[seconds] = folder / f"speech_{seconds:g}s.wav"
        soundfile.write(str(files[seconds]), speech_of_length(seconds, audio), 16000)
    cmd = [sys.executable, "-m", "lipsync_runtime", "serve", "--device", device]
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=str(ROOT), env=env, text=True)
    assert proc.stdin is not None and proc.stdout is not None

    def reply(kinds: tuple[str, ...]) -> dict:
        for line in proc.stdout:
            message = protocol.decode(line)
            if message["type"] in kinds:
                return message
        raise RuntimeError("the worker ended early")

    hello = reply(("hello", "error"))
    if hello["type"] == "error":
        raise RuntimeError(hello["message"])
    print(f"\n== worker over its pipes ({hello['device']}): start to hello "
          f"{time.perf_counter() - t0:.2f} s")
    for number, (seconds, path) in enumerate(files.items()):
        times = []
        for k in range(repeats + 1):                                  # the first one warms up
            t = time.perf_counter()
            proc.stdin.write(protocol.encode({"type": "predict", "id": f"b{number}.{k}",
                                              "audio": str(path), "fps": 24.0}))
            proc.stdin.flush()
            done = reply(("result", "error"))
            if done["type"] == "error":
                raise RuntimeError(done["message"])
            times.append(time.perf_counter() - t)
        print(f"   {seconds:5g}s line: request to result {min(times[1:]):.3f} s "
              f"(first {times[0]:.3f} s)")
    proc.stdin.write(protocol.encode({"type": "shutdown"}))
    proc.stdin.close()
    proc.wait(timeout=30)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(f"   worker peak RSS {usage:.0f} MB")


def main(argv: list[str]) -> int:
    backend, rest, error = split_backend(argv)
    if error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    parser = OneLineParser(prog=PROG, description="Time the runtime engine on speech of several "
                           "lengths (--backend torch: the torch engine).")
    parser.add_argument("--model", default=None, help="runtime model folder (default: assets/runtime)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--audio", default=None, help="a real speech file, repeated to length")
    parser.add_argument("--seconds", type=float, nargs="+", default=[2.0, 10.0, 60.0])
    parser.add_argument("--threads", type=int, default=None,
                        help="onnxruntime intra-op threads (default: one per core)")
    parser.add_argument("--min-window", default="model",
                        help="seconds of the shortest encoder window, 'full' or 'model'")
    parser.add_argument("--padding", choices=("model", "cached", "full"), default="model",
                        help="short clips: attend to cached padding, encode the padded window "
                             "whole, or as the model folder says")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per length (best kept)")
    parser.add_argument("--worker", action="store_true",
                        help="also time the real worker process over its pipes")
    parser.add_argument("--verbose", action="store_true")
    if backend == "torch" or (backend == "auto" and any(a.endswith("model") for a in rest) and
                              _names_checkpoint(rest)):
        from . import bench_torch
        return bench_torch.main(rest)
    try:
        args = parser.parse_args(rest)
    except UsageError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    tune_runtime()
    setup_logging(args.verbose)
    try:
        from lipsync_runtime.audio import AudioError
        from lipsync_runtime.engine import load_engine
        from lipsync_runtime.errors import EncoderError, ModelError
        window = None if args.min_window == "full" else \
            "model" if args.min_window == "model" else float(args.min_window)
        audio = Path(args.audio) if args.audio else None
        print(f"{PROG}: {'file ' + str(audio) if audio else 'synthesised speech-like audio'}")
        print(f"{PROG}: host {host_description()}")
        engine = load_engine(args.model, device=args.device, threads=args.threads,
                             min_window_s=window, padding=args.padding)
        bench_engine(engine, audio, args.seconds, max(1, args.repeats))
        if args.worker:
            bench_worker(args.model, args.device, audio, args.seconds, max(1, args.repeats))
    except Exception as exc:                                       # noqa: BLE001 - CLI boundary
        return fail(PROG, exc, args.verbose,
                    expected=isinstance(exc, (AudioError, ModelError, EncoderError,
                                                         RuntimeError)))
    return EXIT_OK


def _names_checkpoint(rest: list[str]) -> bool:
    from .commands.backend import is_checkpoint
    for i, item in enumerate(rest):
        if item == "--model" and i + 1 < len(rest):
            return is_checkpoint(rest[i + 1])
        if item.startswith("--model="):
            return is_checkpoint(item.split("=", 1)[1])
    return False

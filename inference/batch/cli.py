"""``python -m inference batch MANIFEST -o OUTDIR``: many lines -> curves files + summary.json.

Owns the command line and the run: read the manifest, check every line's audio, pack short lines
into shared encoder windows (packing.py), key every line (audio content, model identity,
settings, pack), take what the cache already holds, hand the packs still to compute to an engine
(local worker processes, or Ray), write OUTDIR/summary.json. Exit codes: 0 every line done, 1 a line (or the
run) failed, 2 usage. A bad line never stops the others.

Imports: standard library, lipsync_runtime.cli_common, inference.batch.* (the engines lazily).
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from lipsync_runtime.cli_common import (EXIT_FAILURE, EXIT_OK, EXIT_USAGE, OneLineParser,
                                        UsageError, fail, one_line, setup_logging, tune_runtime)

from . import summary as summary_mod
from .cache import Cache, file_sha256, line_key
from .engines import EngineError
from .manifest import ManifestError, read_manifest
from .progress import Progress
from .packing import make_packs, signature
from .work import FORMATS, model_facts, peak_rss_mb, task_fps

PROG = "python -m inference batch"
log = logging.getLogger(__name__)


def build_parser() -> OneLineParser:
    p = OneLineParser(prog=PROG, description="Turn many speech recordings into curves files, "
                      "cached and resumable, on this machine or a Ray cluster.")
    p.add_argument("manifest", help="text file of audio paths, or CSV/JSONL with an 'audio' "
                                    "column (optional id, start, end, fps, language)")
    p.add_argument("-o", "--outdir", required=True, help="folder for the curves files and "
                                                         "summary.json")
    p.add_argument("--format", choices=tuple(FORMATS), default="json",
                   help="json, csv, npz (lipsync curves) or livelink (Live Link Face CSV, "
                        "ARKit 52)")
    p.add_argument("--fps", type=float, default=None,
                   help="frames per second for lines without their own (default: the model's "
                        "50; livelink: 60)")
    p.add_argument("--model", default=None, help="runtime model folder (default: assets/runtime)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "directml", "coreml"),
                   default=None, help="ONNX Runtime device for every worker (default: cpu; "
                                      "cuda with --gpus-per-actor)")
    p.add_argument("--cache", default=None,
                   help="cache folder (default: OUTDIR/.cache); share one across runs or machines")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (local) or actors (ray); default: one per core")
    p.add_argument("--max-worker-mb", type=float, default=1024.0,
                   help="a local worker above this resident memory is replaced (MiB)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address ('auto' = the one 'ray start' runs here); default: "
                        "a private Ray instance on this machine")
    p.add_argument("--cpus-per-actor", type=float, default=1.0)
    p.add_argument("--gpus-per-actor", type=float, default=0.0)
    p.add_argument("--ship-audio", choices=("auto", "always", "never"), default="auto",
                   help="ray: send audio inside the task (auto: files under 4 MiB) or let actors "
                        "read it from shared storage")
    p.add_argument("--verbose", action="store_true")
    return p


def _check(args: Any) -> None:
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise UsageError(f"--fps must be between 0 and 1000; got {args.fps:g}.")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be 1 or more; got {args.workers}.")
    if args.engine != "ray" and (args.address or args.gpus_per_actor):
        raise UsageError("--address and --gpus-per-actor are for --engine ray.")
    if args.device is None:
        args.device = "cuda" if args.gpus_per_actor else "cpu"


def make_engine(args: Any) -> Any:
    level = logging.DEBUG if args.verbose else logging.WARNING
    if args.engine == "ray":
        from .engines.ray import RayEngine
        return RayEngine(args.model, args.device, workers=args.workers, address=args.address,
                         cpus_per_actor=args.cpus_per_actor, gpus_per_actor=args.gpus_per_actor,
                         ship_audio=args.ship_audio, log_level=level)
    from .engines.local import LocalEngine
    return LocalEngine(args.model, args.device, workers=args.workers,
                       max_worker_mb=args.max_worker_mb, log_level=level)


def _seconds(line: Any) -> float:
    """Audio seconds a line covers, from the file's header; AudioError for non-audio or a
    window outside the file (so a pack never holds a line that cannot be read)."""
    from lipsync_runtime.audio import AudioError, audio_duration
    total = audio_duration(line.audio)
    start = line.start or 0.0
    if start >= total:
        raise AudioError(f"The start time ({start:g} s) is at or past the end of "
                         f"'{line.audio.name}', which is {total:.3f} s long.")
    end = total if line.end is None else min(line.end, total)
    return end - start


def plan(lines: list[Any], outdir: Path, cache: Cache, fmt: str, default_fps: float | None,
         identity: str, window_frames: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(summary records, packs to compute): every line is checked, keyed by its audio, the model,
    its settings and its pack (inference.batch.packing); the cache answers what it can."""
    from lipsync_runtime.audio import AudioError

    records, valid = [], []
    for line in lines:
        record = summary_mod.new_record(line)
        records.append(record)
        if record["error"] is None and not line.audio.is_file():
            record["error"] = (f"The audio file {str(line.audio)!r} does not exist; check manifest "
                               f"line {line.number}.")
        if record["error"] is None:
            try:
                task = line.to_task()
                task.update(sha256=file_sha256(line.audio), seconds=_seconds(line),
                            record=len(records) - 1)
                if task["fps"] is None:
                    task["fps"] = default_fps
                valid.append(task)
            except AudioError as exc:
                record["error"] = f"{one_line(exc)} (manifest line {line.number})"
            except OSError as exc:
                record["error"] = f"The audio file {str(line.audio)!r} cannot be read ({exc})."
        if record["error"] is not None:
            record["status"] = "failed"
    packs = []
    for number, members in enumerate(make_packs(valid, window_frames)):
        tasks = [valid[i] for i in members]
        pack_sig = signature(tasks)
        missing = False
        for task in tasks:
            settings = {"start": task["start"], "end": task["end"],
                        "fps": task_fps(task, fmt), "format": fmt, "pack": pack_sig}
            task["key"] = line_key(task["sha256"], identity, settings)
            output = outdir / (task["id"] + FORMATS[fmt])
            task["output"] = str(output)
            record = records[task["record"]]
            record["output"] = output.relative_to(outdir).as_posix()
            record["pack"] = number
            meta = cache.get(task["key"])
            try:
                if meta is None:
                    missing = True
                    continue
                if not cache.in_place(task["key"], output):
                    cache.place(task["key"], output)
                record.update(status="cached", frames=meta.get("frames"),
                              duration=meta.get("duration"), note=meta.get("note") or "",
                              seconds=0.0)
            except OSError as exc:
                log.warning("cache entry for %s unusable (%s); recomputing", task["id"], exc)
                missing = True
        if missing:             # a line is computed with its pack-mates, as it was keyed
            packs.append({"pack": number, "lines": tasks})
    return records, packs


def run_batch(args: Any) -> tuple[dict[str, Any], int]:
    """Run the batch of ``args``; (summary, exit code)."""
    t0 = time.perf_counter()
    lines = read_manifest(args.manifest)
    outdir = Path(args.outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    identity, window_frames = model_facts(args.model)
    cache_root = Path(args.cache).resolve() if args.cache else outdir / ".cache"
    cache = Cache(cache_root, FORMATS[args.format])
    if cache.sweep(outdir):
        log.info("removed the temporary files of an interrupted run")
    records, packs = plan(lines, outdir, cache, args.format, args.fps, identity, window_frames)
    todo = sum(len(p["lines"]) for p in packs)
    log.info("%d lines: %d from the cache, %d to compute in %d packs", len(records),
             sum(r["status"] == "cached" for r in records), todo, len(packs))
    engine = make_engine(args)
    progress = Progress(todo)

    def on_result(task: dict[str, Any], outcome: dict[str, Any]) -> None:
        record = records[task["record"]]
        record.update(status=outcome["status"], error=outcome.get("error"),
                      seconds=round(float(outcome.get("seconds") or 0.0), 4),
                      frames=outcome.get("frames"), duration=outcome.get("duration"),
                      note=outcome.get("note") or "")
        if outcome["status"] == "failed":
            record["output"] = None
        progress.update(failed=outcome["status"] == "failed")

    info: dict[str, Any] = {}
    interrupted = False
    try:
        info = engine.run(packs, args.format, cache_root, on_result) or {}
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    for record in records:
        if record["status"] == "pending":
            record.update(status="failed", error="The run was interrupted before this line; "
                                                 "run the same command again to resume.")
    facts = getattr(engine, "facts", [])
    seconds = time.perf_counter() - t0
    computed = sum(r["status"] == "done" for r in records)
    summary = {"manifest": str(Path(args.manifest).resolve()), "outdir": str(outdir),
               "file_format": args.format, "engine": engine.name, **info,
               "model": {**(facts[0].get("model", {}) if facts else {}), "identity": identity},
               "device": facts[0].get("device") if facts else None,
               "counts": summary_mod.counts(records), "seconds": round(seconds, 3),
               "lines_per_minute": round(computed / seconds * 60.0, 1) if computed else None,
               "peak_rss_mb": {"parent": round(peak_rss_mb(), 1),
                               "workers": [round(f.get("peak_rss_mb", 0.0), 1) for f in facts]},
               "torch_imported_by_workers": any(f.get("torch_imported") for f in facts),
               "lines": records}
    summary_mod.write_summary(outdir, summary)
    if interrupted:
        raise KeyboardInterrupt
    failed = summary["counts"]["failed"]
    return summary, EXIT_FAILURE if failed else EXIT_OK


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check(args)
    except UsageError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    tune_runtime()
    setup_logging(args.verbose)
    try:
        summary, code = run_batch(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished lines are kept, run the same command again to "
              "resume.", file=sys.stderr)
        return 130
    except Exception as exc:                                   # noqa: BLE001 - CLI boundary
        from lipsync_runtime.errors import ModelError
        return fail(PROG, exc, args.verbose,
                    expected=isinstance(exc, (ManifestError, EngineError, ModelError, OSError)))
    c = summary["counts"]
    print(f"{c['done']} computed, {c['cached']} from the cache, {c['failed']} failed in "
          f"{summary['seconds']:.1f} s; summary: {Path(summary['outdir']) / 'summary.json'}")
    for record in summary["lines"]:
        if record["status"] == "failed":
            print(f"  line {record['line']} ({record['id']}): {record['error']}", file=sys.stderr)
    return code

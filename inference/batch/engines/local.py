"""The local batch engine: worker processes on this machine, each holding one warm engine.

Owns the worker processes' life: how many (one per core, fewer when memory is short or there is
less work), how many ONNX Runtime threads each gets (its share of the cores), feeding them packs
of lines (two packs in flight each, so a worker never waits), replacing one that grows past
``max_worker_mb`` of resident memory (it retires after its pack) or that dies (that pack's lines
fail with a sentence, its queued pack is retried elsewhere), and stopping them.

Workers are started with "spawn" and import only inference.batch.{work, cache}, lipsync_core and
lipsync_runtime: no torch. Each writes its own results (cache entry, then output link) so the
parent only routes small dicts. A killed parent closes the pipes and the workers exit.

Imports: standard library, inference.batch.{cache, work}.
"""
from __future__ import annotations

import collections
import logging
import multiprocessing as mp
import os
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from ..cache import Cache
from . import EngineError

log = logging.getLogger(__name__)

IN_FLIGHT = 2                    # packs queued per worker: the one it runs and the next
WORKER_MB_ESTIMATE = 450         # MiB one warm worker needs (runtime model + a 5 s line)
MAX_CRASHES = 3                  # worker deaths in a row (no line done between) before giving up
ResultFn = Callable[[dict[str, Any], dict[str, Any]], None]    # (line task, outcome)


def available_mb() -> float | None:
    """MemAvailable from /proc/meminfo in MiB, or None where there is no such file."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for raw in handle:
                if raw.startswith("MemAvailable:"):
                    return int(raw.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def plan_workers(requested: int | None, lines: int) -> tuple[int, int]:
    """(worker processes, ONNX Runtime threads each) for ``lines`` lines on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    workers = requested or cores
    free = available_mb()
    if not requested and free is not None:      # bounded memory: never plan past what is free
        workers = min(workers, max(1, int(free // WORKER_MB_ESTIMATE)))
    workers = max(1, min(workers, max(1, lines)))
    return workers, max(1, cores // workers)


def worker_main(conn: Connection, config: dict[str, Any]) -> None:
    """A worker process: load the engine once, then run packs until told to stop."""
    import logging as _logging
    _logging.basicConfig(level=config.get("log_level", _logging.WARNING),
                         format="%(levelname)s batch-worker: %(message)s")
    from .. import work
    try:
        engine = work.load_engine(config["model"], config["device"], config["threads"])
    except Exception as exc:                     # noqa: BLE001 - reported as one sentence
        conn.send(("error", " ".join(str(exc).split()) or type(exc).__name__))
        return
    conn.send(("ready", {**work.process_facts(), "device": engine.device_description,
                         "model": dict(engine.model_info)}))
    cache = Cache(config["cache"], work.FORMATS[config["format"]])
    while True:
        try:
            pack = conn.recv()
        except (EOFError, OSError):               # the parent is gone
            return
        if pack is None:
            return
        outcomes = [store(cache, line, outcome, data) for line, (outcome, data) in
                    zip(pack["lines"], work.run_pack(engine, pack["lines"], config["format"]))]
        rss = round(work.current_rss_mb(), 1)
        conn.send(("result", pack["pack"], outcomes, round(work.peak_rss_mb(), 1)))
        if config.get("max_worker_mb") and rss > config["max_worker_mb"]:
            conn.send(("retire", rss))
            return


def store(cache: Cache, task: dict[str, Any], outcome: dict[str, Any],
          data: bytes | None) -> dict[str, Any]:
    """Write a done line's cache entry, then its output; the outcome (failed if it cannot)."""
    if data is None:
        return outcome
    try:
        cache.put(task["key"], data, {k: outcome.get(k) for k in ("frames", "duration", "note")})
        cache.place(task["key"], Path(task["output"]))
    except OSError as exc:
        return {**outcome, "status": "failed",
                "error": f"Cannot write {task['output']!r} ({exc.strerror or exc})."}
    return outcome


class _Worker:
    def __init__(self, ctx: Any, config: dict[str, Any]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child, config), daemon=True)
        self.proc.start()
        child.close()
        self.outstanding: collections.deque[dict[str, Any]] = collections.deque()
        self.ready = False
        self.retiring = False
        self.eof = False                           # the pipe is closed (the worker has ended)
        self.facts: dict[str, Any] = {}


class LocalEngine:
    """Run packs of lines on worker processes; ``on_result(line task, outcome)`` is called in
    the parent once per line."""

    name = "local"

    def __init__(self, model: str | None, device: str, workers: int | None = None,
                 max_worker_mb: float | None = None, log_level: int = logging.WARNING) -> None:
        self.model, self.device = model, device
        self.requested = workers
        self.max_worker_mb = max_worker_mb
        self.log_level = log_level
        self.facts: list[dict[str, Any]] = []      # each started worker's ready message

    def run(self, packs: list[dict[str, Any]], fmt: str, cache_root: Path,
            on_result: ResultFn) -> dict[str, Any]:
        """Run ``packs`` ({"pack": n, "lines": [task, ...]}); on_result once per line."""
        if not packs:
            return {"workers": 0}
        count, threads = plan_workers(self.requested, len(packs))
        config = {"model": self.model, "device": self.device, "threads": threads,
                  "format": fmt, "cache": str(cache_root), "max_worker_mb": self.max_worker_mb,
                  "log_level": self.log_level}
        ctx = mp.get_context("spawn")
        pending = collections.deque(packs)
        workers = [_Worker(ctx, config) for _ in range(count)]
        crashes = 0
        try:
            while pending or any(w.outstanding for w in workers):
                waitables: list[Any] = [w.conn for w in workers if not w.eof] + \
                    [w.proc.sentinel for w in workers]
                for ready in wait(waitables):
                    worker = next(w for w in workers if ready in (w.conn, w.proc.sentinel))
                    if ready is worker.conn:
                        crashes = self._message(worker, pending, on_result, crashes)
                for worker in list(workers):          # deaths, after their last messages
                    if worker.proc.is_alive():
                        continue
                    while not worker.eof and worker.conn.poll():
                        crashes = self._message(worker, pending, on_result, crashes)
                    workers.remove(worker)
                    if not worker.retiring and (worker.outstanding or not worker.ready):
                        crashes += 1
                    if worker.outstanding and not worker.retiring:
                        pack = worker.outstanding.popleft()
                        for task in pack["lines"]:
                            on_result(task, {"status": "failed", "seconds": 0.0, "error":
                                             f"The worker process stopped (exit code "
                                             f"{worker.proc.exitcode}) on this line or one "
                                             "packed with it; run it again, or split a very "
                                             "long line."})
                    pending.extendleft(reversed(worker.outstanding))
                    if crashes >= MAX_CRASHES:
                        raise EngineError(f"{crashes} worker processes stopped in a row; "
                                          "see the log above (rerun with --verbose).")
                    if pending or any(w.outstanding for w in workers):
                        workers.append(_Worker(ctx, config))
        finally:
            for worker in workers:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            for worker in workers:
                worker.proc.join(timeout=10)
                if worker.proc.is_alive():
                    worker.proc.kill()
                worker.conn.close()
        return {"workers": count, "threads_per_worker": threads}

    def _message(self, worker: _Worker, pending: collections.deque, on_result: ResultFn,
                 crashes: int) -> int:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.eof = True
            return crashes
        kind = message[0]
        if kind == "error":
            raise EngineError(message[1])
        if kind == "ready":
            worker.ready, worker.facts = True, message[1]
            self.facts.append(worker.facts)        # the same dict: peaks update it later
        elif kind == "result":
            pack = worker.outstanding.popleft()
            assert pack["pack"] == message[1], "worker answered out of order"
            for task, outcome in zip(pack["lines"], message[2]):
                on_result(task, outcome)
            worker.facts["peak_rss_mb"] = max(worker.facts.get("peak_rss_mb", 0.0), message[3])
            crashes = 0
        elif kind == "retire":
            log.info("worker %s retires at %.0f MiB", worker.proc.pid, message[1])
            worker.retiring = True
            pending.extendleft(reversed(worker.outstanding))
            worker.outstanding.clear()
            return crashes
        while worker.ready and not worker.retiring and pending and \
                len(worker.outstanding) < IN_FLIGHT:
            pack = pending.popleft()
            try:
                worker.conn.send(pack)
            except OSError:                         # it just died: the death check handles it
                pending.appendleft(pack)
                break
            worker.outstanding.append(pack)
        return crashes

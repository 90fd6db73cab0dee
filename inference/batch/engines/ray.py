"""The Ray batch engine: the same lines on a Ray cluster, one warm engine per actor.

Owns the actor pool: ``workers`` actors (default: the cluster's CPUs / ``cpus_per_actor``), each
reserving ``cpus_per_actor`` CPUs and ``gpus_per_actor`` GPUs and loading one runtime engine
once; two packs of lines (inference.batch.packing) in flight per actor. Audio is read where it
lies when the actors can see the path (shared storage) or shipped inside the task
(``ship_audio``: "always", "never", or "auto" = files under SHIP_LIMIT bytes), the actor writing
it to a private temporary file. Actors return
the curves file's bytes and the driver writes the cache entry and the output exactly as the
local engine's workers do (same packs, same inference.batch.work.run_pack), so the outputs are
identical.

``address`` None starts a private Ray instance on this machine for the run; "auto" or
"HOST:PORT" joins a running cluster (``ray start --head``). The repository root travels to the
actors as PYTHONPATH (a farm keeps the checkout on shared storage at the same path).

Imports: ray (optional extra: pip install '.[ray]'), inference.batch.{cache, work}.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..cache import Cache
from ..work import FORMATS
from .local import store
from . import EngineError

log = logging.getLogger(__name__)

IN_FLIGHT = 2                    # packs queued per actor
SHIP_LIMIT = 4 << 20             # bytes: audio files up to this size travel inside the task
ROOT = Path(__file__).resolve().parents[3]        # repository (or install) root
ResultFn = Callable[[dict[str, Any], dict[str, Any]], None]


class LineActor:
    """One warm engine in a Ray worker process (made remote by :meth:`RayEngine.run`)."""

    def __init__(self, model: str | None, device: str, threads: int, fmt: str) -> None:
        from .. import work
        self.fmt = fmt
        self.error = None
        try:
            self.engine = work.load_engine(model, device, threads)
        except Exception as exc:                   # noqa: BLE001 - reported as one sentence
            self.engine, self.error = None, " ".join(str(exc).split()) or type(exc).__name__

    def ready(self) -> dict[str, Any]:
        from .. import work
        if self.error:
            return {"error": self.error}
        return {**work.process_facts(), "device": self.engine.device_description,
                "model": dict(self.engine.model_info)}

    def peak_rss_mb(self) -> float:
        from .. import work
        return round(work.peak_rss_mb(), 1)

    def run(self, tasks: list[dict[str, Any]], audio: list[bytes | None]
            ) -> list[tuple[dict[str, Any], bytes | None]]:
        """run_pack on ``tasks``; ``audio[i]`` is line i's file when it was shipped, else None."""
        from .. import work
        paths, temps = [], []
        try:
            for task, data in zip(tasks, audio):
                if data is None:
                    paths.append(task["audio"])
                    continue
                fd, tmp = tempfile.mkstemp(prefix="lipsync-line-",
                                           suffix=Path(task["audio"]).suffix)
                temps.append(tmp)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                paths.append(tmp)
            results = work.run_pack(self.engine, tasks, self.fmt, audio_paths=paths)
        finally:
            for tmp in temps:
                os.unlink(tmp)
        for (outcome, _), task, path in zip(results, tasks, paths):
            if outcome.get("error") and path != task["audio"]:   # name the file, not the copy
                outcome["error"] = outcome["error"].replace(Path(path).name,
                                                            Path(task["audio"]).name)
        return results


class RayEngine:
    name = "ray"

    def __init__(self, model: str | None, device: str, workers: int | None = None,
                 address: str | None = None, cpus_per_actor: float = 1.0,
                 gpus_per_actor: float = 0.0, ship_audio: str = "auto",
                 log_level: int = logging.WARNING) -> None:
        self.model = str(Path(model).resolve()) if model else None
        self.device, self.requested, self.address = device, workers, address
        self.cpus, self.gpus, self.ship_audio = cpus_per_actor, gpus_per_actor, ship_audio
        self.log_level = log_level
        self.facts: list[dict[str, Any]] = []

    def _ship(self, path: str) -> bool:
        if self.ship_audio == "always":
            return True
        if self.ship_audio == "never":
            return False
        try:
            return os.path.getsize(path) <= SHIP_LIMIT
        except OSError:
            return False

    def run(self, packs: list[dict[str, Any]], fmt: str, cache_root: Path,
            on_result: ResultFn) -> dict[str, Any]:
        """Run ``packs`` ({"pack": n, "lines": [task, ...]}); on_result once per line."""
        if not packs:
            return {"workers": 0}
        try:
            import ray
        except ImportError:
            raise EngineError("Ray is not installed; install the extra with \"pip install "
                              "'.[ray]'\" (or -r requirements-farm.txt), or use --engine "
                              "local.") from None
        started_here = not ray.is_initialized()
        if started_here:
            env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT),
                                                             os.environ.get("PYTHONPATH")) if p)}
            ray.init(address=self.address, runtime_env={"env_vars": env},
                     logging_level=self.log_level, log_to_driver=self.log_level <= logging.INFO,
                     include_dashboard=False)
        try:
            return self._run(ray, packs, fmt, cache_root, on_result)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, packs: list[dict[str, Any]], fmt: str, cache_root: Path,
             on_result: ResultFn) -> dict[str, Any]:
        cluster_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = self.requested or max(1, int(cluster_cpus // max(self.cpus, 1e-6)))
        count = max(1, min(count, len(packs)))
        threads = max(1, int(self.cpus))
        actor_cls = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus)(LineActor)
        actors = [actor_cls.remote(self.model, self.device, threads, fmt) for _ in range(count)]
        for facts in ray.get([a.ready.remote() for a in actors]):
            if "error" in facts:
                raise EngineError(facts["error"])
            self.facts.append(facts)
        cache = Cache(cache_root, FORMATS[fmt])
        pending = list(reversed(packs))
        running: dict[Any, tuple[Any, dict[str, Any]]] = {}
        keep = ("number", "audio", "id", "start", "end", "fps")     # what an actor needs

        def submit(actor: Any) -> None:
            pack = pending.pop()
            audio = [Path(t["audio"]).read_bytes() if self._ship(t["audio"]) else None
                     for t in pack["lines"]]
            light = [{k: t.get(k) for k in keep} for t in pack["lines"]]
            running[actor.run.remote(light, audio)] = (actor, pack)

        for actor in actors:
            for _ in range(IN_FLIGHT):
                if pending:
                    submit(actor)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            actor, pack = running.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayError as exc:
                results = [({"status": "failed", "seconds": 0.0,
                             "error": f"The Ray actor failed on this line or one packed with it "
                                      f"({type(exc).__name__}); see the Ray logs."}, None)
                           ] * len(pack["lines"])
                if isinstance(exc, ray.exceptions.RayActorError):     # it died: replace it
                    actors.remove(actor)
                    actor = actor_cls.remote(self.model, self.device, threads, fmt)
                    actors.append(actor)
            for task, (outcome, data) in zip(pack["lines"], results):
                on_result(task, store(cache, task, outcome, data))
            if pending:
                submit(actor)
        for facts, peak in zip(self.facts, ray.get([a.peak_rss_mb.remote() for a in actors])):
            facts["peak_rss_mb"] = peak
        for actor in actors:
            ray.kill(actor)
        return {"workers": count, "cpus_per_actor": self.cpus, "gpus_per_actor": self.gpus,
                "address": self.address}

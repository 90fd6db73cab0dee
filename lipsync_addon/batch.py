"""Headless lip sync: object/strip jobs on .blend files, a JSON summary on stdout.

    blender -b --factory-startup --python lipsync_addon/batch.py -- --blend scene.blend \\
        --object Face [--strip Dialogue] [--mapping arkit|FILE.json] [--lead-ms 30] \\
        [--output out.blend] [--curves DIR] [--keep-going] [--json]
    python lipsync_addon/batch.py --blend scene.blend --object Face ...   (the bpy module)

Repeat ``--object`` (and ``--strip``, paired in order; one strip serves every object) or give
``--jobs FILE.json`` (a list of {"object", "strip", "scene", "mapping", "lead_ms", "curves"}).

Every job is checked before any work starts (object, shape keys, mapping, strip and its sound,
curves file); without ``--keep-going`` one bad job stops the run before anything changes, with
it the good jobs run and are saved and each failure is listed. ``--curves DIR`` keys curves files
made by ``python -m inference batch`` (the job's "curves", else DIR/<strip name> or DIR/<sound
file stem> with .npz/.json/.csv) where present; a job with none runs the model as without
``--curves`` (the summary's "device" says which each job used), and ``--curves-only`` makes a
missing file that job's failure instead, so the model's worker is never started. ``--json``: stdout carries
the summary only (Blender's own lines, e.g. "Read blend", go to stderr); open the file with
``--blend`` then, since Blender prints the read of a file given before ``--python`` itself.

Farms (farm_templates/, docs/farm.md): ``--farm JOBS.json --chunk-size K --chunk I
--output-dir DIR`` runs chunk I of a farm job list ({"jobs": [{"blend", "scene", "object",
"strip", ...}]}, paths relative to the file). Chunks never split a .blend file, so two tasks
never write the same file; ``--plan`` prints the chunks (no bpy needed).

Exit codes: 0 every job done, 1 a job failed (the summary says which and why), 2 usage.

Run as a script, this file is not inside a package: it uses the installed and enabled Lip Sync
extension when there is one, else it loads its own repository (or extension folder) as a package
under a private name and registers it, so the relative imports of the add-on work either way.

Imports: bpy (inside run only), the add-on's own modules (through the package found above).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_NAME = "lipsync_batch"
CURVES_EXTENSIONS = (".npz", ".json", ".csv")
log = logging.getLogger("lipsync.batch")


class BatchError(Exception):
    """A failure of the whole run, reported as one line (exit code 1)."""


class UsageError(BatchError):
    """The command line asks for nothing or for something inconsistent (exit code 2)."""


def script_argv(argv: list[str]) -> list[str]:
    """The script's own arguments: after ``--`` under ``blender``, else after the script."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lipsync_addon/batch.py", description=__doc__.splitlines()[0])
    p.add_argument("--blend", help="open this .blend first")
    p.add_argument("--object", action="append", default=[], help="mesh object (repeatable)")
    p.add_argument("--strip", action="append", default=[], help="sound strip, paired with --object")
    p.add_argument("--scene", default="", help="scene of the --object jobs (default: the active)")
    p.add_argument("--jobs", help="JSON file (or inline JSON list): [{object, strip, scene, "
                                  "mapping, lead_ms, curves}]")
    p.add_argument("--farm", help="farm job list: {\"jobs\": [{blend, scene, object, strip, ...}]}")
    p.add_argument("--chunk", type=int, default=None, help="farm: the chunk to run (0-based)")
    p.add_argument("--chunk-size", type=int, default=4, help="farm: jobs per chunk (whole .blend "
                                                             "files; a bigger file is one chunk)")
    p.add_argument("--plan", action="store_true", help="farm: print the chunks and exit")
    p.add_argument("--output-dir", help="farm: save each .blend here under its own name")
    p.add_argument("--mapping", default="", help="preset name (arkit, vrm, ...) or mapping JSON")
    p.add_argument("--lead-ms", type=float, default=None, help="mouth lead in milliseconds")
    p.add_argument("--intensity", type=float, default=None)
    p.add_argument("--smoothing-ms", type=float, default=None)
    p.add_argument("--tolerance", type=float, default=None,
                   help="reduce keys within this tolerance (default: a key every frame)")
    p.add_argument("--nla", action="store_true", help="push each result into an NLA strip")
    p.add_argument("--add-missing-shape-keys", action="store_true",
                   help="add the mapping's shape keys a mesh lacks (empty, for sculpting later)")
    p.add_argument("--curves", help="folder of curves files to key where present (jobs without "
                   "one run the model)")
    p.add_argument("--curves-only", action="store_true",
                   help="with --curves: a job without a curves file fails; the model is never "
                        "loaded")
    p.add_argument("--keep-going", action="store_true",
                   help="run and save the jobs that can run; list each failure in the summary")
    p.add_argument("--json", action="store_true", help="stdout is the JSON summary only")
    p.add_argument("--output", help="save the result here (.blend); default: not saved")
    p.add_argument("--summary", help="also write the JSON summary to this file")
    p.add_argument("--model", help="model folder for the worker (default: the bundled model)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--python", help="interpreter for the worker")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def job_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    if args.jobs:
        try:
            text = args.jobs if args.jobs.lstrip().startswith("[") else \
                Path(args.jobs).read_text(encoding="utf-8")      # inline JSON (Flamenco tasks)
            data = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BatchError(f"Cannot read the job file {args.jobs!r} ({exc}).") from None
        if not isinstance(data, list) or not all(isinstance(j, dict) and "object" in j
                                                 for j in data):
            raise BatchError(f"The job file {args.jobs!r} must hold a list of objects, each with "
                             "an 'object' name.")
        jobs += data
    if args.curves_only and not args.curves:
        raise UsageError("--curves-only needs --curves DIR, the folder of curves files to key.")
    if args.strip and len(args.strip) not in (1, len(args.object)):
        raise UsageError(f"Give one --strip for all objects or one per --object "
                         f"({len(args.object)} objects, {len(args.strip)} strips).")
    for i, name in enumerate(args.object):
        strip = args.strip[i] if len(args.strip) > 1 else (args.strip[0] if args.strip else "")
        jobs.append({"object": name, "strip": strip, **({"scene": args.scene} if args.scene else {})})
    if not jobs:
        raise UsageError("Nothing to do; name a mesh with --object (or give --jobs FILE.json).")
    return jobs


# ----------------------------------------------------------------------------- farm chunks

def read_farm(path: str) -> list[dict[str, Any]]:
    """The farm job list, each job's "blend" (and "curves") resolved against the file's folder."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchError(f"Cannot read the farm job list {path!r} ({exc}).") from None
    jobs = data.get("jobs") if isinstance(data, dict) else data
    if not isinstance(jobs, list) or not jobs or not all(
            isinstance(j, dict) and j.get("blend") and j.get("object") for j in jobs):
        raise BatchError(f"The farm job list {path!r} must hold {{\"jobs\": [...]}}, each job with "
                         "a 'blend' file and an 'object'.")
    base = Path(path).resolve().parent
    return [{**j, "blend": str((base / j["blend"]).resolve())} for j in jobs]


def farm_chunks(jobs: list[dict[str, Any]], chunk_size: int) -> list[list[dict[str, Any]]]:
    """Jobs grouped by .blend (in order of first appearance), then whole groups packed into
    chunks of at most ``chunk_size`` jobs; a group bigger than that is a chunk of its own. The
    Flamenco job type (farm_templates/flamenco) applies the same rule."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        groups.setdefault(job["blend"], []).append(job)
    chunks: list[list[dict[str, Any]]] = []
    for group in groups.values():
        if chunks and len(chunks[-1]) + len(group) <= max(1, chunk_size):
            chunks[-1].extend(group)
        else:
            chunks.append(list(group))
    return chunks


# ----------------------------------------------------------------------------- Blender side

def addon_package() -> Any:
    """The Lip Sync package: the enabled extension if any, else this folder, registered."""
    for name, module in list(sys.modules.items()):
        if name.startswith("bl_ext.") and name.count(".") == 2 and name.endswith(".lipsync") \
                and hasattr(module, "lipsync_addon"):
            return module
    if PRIVATE_NAME in sys.modules:
        return sys.modules[PRIVATE_NAME]
    spec = importlib.util.spec_from_file_location(PRIVATE_NAME, ROOT / "__init__.py",
                                                  submodule_search_locations=[str(ROOT)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PRIVATE_NAME] = module
    spec.loader.exec_module(module)
    module.register()
    return module


class Addon:
    """The add-on's modules, imported once through :func:`addon_package`."""

    def __init__(self) -> None:
        pkg = addon_package()
        addon = pkg.__name__ + ".lipsync_addon"
        self.job: Any = importlib.import_module(addon + ".job")
        self.environment: Any = importlib.import_module(addon + ".environment")
        self.worker_client: Any = importlib.import_module(addon + ".worker_client")
        self.compat: Any = importlib.import_module(addon + ".compat")
        self.mapping_operators: Any = importlib.import_module(addon + ".mapping_operators")
        self.mapping: Any = importlib.import_module(pkg.__name__ + ".lipsync_core.mapping")
        self.curves: Any = importlib.import_module(pkg.__name__ + ".lipsync_core.curves")


def find_curves(folder: str, spec: dict[str, Any], strip: str, audio: str) -> Path:
    """The curves file of a job in ``folder``; BatchError with one sentence when there is none."""
    base = Path(folder)
    if spec.get("curves"):
        path = base / spec["curves"]
        if path.is_file():
            return path
        raise BatchError(f"The curves file {str(path)!r} named by the job does not exist; run "
                         "'python -m inference batch' on its audio first.")
    stems = [s for s in (strip, Path(audio).stem) if s]
    for stem in stems:
        for ext in CURVES_EXTENSIONS:
            if (base / f"{stem}{ext}").is_file():
                return base / f"{stem}{ext}"
    raise BatchError(f"No curves file for strip {strip!r} in {folder!r} (looked for "
                     f"{' or '.join(repr(s) for s in stems)} with .npz, .json or .csv); run "
                     "'python -m inference batch' on its audio first.")


def apply_settings(scene: Any, args: argparse.Namespace) -> None:
    settings = scene.lipsync
    for field, value in (("intensity", args.intensity), ("smoothing_ms", args.smoothing_ms),
                         ("lead_ms", args.lead_ms)):
        if value is not None:
            setattr(settings, field, value)
    if args.tolerance is not None:
        settings.density, settings.tolerance = "REDUCED", args.tolerance
    settings.use_nla = bool(args.nla)


def _failure(spec: dict[str, Any], error: str) -> dict[str, Any]:
    return {"status": "failed", "object": spec.get("object"), "strip": spec.get("strip", ""),
            "scene": spec.get("scene", ""), "error": error}


def run_jobs(a: Addon, args: argparse.Namespace, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check every job, then run those that passed (all or none without --keep-going).
    Returns one report per job, in order: {"status": "done", ...} or {"status": "failed", ...}."""
    import bpy

    checked: list[tuple[dict[str, Any], Any, Any, Path | None] | dict[str, Any]] = []
    for spec in jobs:                                 # every job checked before any work starts
        scene = bpy.data.scenes.get(spec["scene"]) if spec.get("scene") else bpy.context.scene
        obj = bpy.data.objects.get(spec["object"])
        try:
            if scene is None:
                raise BatchError(f"There is no scene named {spec['scene']!r} in "
                                 f"{bpy.data.filepath or 'the open file'}.")
            if obj is None:
                raise BatchError(f"There is no object named {spec['object']!r} in "
                                 f"{bpy.data.filepath or 'the open file'}.")
            apply_settings(scene, args)
            chosen = spec.get("mapping", args.mapping)
            if args.add_missing_shape_keys and obj.type == "MESH":
                table = a.mapping.load_preset(chosen or "arkit")
                a.mapping_operators.add_shape_keys(obj, list(table.shape_keys))
                chosen = chosen or "arkit"
            sound_scene = scene if scene.sequence_editor is not None else \
                a.compat.sequencer_scene(bpy.context)
            job = a.job.prepare(scene, obj, spec.get("strip", ""), spec.get("lead_ms", args.lead_ms),
                                chosen, sound_scene)
            curves_path = None
            if args.curves:
                try:
                    curves_path = find_curves(args.curves, spec, job.source.name,
                                              job.source.audio_path)
                except BatchError as missing:
                    if args.curves_only:
                        job.cleanup()
                        raise
                    log.info("%s; running the model for it", missing)
            checked.append((spec, obj, job, curves_path))
        except (BatchError, a.job.InputError, a.mapping.MappingError) as exc:
            checked.append(_failure(spec, str(exc)))
    bad = [c for c in checked if isinstance(c, dict)]
    if bad and not args.keep_going:
        for c in checked:
            if not isinstance(c, dict):
                c[2].cleanup()
        return [c if isinstance(c, dict) else
                _failure(c[0], f"{c[0]['object']!r} was not run: another job failed its "
                                     "check (use --keep-going to run the others).") for c in checked]
    reports: list[dict[str, Any]] = []
    stop: str | None = None
    try:
        for item in checked:
            if isinstance(item, dict):
                reports.append(item)
                continue
            spec, obj, job, curves_path = item
            if stop:
                job.cleanup()
                reports.append(_failure(spec, f"{spec['object']!r} {stop}"))
                continue
            try:
                reports.append({"status": "done", "scene": job.source.scene_name,
                                **run_one(a, job, obj, curves_path)})
            except BatchError as exc:
                reports.append(_failure(spec, str(exc)))
                if not args.keep_going:
                    stop = "was not run: an earlier job failed (use --keep-going to run the others)."
            finally:
                job.cleanup()
    finally:
        a.worker_client.shutdown_worker()
    return reports


def run_one(a: Addon, job: Any, obj: Any, curves_path: Path | None) -> dict[str, Any]:
    """Key one checked job, from its curves file or from the model's worker."""
    try:
        if curves_path is not None:
            curves = a.curves.read_curves(curves_path)
            report = a.job.finish(job, obj, {"curves": curves.to_dict()},
                                  f"curves file {curves_path.name}")
        else:
            worker = a.worker_client.get_worker(a.environment.worker_config())
            req = job.request()
            result = worker.run(req["audio"], req["start"], req["end"], req["fps"])
            report = a.job.finish(job, obj, result, str(worker.hello.get("device")))
    except (a.environment.EnvironmentMissing, a.job.InputError, a.curves.CurvesError) as exc:
        raise BatchError(str(exc)) from None
    except a.worker_client.WorkerError as exc:
        if exc.code == "crashed":
            a.worker_client.shutdown_worker()
        raise BatchError(str(exc)) from None
    return report.as_dict()


def open_blend(path: str) -> None:
    import bpy
    if not os.path.isfile(path):
        raise BatchError(f"The .blend file {path!r} does not exist.")
    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path))


def save_blend(path: str) -> str:
    import bpy
    output = os.path.abspath(path)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=output, copy=True)
    return output


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.python:
        os.environ["LIPSYNC_PYTHON"] = args.python
    if args.model:
        os.environ["LIPSYNC_MODEL"] = os.path.abspath(args.model)
    if args.device:
        os.environ["LIPSYNC_DEVICE"] = args.device
    if args.farm:
        return run_farm(args)
    jobs = job_list(args)
    if args.blend:
        open_blend(args.blend)
    a = Addon()
    reports = run_jobs(a, args, jobs)
    done = [r for r in reports if r["status"] == "done"]
    # --keep-going saves even when nothing succeeded: the next chained farm task opens this file
    output = save_blend(args.output) if args.output and \
        (args.keep_going or len(done) == len(reports)) else None
    return {"ok": len(done) == len(reports), "jobs": reports, "failed": len(reports) - len(done),
            "output": output}


def run_farm(args: argparse.Namespace) -> dict[str, Any]:
    chunks = farm_chunks(read_farm(args.farm), args.chunk_size)
    if args.chunk is None or not 0 <= args.chunk < len(chunks):
        raise UsageError(f"--chunk must be 0 to {len(chunks) - 1} for this farm job list "
                         f"({len(chunks)} chunks of up to {args.chunk_size} jobs).")
    if not args.output_dir:
        raise UsageError("Give --output-dir: each .blend of the chunk is saved there.")
    files, reports = [], []
    for blend, group in _by_blend(chunks[args.chunk]):
        try:
            open_blend(blend)
        except BatchError as exc:
            reports += [{**_failure(j, str(exc)), "blend": blend} for j in group]
            continue
        a = Addon()
        results = run_jobs(a, args, group)
        reports += [{**r, "blend": blend} for r in results]
        done = [r for r in results if r["status"] == "done"]
        if done and (args.keep_going or len(done) == len(results)):
            files.append(save_blend(os.path.join(args.output_dir, os.path.basename(blend))))
    failed = sum(r["status"] != "done" for r in reports)
    return {"ok": failed == 0, "chunk": args.chunk, "jobs": reports, "failed": failed,
            "files": files}


def _by_blend(jobs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        groups.setdefault(job["blend"], []).append(job)
    return list(groups.items())


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """Send everything written to stdout (Python's and Blender's C code's) to stderr."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    old, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = old


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(script_argv(list(sys.argv if argv is None else argv)))
    except SystemExit as exc:                    # argparse: usage error or --help
        return int(exc.code or 0) if exc.code in (0, None) else 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.farm and args.plan:
        try:
            chunks = farm_chunks(read_farm(args.farm), args.chunk_size)
        except BatchError as exc:
            print(f"lipsync batch: {exc}", file=sys.stderr)
            return 1
        print(json.dumps({"chunks": len(chunks), "range": f"0-{len(chunks) - 1}",
                          "blends": [sorted({j["blend"] for j in c}) for c in chunks]}, indent=1))
        return 0
    with stdout_to_stderr(args.json):
        try:
            summary = run(args)
            code = 0 if summary["ok"] else 1
        except BatchError as exc:
            print(f"lipsync batch: {exc}", file=sys.stderr)
            summary = {"ok": False, "error": str(exc)}
            code = 2 if isinstance(exc, UsageError) else 1
        failures = [r for r in summary.get("jobs", []) if r["status"] != "done"]
        failures.sort(key=lambda r: "was not run:" not in r["error"])   # the causes last
        for report in failures:                              # one line each
            print(f"lipsync batch: {report['error']}", file=sys.stderr)
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    print(text)
    sys.stdout.flush()
    if args.summary:
        write_text_atomic(Path(args.summary), text + "\n")
    return code


def write_text_atomic(path: Path, text: str) -> None:
    """Through the project's one atomic write (lipsync_core.atomic.write_bytes_atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic = importlib.import_module(addon_package().__name__ + ".lipsync_core.atomic")
    atomic.write_bytes_atomic(path, text.encode("utf-8"))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.exit(code)

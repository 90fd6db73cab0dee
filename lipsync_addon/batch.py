"""Headless lip sync: several object/strip jobs on a .blend, a JSON summary on stdout.

    blender -b scene.blend --python lipsync_addon/batch.py -- --object Face [--strip Dialogue]
        [--mapping arkit|FILE.json] [--lead-ms 30] [--output out.blend]
    python lipsync_addon/batch.py --blend scene.blend --object Face ...   (the bpy module)

Repeat ``--object`` (and ``--strip``, paired in order; one strip serves every object) or give
``--jobs FILE.json`` (a list of {"object", "strip", "mapping", "lead_ms"}). Exit codes: 0 every
job done, 1 a job failed (one line on stderr; the file is not saved), 2 usage.

Run as a script, this file is not inside a package: it uses the installed and enabled Lip Sync
extension when there is one, else it loads its own repository (or extension folder) as a package
under a private name and registers it, so the relative imports of the add-on work either way.

Imports: bpy, the add-on's own modules (through the package found above).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_NAME = "lipsync_batch"
log = logging.getLogger("lipsync.batch")


class BatchError(Exception):
    """A failure to report as one line (exit code 1)."""


class UsageError(BatchError):
    """The command line asks for nothing or for something inconsistent (exit code 2)."""


def script_argv(argv: list[str]) -> list[str]:
    """The script's own arguments: after ``--`` under ``blender``, else after the script."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lipsync_addon/batch.py", description=__doc__.splitlines()[0])
    p.add_argument("--blend", help="open this .blend first (bpy module mode)")
    p.add_argument("--object", action="append", default=[], help="mesh object (repeatable)")
    p.add_argument("--strip", action="append", default=[], help="sound strip, paired with --object")
    p.add_argument("--jobs", help="JSON file: a list of {object, strip, mapping, lead_ms}")
    p.add_argument("--mapping", default="", help="preset name (arkit, vrm, ...) or mapping JSON")
    p.add_argument("--lead-ms", type=float, default=None, help="mouth lead in milliseconds")
    p.add_argument("--intensity", type=float, default=None)
    p.add_argument("--smoothing-ms", type=float, default=None)
    p.add_argument("--tolerance", type=float, default=None,
                   help="reduce keys within this tolerance (default: a key every frame)")
    p.add_argument("--nla", action="store_true", help="push each result into an NLA strip")
    p.add_argument("--add-missing-shape-keys", action="store_true",
                   help="add the mapping's shape keys a mesh lacks (empty, for sculpting later)")
    p.add_argument("--output", help="save the result here (.blend); default: not saved")
    p.add_argument("--summary", help="also write the JSON summary to this file (Blender prints "
                                     "its own lines on stdout too)")
    p.add_argument("--model", help="checkpoint folder (default: the bundled model)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--python", help="interpreter with torch for the worker")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def job_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    if args.jobs:
        try:
            data = json.loads(Path(args.jobs).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BatchError(f"Cannot read the job file {args.jobs!r} ({exc}).") from None
        if not isinstance(data, list) or not all(isinstance(j, dict) and "object" in j
                                                 for j in data):
            raise BatchError(f"The job file {args.jobs!r} must hold a list of objects, each with "
                             "an 'object' name.")
        jobs += data
    if args.strip and len(args.strip) not in (1, len(args.object)):
        raise UsageError(f"Give one --strip for all objects or one per --object "
                         f"({len(args.object)} objects, {len(args.strip)} strips).")
    for i, name in enumerate(args.object):
        strip = args.strip[i] if len(args.strip) > 1 else (args.strip[0] if args.strip else "")
        jobs.append({"object": name, "strip": strip})
    if not jobs:
        raise UsageError("Nothing to do; name a mesh with --object (or give --jobs FILE.json).")
    return jobs


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


def run(args: argparse.Namespace) -> dict[str, Any]:
    import bpy

    if args.python:
        os.environ["LIPSYNC_PYTHON"] = args.python
    if args.model:
        os.environ["LIPSYNC_MODEL"] = os.path.abspath(args.model)
    if args.device:
        os.environ["LIPSYNC_DEVICE"] = args.device
    jobs = job_list(args)
    if args.blend:
        if not os.path.isfile(args.blend):
            raise BatchError(f"The .blend file {args.blend!r} does not exist.")
        bpy.ops.wm.open_mainfile(filepath=os.path.abspath(args.blend))
    pkg = addon_package()
    addon = importlib.import_module(pkg.__name__ + ".lipsync_addon")
    job_mod = importlib.import_module(addon.__name__ + ".job")
    environment = importlib.import_module(addon.__name__ + ".environment")
    worker_client = importlib.import_module(addon.__name__ + ".worker_client")
    compat = importlib.import_module(addon.__name__ + ".compat")
    mapping_ops = importlib.import_module(addon.__name__ + ".mapping_operators")
    mapping = importlib.import_module(pkg.__name__ + ".lipsync_core.mapping")

    scene: Any = bpy.context.scene
    settings = scene.lipsync
    for field, value in (("intensity", args.intensity), ("smoothing_ms", args.smoothing_ms),
                         ("lead_ms", args.lead_ms)):
        if value is not None:
            setattr(settings, field, value)
    if args.tolerance is not None:
        settings.density, settings.tolerance = "REDUCED", args.tolerance
    settings.use_nla = bool(args.nla)

    for spec in jobs:                           # every name checked before any work starts
        if bpy.data.objects.get(spec["object"]) is None:
            raise BatchError(f"There is no object named {spec['object']!r} in "
                             f"{bpy.data.filepath or 'the open file'}.")
    reports: list[dict[str, Any]] = []
    try:
        for spec in jobs:
            obj = bpy.data.objects.get(spec["object"])
            if obj is None:
                raise BatchError(f"There is no object named {spec['object']!r} in "
                                 f"{bpy.data.filepath or 'the open file'}.")
            chosen = spec.get("mapping", args.mapping)
            if args.add_missing_shape_keys and obj.type == "MESH":
                table = mapping.load_preset(chosen or "arkit")
                mapping_ops.add_shape_keys(obj, list(table.shape_keys))
                chosen = chosen or "arkit"
            lead = spec.get("lead_ms", args.lead_ms)
            sound_scene = scene if scene.sequence_editor is not None else \
                compat.sequencer_scene(bpy.context)
            try:
                job = job_mod.prepare(scene, obj, spec.get("strip", ""), lead, chosen, sound_scene)
            except job_mod.InputError as exc:
                raise BatchError(str(exc)) from None
            try:
                worker = worker_client.get_worker(environment.worker_config())
                req = job.request()
                result = worker.run(req["audio"], req["start"], req["end"], req["fps"])
                report = job_mod.finish(job, obj, result, str(worker.hello.get("device")))
            except (environment.EnvironmentMissing, job_mod.InputError) as exc:
                raise BatchError(str(exc)) from None
            except worker_client.WorkerError as exc:
                if exc.code == "crashed":
                    worker_client.shutdown_worker()
                raise BatchError(str(exc)) from None
            finally:
                job.cleanup()
            reports.append(report.as_dict())
    finally:
        worker_client.shutdown_worker()

    output = None
    if args.output:
        output = os.path.abspath(args.output)
        os.makedirs(os.path.dirname(output), exist_ok=True)
        bpy.ops.wm.save_as_mainfile(filepath=output, copy=True)
    return {"ok": True, "jobs": reports, "output": output}


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(script_argv(list(sys.argv if argv is None else argv)))
    except SystemExit as exc:                    # argparse: usage error or --help
        return int(exc.code or 0) if exc.code in (0, None) else 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        summary = run(args)
        code = 0
    except BatchError as exc:
        print(f"lipsync batch: {exc}", file=sys.stderr)
        summary = {"ok": False, "error": str(exc)}
        code = 2 if isinstance(exc, UsageError) else 1
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    print(text)
    if args.summary:
        write_text_atomic(Path(args.summary), text + "\n")
    return code


def write_text_atomic(path: Path, text: str) -> None:
    import tempfile
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.exit(code)

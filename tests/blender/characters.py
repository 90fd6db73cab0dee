"""Real characters other people made, keyed by the add-on and measured as geometry.

What it measures, in the *evaluated* mesh (lip_probe.py says how): the gap between the upper
and the lower lip at the midline, and the mouth's width between its corners, calibrated from
the rig's own poses (rest, the artist's closed lips, open mouth, rounded lips and f/v).

On real speech every p/b/m phone must reach the closed range on one of its frames, every open
vowel must open, and no frame may go through; every rounded vowel should narrow the mouth and
every f/v bring the lower lip up to where the rig's own f/v pose puts it. The speech is either
the demo clips (assets/demo/speech_*.wav with their .phones.json) or a held-out set of human
speech (a manifest.jsonl of .wav + phone-timing JSON, ARPAbet or Open JTalk);
tests/blender/speech_clips.py reads both into one phone set and predicts each clip's curves
once (cached). Every clip goes through the same step, :func:`measure_clip`; character_tally.py
pools the figures per split, language, character and preset and lists each miss with the
curves' values there;
character_sheets.py renders and lays out sheets. The characters are NOT in the repository
(their licences do not allow it): docs/characters.md says where each comes from; they are
looked for in ``$LIPSYNC_CHARACTERS`` (default ``~/.cache/lipsync-characters``) and tests skip
without them.

Run as a script for the figures and renders (one command; ``--runtime`` picks the model)::

    .venv/bin/python tests/blender/characters.py                     # demo clips, 4 cases
    .venv/bin/python tests/blender/characters.py --clips data/heldout \
        --runtime assets/runtime --out out/characters --json out/characters.json
    .venv/bin/python tests/blender/characters.py --character rpm --preset arkit --lang en \
        --curves /tmp/en.json --convention table                       # the old table

Imports: bpy, numpy, the add-on loaded from the repository (blender_process), speech_clips,
character_tally, character_sheets (rekey_bench for --bench).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from character_tally import Tally, markdown  # noqa: E402
from lip_probe import Probe, calibrate, evaluated_world, pose_world  # noqa: E402
from speech_clips import (CLASSES, DEFAULT_CACHE, DEFAULT_RUNTIME, Clip, classes_of,  # noqa: E402
                          curves_for, demo_clip, load_clips, target_curves_for)

log = logging.getLogger("characters")

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LIPSYNC_CHARACTERS", Path.home() / ".cache" / "lipsync-characters"))

# name -> file, meshes to key, the rig's closed/open poses, a lip-rounding shape (to find the
# lips), and its rounded-lips and f/v poses (lip_probe.calibrate)
CHARACTERS = {
    "rpm": {"file": "talkinghead-brunette-t.glb", "head": "Wolf3D_Head",
            "meshes": ["Wolf3D_Head", "Wolf3D_Teeth"],
            "closed": {"viseme_PP": 1.0}, "open": {"viseme_aa": 1.0}, "round": "mouthFunnel",
            "rounded": {"viseme_U": 1.0}, "fv": {"viseme_FF": 1.0}},
    "vroid": {"file": "talkinghead-vroid-decoded.glb", "head": "Face", "meshes": ["Face"],
              "closed": {"Fcl_MTH_Close": 1.0}, "open": {"Fcl_MTH_A": 1.0},
              "round": "Fcl_MTH_U", "rounded": {"Fcl_MTH_U": 1.0}, "fv": {"viseme_FF": 1.0}},
    # three.js's Face Cap head: 52 ARKit keys under Face Cap's names (mouthSmile_L, ...), a
    # separate teeth mesh that no key moves; fetched from PyPI by registry_characters.py, so
    # CI measures it too. ARKit's own poses: a seal is mouthClose as far as jawOpen.
    "facecap": {"file": "facecap.glb", "head": "Mesh_2", "meshes": ["Mesh_2"],
                "closed": {"jawOpen": 0.3, "mouthClose": 0.3}, "open": {"jawOpen": 1.0},
                "round": "mouthFunnel", "rounded": {"mouthPucker": 1.0},
                "fv": {"mouthRollLower": 1.0}, "fv_stand_in": True},   # no artist's f/v pose
    # the bundled script-built ARKit head (assets/demo/face.blend; in the repository)
    "demo": {"file": str(ROOT / "assets" / "demo" / "face.blend"), "head": "Face",
             "meshes": ["Face"], "closed": {"jawOpen": 0.3, "mouthClose": 0.3},
             "open": {"jawOpen": 1.0}, "round": "mouthFunnel", "rounded": {"mouthPucker": 1.0},
             "fv": {"mouthRollLower": 1.0}},
}
DEFAULT_PRESET = {"rpm": "arkit", "vroid": "vroid", "facecap": "arkit", "demo": "arkit"}
DEFAULT_CASES = (("rpm", "arkit"), ("rpm", "oculus"), ("vroid", "vroid"), ("facecap", "arkit"))


def character_file(name: str) -> Path | None:
    path = CACHE / CHARACTERS[name]["file"]          # an absolute "file" stays as it is
    return path if path.is_file() else None


@dataclass
class Result:
    per_class: dict = field(default_factory=dict)     # class -> (passed, total)
    through: int = 0                                  # frames with the lips through each other
    frames: int = 0
    picks: dict = field(default_factory=dict)         # class -> frames to render
    outcomes: dict = field(default_factory=dict)      # class -> {(phone, start, end): passed}
    details: list = field(default_factory=list)       # one dict per measured phone

    def rate(self, name: str) -> float:
        ok, n = self.per_class.get(name, (0, 0))
        return ok / n if n else float("nan")


def phone_frames(timing, lead_s: float, start: float, end: float, frames) -> list[int]:
    """The scene frames (of ``frames``) that show a phone from ``start`` to ``end`` s: those
    inside it, else the one nearest its middle."""
    fa = int(np.ceil(timing.frame_of(start, lead_s)))
    fb = int(np.floor(timing.frame_of(end, lead_s)))
    return [f for f in range(fa, fb + 1) if f in frames] or \
        [f for f in [int(round(timing.frame_of((start + end) / 2, lead_s)))] if f in frames]


def keyplan_of(timing, lead_s: float):
    """The job plan (lipsync_core.keyplan.Plan) of a strip's timing and lead."""
    from lipsync_repo.lipsync_core import keyplan
    return keyplan.plan(timing, lead_s * 1000.0)


PLAYED = ("mouth_close", "jaw_open", "lip_roll_lower", "lip_pucker")


def played_params(curves: Path, timing, lead_s: float) -> dict[int, dict[str, float]]:
    """{scene frame: the PLAYED parameters the scene plays there}: the curves put on the integer
    frames exactly as the add-on keys them (lipsync_core.keyplan)."""
    from lipsync_repo.lipsync_core import keyplan
    from lipsync_repo.lipsync_core.curves import read_curves
    from lipsync_repo.lipsync_core.params import index_of
    c = read_curves(curves)
    job = keyplan.plan(timing, lead_s * 1000.0)
    on = keyplan.curves_on_frames(c.frames, c.fps, c.start_time, timing, job)   # (N, 26)
    cols = {name: index_of(name) for name in PLAYED}
    return {job.first_frame + k: {name: float(row[i]) for name, i in cols.items()}
            for k, row in enumerate(on)}


def measure(bpy, scene, obj, probe: Probe, timing, lead_s: float, segments) -> Result:
    """Lip gaps and mouth widths over every keyed frame, judged per phone class (module
    docstring); ``segments`` are (internal phone, start_s, end_s), classed by
    speech_clips.classes_of."""
    first, last = scene.frame_start, scene.frame_end
    gaps, widths = {}, {}
    for f in range(first, last + 1):
        scene.frame_set(f)
        world = evaluated_world(bpy, obj)
        gaps[f], widths[f] = probe.gap(world), probe.width(world)
    lo, hi = probe.closed_range
    result = Result(through=sum(g < lo for g in gaps.values()), frames=len(gaps))
    for cls in CLASSES:
        result.per_class[cls], result.picks[cls], result.outcomes[cls] = (0, 0), [], {}
    for phone, a, b in segments:
        span = phone_frames(timing, lead_s, a, b, gaps)
        for cls in classes_of(phone) if span else ():
            if cls == "pbm":                    # the most closed frame
                best = min(span, key=gaps.get)
                passed = gaps[best] <= hi
            elif cls == "fv":                   # the most closed frame: the lip on the teeth
                best = min(span, key=gaps.get)
                passed = gaps[best] <= probe.fv_limit
            elif cls == "round":                # the narrowest frame
                best = min(span, key=widths.get)
                passed = widths[best] <= probe.round_limit
            else:                               # open vowels: the most open frame
                best = max(span, key=gaps.get)
                passed = gaps[best] >= probe.open_threshold
            ok, n = result.per_class[cls]
            result.per_class[cls] = (ok + passed, n + 1)
            result.outcomes[cls][(phone, a, b)] = bool(passed)
            result.picks[cls].append(best)
            result.details.append({"class": cls, "phone": phone, "start": a, "end": b,
                                   "frame": best, "gap_mm": gaps[best] * 1e3,
                                   "width_mm": widths[best] * 1e3, "passed": bool(passed)})
    return result


def build_scene(bpy, pkg, name: str, preset: str, wav: Path, curves, fps: int = 24,
                convention: str | None = None, lead_ms: float | None = None):
    """Import the character, key it from ``curves`` with ``preset``; (scene, head, probe, job
    timing, lead s, the curves file keyed). ``curves`` is a file, or a function of the strip's
    job plan (lipsync_core.keyplan.Plan) that gives one (the curves Generate would ask for)."""
    spec = CHARACTERS[name]
    path = character_file(name)
    if path.suffix == ".blend":                      # its own scene, without its strips
        bpy.ops.wm.open_mainfile(filepath=str(path))
        se = bpy.context.scene.sequence_editor
        if se is not None:
            strips = se.strips if hasattr(se, "strips") else se.sequences
            for strip in list(strips):
                strips.remove(strip)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_scene.gltf(filepath=str(path))
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1
    head = bpy.data.objects[spec["head"]]
    probe = calibrate(bpy, head, spec)
    for o in bpy.context.view_layer.objects:
        o.select_set(o.name in spec["meshes"])
    bpy.context.view_layer.objects.active = head
    for mesh in spec["meshes"]:
        bpy.context.view_layer.objects.active = bpy.data.objects[mesh]
        bpy.ops.lipsync.load_preset(preset=preset)
        if convention:
            bpy.data.objects[mesh].lipsync.convention = convention
    bpy.context.view_layer.objects.active = head
    se = scene.sequence_editor_create()
    strips = se.strips if hasattr(se, "strips") else se.sequences
    strip = strips.new_sound("Dialogue", str(wav), 1, 1)
    se.active_strip = strip
    from lipsync_repo.lipsync_addon import strip_source
    from lipsync_repo.lipsync_core import keyplan
    if lead_ms is not None:                          # milliseconds, + = mouth early
        scene.lipsync.lead_ms = lead_ms
    timing = strip_source.read_strip(scene).timing
    plan = keyplan.plan(timing, scene.lipsync.lead_ms)
    curves = Path(curves(plan) if callable(curves) else curves)
    result = bpy.ops.lipsync.import_curves(filepath=str(curves))
    assert result == {"FINISHED"}, scene.lipsync.last_report
    scene.frame_start, scene.frame_end = plan.first_frame, plan.last_frame
    return scene, head, probe, timing, plan.lead_s, curves


def mouth_centre(bpy, obj, probe: Probe) -> np.ndarray:
    """World position of the lips at rest (for the camera), metres."""
    world = pose_world(bpy, obj, {})
    return world[np.r_[probe.upper, probe.lower]].mean(axis=0)


def measure_clip(bpy, pkg, case: tuple[str, str], clip: Clip, curves,
                 convention: str | None = None, fps: int = 24,
                 lead_ms: float | None = None):
    """Key ``case`` = (character, preset) from ``curves`` of ``clip`` and measure it: the one
    per-clip step of the demo and the held-out runs; each measured phone also gets the
    mouth_close / jaw_open its frame plays. ``curves``: as build_scene takes it; ``fps``: the
    scene's frame rate (frames per second).
    (result, scene, head, probe, timing, lead)."""
    scene, head, probe, timing, lead, curves = build_scene(bpy, pkg, case[0], case[1], clip.wav,
                                                           curves, fps=fps, convention=convention,
                                                           lead_ms=lead_ms)
    res = measure(bpy, scene, head, probe, timing, lead, clip.segments)
    played = played_params(curves, timing, lead)
    for d in res.details:
        d["played"] = played[d["frame"]]
    return res, scene, head, probe, timing, lead


def run_clips(bpy, pkg, cases, clips, runtime: Path, cache: Path, out: Path | None,
              convention: str | None = None, curves: Path | None = None,
              per_class: int = 3, as_generate: bool = False, targets: bool = False,
              fps: int = 24, lead_ms: float | None = None) -> dict:
    """Measure every case on every clip (curves predicted once per clip, cached); with ``out``,
    render every miss and a few passes per class and language, laid out in sheets. Curves: the
    whole file at the model's 50 fps, imported (Import Curves), or with ``as_generate`` what
    Generate asks the model for (the strip's audio from the first keyed frame's time, at the
    scene rate: no resampling or sub-frame shift on import), or with ``targets`` the
    articulation targets of each clip's phones instead of a model's curves.
    {(split, lang, character, preset): Tally}."""
    from character_sheets import compose_sheet, pick_frames, render
    tallies: dict = {}
    for case in cases:
        taken: dict = {}
        cells: dict = {}                       # (split, lang, class) -> sheet cells
        for clip in clips:
            if curves or targets:
                path = curves or target_curves_for(clip, cache)
            elif as_generate:
                path = (lambda plan, clip=clip: curves_for(clip, runtime, cache, plan.start,
                                                           plan.end, plan.fps))
            else:
                path = curves_for(clip, runtime, cache)
            res, scene, head, probe, timing, lead = measure_clip(bpy, pkg, case, clip, path,
                                                                 convention, fps, lead_ms)
            if callable(path):
                path = path(keyplan_of(timing, lead))
            tally = tallies.setdefault((clip.split, clip.lang, *case), Tally())
            tally.add(clip, res, path)
            tally.calibration = probe.millimetres()
            log.info("%s %s/%s: %s, through %d", clip.id, *case, res.per_class, res.through)
            if out is None:
                continue
            alike = sum(c.split == clip.split and c.lang == clip.lang for c in clips)
            picks = pick_frames(res.details, clip, taken, per_class, 1 if alike > 1 else per_class)
            pngs = render(bpy, scene, {k: f for k, (f, _) in picks.items()},
                          out / "frames" / f"{case[0]}_{case[1]}", mouth_centre(bpy, head, probe),
                          size=232, scale=probe.scale)
            for label, (f, d) in picks.items():
                cells.setdefault((clip.split, clip.lang, d["class"]), []).append(
                    {"png": pngs[label], "passed": d["passed"],
                     "label": f"{clip.id} /{d['phone']}/ {d['start']:.2f}-{d['end']:.2f} s, "
                              f"frame {f}, gap {d['gap_mm']:+.2f} mm"})
        for split, lang in sorted({(s, lg) for s, lg, _ in cells}):
            rows = [(cls, cells.get((split, lang, cls), [])) for cls in CLASSES]
            print(compose_sheet(bpy, rows, out / f"sheet_{case[0]}_{case[1]}_{split}_{lang}.png"))
    return tallies


def parse_cases(args) -> list[tuple[str, str]]:
    if args.character or args.preset:
        char = args.character or "rpm"
        return [(char, args.preset or DEFAULT_PRESET[char])]
    return [tuple(c.split(":")) for c in args.cases.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Key real characters from the model's curves "
                                     "of phone-timed speech and measure their lips.")
    parser.add_argument("--character", choices=sorted(CHARACTERS),
                        help="one character (default: every case of --cases)")
    parser.add_argument("--preset", default=None, help="its preset (default: its own)")
    parser.add_argument("--cases", default=",".join(f"{c}:{p}" for c, p in DEFAULT_CASES),
                        help="character:preset,... (default %(default)s)")
    parser.add_argument("--convention", default=None, help="override (e.g. table: the old way)")
    parser.add_argument("--clips", type=Path, default=None, help="held-out set: a manifest.jsonl "
                        "or a folder (default: the demo clips of --lang)")
    parser.add_argument("--split", default=None, help="only these splits of --clips, comma "
                        "separated (default: all, each reported on its own)")
    parser.add_argument("--lang", default=None, choices=["en", "ja"],
                        help="demo clip language (default: both)")
    parser.add_argument("--curves", type=Path, default=None,
                        help="curves of the one demo clip (default: predicted with --runtime)")
    parser.add_argument("--runtime", type=Path, default=DEFAULT_RUNTIME,
                        help="model for predict --model (default %(default)s)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where predicted curves are kept (default %(default)s)")
    parser.add_argument("--as-generate", action="store_true", help="curves as Generate asks "
                        "for them (the strip's audio at the scene rate) instead of predict's "
                        "whole-file 50 fps curves imported")
    parser.add_argument("--targets", action="store_true", help="key the articulation targets "
                        "of each clip's phones instead of a model's curves: what a model that "
                        "learnt its targets exactly would show (the ceiling of the measure)")
    parser.add_argument("--fps", type=int, default=24, help="the scene's frame rate (default "
                        "%(default)s): a phone counts on the frames inside it at this rate")
    parser.add_argument("--lead-ms", type=float, default=None, help="the add-on's Lead in "
                        "milliseconds (default: the add-on's own default)")
    parser.add_argument("--out", type=Path, default=None, help="folder for renders and sheets")
    parser.add_argument("--json", type=Path, default=None, help="write the figures and misses")
    parser.add_argument("--bench", action="store_true",
                        help="time Re-key (kept curves, no model) after changing the intensity")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(Path.home() / ".cache" / "lipsync-bpy"))
    cases = parse_cases(args)
    for char, _ in cases:
        if char not in CHARACTERS or character_file(char) is None:
            raise SystemExit(f"Character {char!r} is unknown or not in {CACHE}; see "
                             "docs/characters.md.")
    if args.clips:
        clips = load_clips(args.clips, tuple(args.split.split(",")) if args.split else None)
    else:
        clips = [demo_clip(lang) for lang in ([args.lang] if args.lang else ["en", "ja"])]
    if args.targets and (args.curves or args.as_generate):
        raise SystemExit("--targets keys the phones' own targets; drop --curves and "
                         "--as-generate.")
    if args.curves and len(clips) != 1:
        raise SystemExit("--curves is for one demo clip; give --lang too (or drop --curves).")
    import bpy
    from blender_process import load_repo_package
    pkg = load_repo_package()
    pkg.register()
    try:
        tallies = run_clips(bpy, pkg, cases, clips, args.runtime, args.cache, args.out,
                            args.convention, args.curves, as_generate=args.as_generate,
                            targets=args.targets, fps=args.fps, lead_ms=args.lead_ms)
        figures = [{"split": k[0], "lang": k[1], "character": k[2], "preset": k[3],
                    **t.figures(), "misses": t.misses} for k, t in sorted(tallies.items())]
        if args.bench:
            from rekey_bench import bench_rekey
            figures.append({"rekey_s": bench_rekey(bpy, bpy.context.scene)})
        print(markdown(tallies))
        if args.json:
            args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n",
                                 encoding="utf-8")
    finally:
        pkg.unregister()
    return 0


if __name__ == "__main__":
    sys.exit(main())

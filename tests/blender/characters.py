"""Real characters other people made, keyed by the add-on and measured as geometry.

What it measures, in the *evaluated* mesh (shape keys, armature and all, world space, Z up as
Blender's glTF importer gives it): the gap between the upper and the lower lip at the midline,
metres, positive = apart. The lip vertices come from the rig's own shapes: midline vertices that
a lip-rounding shape moves are lips; of those, the ones the rig's open shape moves down by more
than half of the most are the lower lip, those it hardly moves the upper lip. The gap is the
upper lip's lowest point minus the lower lip's highest.

Calibrated from the rig's own poses: rest (the basis), the artist's closed lips (viseme_PP or
Fcl_MTH_Close; an ARKit-only rig: mouthClose = jawOpen = 0.3) and the artist's open mouth
(viseme_aa, Fcl_MTH_A, jawOpen). Closed range = [min(rest, closed) - m, max(rest, closed) + m]
with m = 10 % of the open gap; "open" = above the closed range by 20 % of the open gap; "through
each other" = below the closed range.

On real speech (assets/demo/speech_*.wav, their .phones.json timings, curves from the model)
every p/b/m phone must reach the closed range on one of its frames, every open vowel must open,
and no frame may go through. The characters are NOT in the repository (their licences do not
allow it): docs/characters.md says where each comes from; they are looked for in
``$LIPSYNC_CHARACTERS`` (default ``~/.cache/lipsync-characters``) and tests skip without them.

Run as a script for the figures and renders::

    .venv/bin/python tests/blender/characters.py --character rpm --preset arkit --lang en \
        --curves /tmp/en.json --out out/characters

Imports: bpy, numpy, the add-on loaded from the repository (blender_process).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LIPSYNC_CHARACTERS", Path.home() / ".cache" / "lipsync-characters"))

# name -> file, meshes to key, the rig's closed/open poses, a lip-rounding shape
CHARACTERS = {
    "rpm": {"file": "talkinghead-brunette-t.glb", "head": "Wolf3D_Head",
            "meshes": ["Wolf3D_Head", "Wolf3D_Teeth"],
            "closed": {"viseme_PP": 1.0}, "open": {"viseme_aa": 1.0}, "round": "mouthFunnel"},
    "vroid": {"file": "talkinghead-vroid-decoded.glb", "head": "Face", "meshes": ["Face"],
              "closed": {"Fcl_MTH_Close": 1.0}, "open": {"Fcl_MTH_A": 1.0},
              "round": "Fcl_MTH_U"},
}
PHONES = {   # phone classes in the demo speech's .phones.json (IPA, as Piper / Open JTalk give)
    "pbm": {"p", "b", "m"},
    "open": {"ɑː", "æ", "a", "aː", "aɪ", "aʊ", "ʌ", "ɑ"},
    "round": {"uː", "oʊ", "u", "o", "oː", "w", "ɔː", "ɔːɹ"},
    "fv": {"f", "v"},
}
CLOSED_MARGIN = 0.10       # of the open gap, each side of the closed range
OPEN_FRACTION = 0.20       # of the open gap above the closed range counts as open


def character_file(name: str) -> Path | None:
    path = CACHE / CHARACTERS[name]["file"]
    return path if path.is_file() else None


@dataclass
class Probe:
    upper: np.ndarray          # vertex indices of the upper lip at the midline
    lower: np.ndarray          # ... of the lower lip
    rest: float = 0.0          # gaps of the rig's own poses, metres
    closed: float = 0.0
    opened: float = 0.0

    @property
    def closed_range(self) -> tuple[float, float]:
        m = CLOSED_MARGIN * (self.opened - max(self.rest, self.closed))
        return min(self.rest, self.closed) - m, max(self.rest, self.closed) + m

    @property
    def open_threshold(self) -> float:
        hi = self.closed_range[1]
        return hi + OPEN_FRACTION * (self.opened - max(self.rest, self.closed))


def evaluated_world(bpy, obj) -> np.ndarray:
    """(V, 3) world positions of the evaluated mesh (shape keys, armature), metres."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    mesh = ev.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    co = co.reshape(-1, 3).astype(np.float64)
    mw = np.array(obj.matrix_world)
    return co @ mw[:3, :3].T + mw[:3, 3]


def pose_world(bpy, obj, values: dict[str, float]) -> np.ndarray:
    """World positions with only ``values`` set on the shape keys (restored afterwards)."""
    blocks = obj.data.shape_keys.key_blocks
    saved = {b.name: b.value for b in blocks}
    for b in blocks:
        b.value = 0.0
    for name, v in values.items():
        blocks[name].value = v
    bpy.context.view_layer.update()
    world = evaluated_world(bpy, obj)
    for name, v in saved.items():
        blocks[name].value = v
    bpy.context.view_layer.update()
    return world


def find_lips(bpy, obj, open_key: str, round_key: str) -> Probe:
    """Upper and lower midline lip vertices from the rig's own shapes (module docstring),
    in the evaluated mesh's world space (a skinned avatar's bind space may be anything)."""
    base = pose_world(bpy, obj, {})
    mid = np.abs(base[:, 0]) < 1e-3 * (np.ptp(base[:, 0]) / 0.18)
    rounding = np.linalg.norm(pose_world(bpy, obj, {round_key: 1.0}) - base, axis=1)
    lips = mid & (rounding > 0.2 * rounding[mid].max())
    down = -(pose_world(bpy, obj, {open_key: 1.0}) - base)[:, 2]
    most = down[lips].max()
    lower = np.flatnonzero(lips & (down > 0.5 * most))
    upper = np.flatnonzero(lips & (np.abs(down) < 0.15 * most))
    if not len(lower) or not len(upper):
        raise RuntimeError(f"Could not find the lips of {obj.name!r} from {open_key}/{round_key}.")
    return Probe(upper, lower)


def evaluated_gap(bpy, obj, probe: Probe) -> float:
    """Upper lip's lowest point minus lower lip's highest, world Z, in the evaluated mesh."""
    world = evaluated_world(bpy, obj)
    return float(world[probe.upper, 2].min() - world[probe.lower, 2].max())


def pose_gap(bpy, obj, probe: Probe, values: dict[str, float]) -> float:
    world = pose_world(bpy, obj, values)
    return float(world[probe.upper, 2].min() - world[probe.lower, 2].max())


def calibrate(bpy, obj, spec: dict) -> Probe:
    open_key = next(iter(spec["open"]))
    probe = find_lips(bpy, obj, open_key, spec["round"])
    probe.rest = pose_gap(bpy, obj, probe, {})
    probe.closed = pose_gap(bpy, obj, probe, spec["closed"])
    probe.opened = pose_gap(bpy, obj, probe, spec["open"])
    return probe


@dataclass
class Result:
    per_class: dict = field(default_factory=dict)     # class -> (passed, total)
    through: int = 0                                  # frames with the lips through each other
    frames: int = 0
    picks: dict = field(default_factory=dict)         # class -> frames to render
    outcomes: dict = field(default_factory=dict)      # class -> {(phone, start, end): passed}

    def rate(self, name: str) -> float:
        ok, n = self.per_class.get(name, (0, 0))
        return ok / n if n else float("nan")


def measure(bpy, scene, obj, probe: Probe, timing, lead_s: float, phones: list) -> Result:
    """Lip gaps over every keyed frame and per phone class (module docstring)."""
    first, last = scene.frame_start, scene.frame_end
    gaps = {}
    for f in range(first, last + 1):
        scene.frame_set(f)
        gaps[f] = evaluated_gap(bpy, obj, probe)
    lo, hi = probe.closed_range
    result = Result(through=sum(g < lo for g in gaps.values()), frames=len(gaps))
    for cls, names in PHONES.items():
        ok = total = 0
        picks = []
        outcomes = {}
        for phone, a, b in phones:
            if phone not in names:
                continue
            fa = int(np.ceil(timing.frame_of(a, lead_s)))
            fb = int(np.floor(timing.frame_of(b, lead_s)))
            span = [f for f in range(fa, fb + 1) if f in gaps] or \
                [int(round(timing.frame_of((a + b) / 2, lead_s)))]
            span = [f for f in span if f in gaps]
            if not span:
                continue
            total += 1
            if cls == "pbm":
                best = min(span, key=gaps.get)
                passed = gaps[best] <= hi
            else:
                best = max(span, key=gaps.get)
                passed = gaps[best] >= probe.open_threshold if cls == "open" else True
            ok += passed
            outcomes[(phone, a, b)] = bool(passed)
            picks.append(best)
        result.per_class[cls] = (ok, total)
        result.picks[cls] = picks
        result.outcomes[cls] = outcomes
    return result


def build_scene(bpy, pkg, name: str, preset: str, wav: Path, curves: Path, fps: int = 24,
                convention: str | None = None):
    """Import the character, key it from ``curves`` with ``preset``; (scene, head, probe, job
    timing)."""
    spec = CHARACTERS[name]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(character_file(name)))
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
    result = bpy.ops.lipsync.import_curves(filepath=str(curves))
    assert result == {"FINISHED"}, scene.lipsync.last_report
    from lipsync_repo.lipsync_addon import strip_source
    from lipsync_repo.lipsync_core import keyplan
    timing = strip_source.read_strip(scene).timing
    plan = keyplan.plan(timing, scene.lipsync.lead_ms)
    scene.frame_start, scene.frame_end = plan.first_frame, plan.last_frame
    return scene, head, probe, timing, plan.lead_s


def mouth_centre(bpy, obj, probe: Probe) -> np.ndarray:
    """World position of the lips at rest (for the camera), metres."""
    world = pose_world(bpy, obj, {})
    return world[np.r_[probe.upper, probe.lower]].mean(axis=0)


def render(bpy, scene, frames: dict, out: Path, centre, size: int = 360) -> list[Path]:
    """Workbench PNGs of the lower face at the given {label: frame}, the camera in front of
    ``centre`` (the lips; the face looks along -Y as glTF imports it)."""
    cam_data = bpy.data.cameras.new("MouthCam")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = 0.16
    cam = bpy.data.objects.new("MouthCam", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (float(centre[0]), float(centre[1]) - 0.6, float(centre[2]) + 0.02)
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.image_settings.file_format = "PNG"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, f in frames.items():
        scene.frame_set(int(f))
        scene.render.filepath = str(out / f"{label}_f{int(f):04d}.png")
        bpy.ops.render.render(write_still=True)
        paths.append(Path(scene.render.filepath))
    return paths


def bench_rekey(bpy, scene, repeats: int = 5) -> dict:
    """Median seconds of bpy.ops.lipsync.rekey() after an intensity change, every-frame keys
    and reduced Bezier keys (tolerance 0.02)."""
    import time
    out = {}
    for density in ("ALL", "REDUCED"):
        scene.lipsync.density = density
        times = []
        for i in range(repeats):
            scene.lipsync.intensity = 1.0 - 0.05 * (i % 2)
            t0 = time.perf_counter()
            assert bpy.ops.lipsync.rekey() == {"FINISHED"}
            times.append(time.perf_counter() - t0)
        out[density.lower()] = round(sorted(times)[len(times) // 2], 4)
    scene.lipsync.density, scene.lipsync.intensity = "ALL", 1.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Key a real character and measure its lips.")
    parser.add_argument("--character", default="rpm", choices=sorted(CHARACTERS))
    parser.add_argument("--preset", default="arkit")
    parser.add_argument("--convention", default=None, help="override (e.g. table: the old way)")
    parser.add_argument("--lang", default="en", choices=["en", "ja"])
    parser.add_argument("--curves", type=Path, required=True, help="predict's JSON for the wav")
    parser.add_argument("--out", type=Path, default=None, help="folder for renders")
    parser.add_argument("--bench", action="store_true",
                        help="time Re-key (kept curves, no model) after changing the intensity")
    args = parser.parse_args(argv)
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(Path.home() / ".cache" / "lipsync-bpy"))
    import bpy
    from blender_process import load_repo_package
    pkg = load_repo_package()
    pkg.register()
    if character_file(args.character) is None:
        raise SystemExit(f"{CACHE / CHARACTERS[args.character]['file']} is missing; see "
                         "docs/characters.md.")
    wav = ROOT / "assets" / "demo" / f"speech_{args.lang}.wav"
    phones = json.loads(wav.with_suffix(".phones.json").read_text(encoding="utf-8"))["phones"]
    scene, head, probe, timing, lead = build_scene(bpy, pkg, args.character, args.preset, wav,
                                                   args.curves, convention=args.convention)
    res = measure(bpy, scene, head, probe, timing, lead, phones)
    lo, hi = probe.closed_range
    figures = {"character": args.character, "preset": args.preset,
               "convention": head.lipsync.convention, "lang": args.lang,
               "gap_mm": {"rest": probe.rest * 1e3, "closed": probe.closed * 1e3,
                          "open": probe.opened * 1e3, "closed_range": [lo * 1e3, hi * 1e3],
                          "open_threshold": probe.open_threshold * 1e3},
               "pbm_sealed": res.per_class["pbm"], "open_vowels_open": res.per_class["open"],
               "through_frames": res.through, "frames": res.frames,
               "report": scene.lipsync.last_report}
    if args.bench:
        figures["rekey_s"] = bench_rekey(bpy, scene)
    print(json.dumps(figures, ensure_ascii=False))
    if args.out:
        picks = {}
        for cls in ("pbm", "open", "round", "fv"):
            for i, f in enumerate(res.picks.get(cls, [])[:2]):
                picks[f"{args.character}_{args.preset}_{args.lang}_{cls}{i}"] = f
        for p in render(bpy, scene, picks, args.out, mouth_centre(bpy, head, probe)):
            print(p)
    pkg.unregister()
    return 0


if __name__ == "__main__":
    sys.exit(main())

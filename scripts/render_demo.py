"""Render a strip of frames of a lip-synced face headless on the CPU, and a contact sheet.

Given a .blend whose face has animated shape keys (``out/demo.blend`` from ``make demo``), pick
frames where the mouth shapes differ most (open, sealed, rounded, spread...), render each with
the scene camera to ``<out>/frames/frame_NNNN.png`` and compose ``<out>/frames.png``, each tile
titled with its frame, time and strongest mouth keys. ``--every N`` renders every Nth frame
instead (an image sequence for a clip).

Engines: Workbench (default; about a second a frame here, software OpenGL through EGL),
Cycles on the CPU (``--engine cycles``, few samples), EEVEE (``--engine eevee``; works without a
GPU but compiles its shaders in software: about a minute before the first frame).

Usage:  .venv/bin/python scripts/render_demo.py --blend out/demo.blend --out out/ [--frames 8]

Imports: bpy, numpy, matplotlib (Agg) for the sheet.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-blender-"))

LOG = logging.getLogger(__name__)

ENGINES = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES", "eevee": "BLENDER_EEVEE"}
MOUTH_PREFIXES = ("jaw", "mouth", "tongue")   # shape keys that count as mouth shapes
MIN_GAP = 3                                  # frames between two picked frames, at least


def find_face(bpy, name: str | None):
    """The object named ``name``, else the mesh with the most animated shape keys."""
    if name:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            raise SystemExit(f"No mesh object {name!r} with shape keys in this file; "
                             "pass --object with the face's name.")
        return obj
    best = None
    for obj in bpy.data.objects:
        if obj.type == "MESH" and obj.data.shape_keys is not None:
            n = len(obj.data.shape_keys.key_blocks)
            animated = obj.data.shape_keys.animation_data is not None
            score = (animated, n)
            if best is None or score > best[0]:
                best = (score, obj)
    if best is None:
        raise SystemExit("This file has no mesh with shape keys; open the lip-synced face's .blend.")
    return best[1]


def sample_keys(bpy, scene, face) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(mouth key names, frames (F,), values (F, K)) over the scene's frame range."""
    key = face.data.shape_keys
    driven = set()                        # correctives set by drivers are not mouth shapes
    if key.animation_data is not None:
        driven = {d.data_path for d in key.animation_data.drivers}
    blocks = [kb for kb in key.key_blocks[1:] if kb.name.startswith(MOUTH_PREFIXES)
              and kb.path_from_id("value") not in driven]
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    values = np.zeros((len(frames), len(blocks)))
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        values[i] = [kb.value for kb in blocks]
    return [kb.name for kb in blocks], frames, values


def pick_frames(frames: np.ndarray, values: np.ndarray, count: int,
                names: list[str] | None = None) -> list[int]:
    """``count`` frames whose mouth-key vectors are far apart (farthest-point sampling, first
    the widest jaw), at least MIN_GAP frames apart; evenly spaced if nothing is animated."""
    count = max(1, min(count, len(frames)))
    if len(frames) == 0 or np.ptp(values, axis=0).max(initial=0.0) < 1e-6:
        return sorted({int(f) for f in np.linspace(frames[0], frames[-1], count).round()})
    jaw = names.index("jawOpen") if names and "jawOpen" in names else None
    first = int(np.argmax(values[:, jaw] if jaw is not None else values.sum(axis=1)))
    chosen = [first]
    dist = np.linalg.norm(values - values[first], axis=1)
    while len(chosen) < count:
        near = np.min(np.abs(frames[:, None] - frames[chosen][None, :]), axis=1) < MIN_GAP
        score = np.where(near, -1.0, dist)
        nxt = int(np.argmax(score))
        if score[nxt] < 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(values - values[nxt], axis=1))
    return sorted(int(frames[i]) for i in chosen)


def configure(scene, engine: str, size: int, samples: int) -> None:
    scene.render.engine = ENGINES[engine]
    aspect = scene.render.resolution_y / max(1, scene.render.resolution_x)
    scene.render.resolution_x = size
    scene.render.resolution_y = max(16, int(round(size * aspect)))
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    if engine == "cycles":
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.use_denoising = False
    elif engine == "eevee":
        scene.eevee.taa_render_samples = samples


def render_frames(bpy, scene, frames: list[int], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in frames:
        scene.frame_set(f)
        path = folder / f"frame_{f:04d}.png"
        scene.render.filepath = str(path)
        t0 = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        LOG.info("frame %d rendered in %.2f s", f, time.perf_counter() - t0)
        paths.append(path)
    return paths


def contact_sheet(paths: list[Path], titles: list[str], out: Path, columns: int = 4,
                  dpi: int = 90) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.image as mpimg
    rows = (len(paths) + columns - 1) // columns
    cols = min(columns, len(paths))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, path, title in zip(axes.ravel(), paths, titles):
        ax.imshow(mpimg.imread(str(path)))
        ax.set_title(title, fontsize=7.5)
    fig.tight_layout(pad=0.4)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def title(frame: int, start: int, fps: float, names: list[str], row: np.ndarray | None) -> str:
    text = f"frame {frame}  {(frame - start) / fps:.2f} s"   # seconds since the first frame
    if row is not None and len(names):
        top = np.argsort(row)[::-1][:2]
        keys = ", ".join(f"{names[i]} {row[i]:.2f}" for i in top if row[i] >= 0.05)
        text += "\n" + (keys or "rest")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blend", type=Path, required=True, help="lip-synced .blend")
    parser.add_argument("--out", type=Path, required=True, help="folder for frames/ and frames.png")
    parser.add_argument("--frames", type=int, default=8, help="how many frames to pick")
    parser.add_argument("--every", type=int, default=0,
                        help="render every Nth frame instead of picking (for a clip)")
    parser.add_argument("--engine", choices=sorted(ENGINES), default="workbench")
    parser.add_argument("--size", type=int, default=320, help="image width in pixels")
    parser.add_argument("--samples", type=int, default=16, help="Cycles/EEVEE samples")
    parser.add_argument("--object", default=None, help="face object (default: found)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.blend.is_file():
        raise SystemExit(f"{args.blend} does not exist; run 'make demo' (or the batch) first.")

    import bpy
    bpy.ops.wm.open_mainfile(filepath=str(args.blend.resolve()))
    scene = bpy.context.scene
    face = find_face(bpy, args.object)
    if scene.camera is None:
        raise SystemExit("The scene has no camera; add one that frames the face.")
    names, frames, values = sample_keys(bpy, scene, face)
    if args.every > 0:
        chosen = [int(f) for f in frames[::args.every]]
    else:
        chosen = pick_frames(frames, values, args.frames, names)
    configure(scene, args.engine, args.size, args.samples)
    t0 = time.perf_counter()
    paths = render_frames(bpy, scene, chosen, args.out / "frames")
    elapsed = time.perf_counter() - t0
    fps = scene.render.fps / scene.render.fps_base
    rows = {int(f): values[i] for i, f in enumerate(frames)}
    titles = [title(f, scene.frame_start, fps, names, rows.get(f)) for f in chosen]
    sheet = contact_sheet(paths, titles, args.out / "frames.png") if args.every <= 0 else None
    LOG.info("%d frames with %s in %.1f s (%.2f s a frame)", len(paths), args.engine, elapsed,
             elapsed / max(1, len(paths)))
    print(sheet if sheet else args.out / "frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Renders of a keyed character's mouth, and contact sheets of them, for looking at.

:func:`pick_frames` chooses what to show (every miss, a few passes per class), :func:`render`
writes Workbench PNGs of the lower face at given frames (orthographic camera in
front of the lips; glTF faces look along -Y). :func:`compose_sheet` lays such PNGs out in rows
(one row per phone class), each cell framed green (passed) or red (missed), and writes the
sheet as one PNG with a ``.txt`` legend naming every cell (clip, phone, time, frame).

Imports: bpy (passed in), numpy, standard library.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

PASS_RGBA = (0.1, 0.7, 0.2, 1.0)
MISS_RGBA = (0.9, 0.1, 0.1, 1.0)
BORDER_PX = 4


def render(bpy, scene, frames: dict, out: Path, centre, size: int = 360,
           width_m: float = 0.08, scale: float = 1.0) -> dict:
    """Workbench PNGs of the mouth at ``{label: frame}``, ``width_m`` metres across, the
    camera in front of ``centre`` (the lips at rest, world units); {label: path}. ``scale``:
    world units per metre of a real head (lip_probe.Probe.scale; Face Cap's head is about ten
    times life size), so every head is framed alike."""
    cam = scene.objects.get("MouthCam")
    if cam is None:
        cam_data = bpy.data.cameras.new("MouthCam")
        cam_data.type = "ORTHO"
        cam = bpy.data.objects.new("MouthCam", cam_data)
        scene.collection.objects.link(cam)
    cam.data.ortho_scale = width_m * scale
    cam.location = (float(centre[0]), float(centre[1]) - 0.6 * scale,
                    float(centre[2]) - 0.005 * scale)
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, f in frames.items():
        scene.frame_set(int(f))
        scene.render.filepath = str(out / f"{label}_f{int(f):04d}.png")
        bpy.ops.render.render(write_still=True)
        paths[label] = Path(scene.render.filepath)
    return paths


def pick_frames(details: list, clip, taken: dict, per_class: int, per_clip: int) -> dict:
    """Frames of ``clip`` to render from its measured phones (characters.Result.details):
    every miss, and passes of a class while fewer than
    ``per_class`` have been shown in its split and language, ``per_clip`` at most from one clip.
    {label: (frame, detail)}."""
    picks = {}
    for d in details:
        shown = taken.setdefault((clip.split, clip.lang, d["class"]), [])
        if d["passed"] and (len(shown) >= per_class or shown.count(clip.id) >= per_clip):
            continue
        if d["passed"]:
            shown.append(clip.id)
        picks[f"{clip.id}_{d['class']}_{d['frame']:04d}"] = (d["frame"], d)
    return picks


def _read_png(bpy, path: Path) -> np.ndarray:
    """(H, W, 4) float32 RGBA, top row first."""
    img = bpy.data.images.load(str(path), check_existing=False)
    w, h = img.size
    px = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1]


def compose_sheet(bpy, rows: list[tuple[str, list[dict]]], path: Path, cell: int = 240) -> Path:
    """One PNG: a row per (class name, cells); a cell is {"png", "passed", "label"}. Writes
    ``path`` and ``path.with_suffix('.txt')`` (the legend); returns ``path``."""
    ncols = max((len(cells) for _, cells in rows), default=0)
    if not ncols:
        raise ValueError("Nothing to put on the sheet: no frames were rendered.")
    sheet = np.ones((len(rows) * cell, ncols * cell, 4), np.float32)
    legend = []
    for r, (name, cells) in enumerate(rows):
        for c, item in enumerate(cells):
            img = _read_png(bpy, item["png"])
            step = max(1, img.shape[0] // (cell - 2 * BORDER_PX))
            img = img[::step, ::step][:cell - 2 * BORDER_PX, :cell - 2 * BORDER_PX]
            y, x = r * cell, c * cell
            sheet[y:y + cell, x:x + cell] = PASS_RGBA if item["passed"] else MISS_RGBA
            sheet[y + BORDER_PX:y + BORDER_PX + img.shape[0],
                  x + BORDER_PX:x + BORDER_PX + img.shape[1]] = img
            legend.append(f"row {r + 1} ({name}), column {c + 1}: {item['label']}"
                          f" [{'passed' if item['passed'] else 'MISSED'}]")
    h, w = sheet.shape[:2]
    out = bpy.data.images.new(path.stem, w, h, alpha=True)
    out.pixels.foreach_set(np.ascontiguousarray(sheet[::-1]).ravel())
    out.filepath_raw = str(path)
    out.file_format = "PNG"
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save()
    bpy.data.images.remove(out)
    path.with_suffix(".txt").write_text("\n".join(legend) + "\n", encoding="utf-8")
    return path

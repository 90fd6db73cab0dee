"""Curves kept in the .blend: capture once, key many.

Each sound strip's last curves live in a Text datablock named ``LipSync curves: <strip>``
(a fake user keeps it saved). Line 1 is a small JSON header: format ``lipsync-capture/1``, the
scene and strip names, the audio file's name, the identity of the model that made the curves
(the worker's hello "model" dict, or what an imported file says) and the time range; line 2 is
the ``lipsync-curves/1`` JSON object (lipsync_core.curves). Finding a strip's curves reads only
headers. A re-key reads them back and keys without the model.

Imports: bpy (only through the ``data`` argument), json, lipsync_core (relatively).
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ..lipsync_core import curves as curves_mod

FORMAT = "lipsync-capture/1"
PREFIX = "LipSync curves: "


def model_identity(model: dict[str, Any] | None) -> str:
    """A short stable id of a model description: its own "identity" when it has one (the ONNX
    runtime's sha256), else a sha256 of the description itself."""
    model = model or {}
    if model.get("identity"):
        return str(model["identity"])
    text = json.dumps(model, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _header(text: Any) -> dict[str, Any] | None:
    if not text.name.startswith(PREFIX) or not len(text.lines):
        return None
    try:
        head = json.loads(text.lines[0].body)
    except ValueError:
        return None
    return head if isinstance(head, dict) and head.get("format") == FORMAT else None


def find(data: Any, scene_name: str, strip_name: str) -> Any:
    """The Text holding a strip's curves, or None."""
    for text in data.texts:
        head = _header(text)
        if head and head.get("scene") == scene_name and head.get("strip") == strip_name:
            return text
    return None


def save(data: Any, source: Any, curves: curves_mod.Curves,
         model: dict[str, Any] | None, origin: str = "model") -> Any:
    """Keep ``curves`` for ``source`` (a StripSource: name, scene_name, audio_path)."""
    head = {"format": FORMAT, "scene": source.scene_name, "strip": source.name,
            "audio": os.path.basename(source.audio_path), "origin": origin,
            "model": model or {}, "model_identity": model_identity(model),
            "start": curves.start_time, "end": curves.start_time + curves.duration,
            "fps": curves.fps, "frames": curves.num_frames}
    text = find(data, source.scene_name, source.name)
    if text is None:
        text = data.texts.new(PREFIX + source.name)
    text.clear()
    text.write(json.dumps(head, ensure_ascii=False, default=str) + "\n")
    text.write(curves_mod.encode_curves(curves, ".json").decode("utf-8"))
    text.use_fake_user = True
    return text


def load(data: Any, scene_name: str, strip_name: str) -> tuple[curves_mod.Curves, dict] | None:
    """(curves, header) kept for a strip, or None when there are none."""
    text = find(data, scene_name, strip_name)
    if text is None:
        return None
    body = text.as_string().split("\n", 1)
    if len(body) < 2:
        return None
    try:
        return curves_mod.Curves.from_dict(json.loads(body[1])), _header(text) or {}
    except (ValueError, curves_mod.CurvesError):
        return None


def uncovered(curves: curves_mod.Curves, start: float, end: float) -> float:
    """Seconds of the file times ``[start, end)`` that ``curves`` do not hold (one frame of
    slack each side): a re-key holds the edge values there."""
    slack = 1.0 / curves.fps
    lo, hi = curves.start_time - slack, curves.start_time + curves.duration + slack
    return max(0.0, min(end, lo) - start) + max(0.0, end - max(start, hi))

"""One lip-sync job, from Blender inputs to keys: checks, the worker request, the writing.

:func:`prepare` reads and checks everything (object, shape keys, mapping, strip, timing) before
the worker is asked anything, so every bad input is one sentence and nothing is touched;
:func:`finish` turns the worker's result into keys. The operator (modal or not) and the batch
script both go through these two functions.

Imports: bpy, numpy, lipsync_core (relatively), the add-on's own modules.
"""
from __future__ import annotations

import atexit
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ..lipsync_core import curves as curves_mod
from ..lipsync_core import keyplan, mapping
from . import keyframe_writer, properties, strip_source
from .strip_source import InputError

log = logging.getLogger(__name__)
_temp_files: set[str] = set()          # packed sounds written for running jobs


@dataclass
class Job:
    object_name: str
    source: strip_source.StripSource
    plan: keyplan.Plan
    settings: keyplan.KeySettings
    table: mapping.Mapping                 # resolved to the rig's shape-key names
    use_nla: bool = False
    warnings: list[str] = field(default_factory=list)
    store_table: bool = False              # the object had no rows: keep the preset it got
    started: float = field(default_factory=time.monotonic)

    def request(self) -> dict[str, Any]:
        """The predict fields: the strip's audio window at the scene rate (see keyplan.plan)."""
        return {"audio": self.source.audio_path, "start": self.plan.start,
                "end": self.plan.end, "fps": self.plan.fps}

    def cleanup(self) -> None:
        if self.source.temp_path:
            _temp_files.discard(self.source.temp_path)
        self.source.cleanup()


@dataclass(frozen=True)
class Report:
    object_name: str
    strip: str
    keys: int
    shape_keys: int
    first_frame: int
    last_frame: int
    seconds: float
    device: str
    warnings: tuple[str, ...]

    def sentence(self) -> str:
        text = (f"Lip sync on {self.object_name!r}: {self.keys} keys on {self.shape_keys} shape "
                f"keys, frames {self.first_frame}-{self.last_frame}, {self.seconds:.1f} s on "
                f"{self.device}.")
        return " ".join([text, *self.warnings])

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object_name, "strip": self.strip, "keys": self.keys,
                "shape_keys": self.shape_keys, "frames": [self.first_frame, self.last_frame],
                "seconds": round(self.seconds, 3), "device": self.device,
                "warnings": list(self.warnings)}


def check_object(obj: Any) -> Any:
    if obj is None:
        raise InputError("No object is active; select the mesh to animate.")
    if obj.type != "MESH":
        raise InputError(f"{obj.name!r} is a {obj.type.lower()}, not a mesh; select the mesh "
                         "whose shape keys should move.")
    if obj.data.shape_keys is None or len(obj.data.shape_keys.key_blocks) < 2:
        raise InputError(f"Mesh {obj.name!r} has no shape keys to animate; add them (Lip Sync "
                         "panel > Add Shape Keys adds a preset's names) or select another mesh.")
    return obj.data.shape_keys


def choose_mapping(obj: Any, override: str = "") -> mapping.Mapping:
    """The mapping a job uses: an override (preset name or file), else the object's table,
    else the shipped preset whose names match the most shape keys."""
    if override:
        try:
            return mapping.load_preset(override)
        except mapping.MappingError as exc:
            raise InputError(str(exc)) from None
    if len(obj.lipsync.rows):
        return properties.rows_to_mapping(obj)
    names = [k.name for k in obj.data.shape_keys.key_blocks]
    best, count = mapping.best_preset(names, [mapping.load_preset(n) for n in mapping.preset_names()])
    if best is None:
        raise InputError(f"No shape key of {obj.name!r} matches a preset's names; fill the "
                         "mapping table (or load a preset) first.")
    return best


def prepare(scene: Any, obj: Any, strip: str = "", lead_ms: float | None = None,
            mapping_override: str = "", sound_scene: Any = None) -> Job:
    """Check every input and plan the job; InputError with one sentence otherwise.

    ``scene`` holds the settings and the frame rate; ``sound_scene`` (default: ``scene``) the
    sequencer with the sound strip (Blender 5.0's sequencer scene may differ).
    """
    key = check_object(obj)
    table = choose_mapping(obj, mapping_override)
    names = [k.name for k in key.key_blocks]
    resolved, missing = mapping.resolve(table, names)
    if not [r for r in resolved.rows if r.enabled]:
        raise InputError(f"None of the shape keys the mapping {table.name!r} names exist on "
                         f"{obj.name!r}; load a matching preset or use Add Shape Keys.")
    warnings = []
    if missing:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        warnings.append(f"Skipped {len(missing)} mapping row target(s) missing on {obj.name!r}: "
                        f"{shown}.")
    source = strip_source.read_strip(sound_scene or scene, strip)
    if source.temp_path:
        _temp_files.add(source.temp_path)
    try:
        settings = properties.read_settings(scene, lead_ms)
        plan = keyplan.plan(source.timing, settings.lead_ms)
    except ValueError as exc:
        source.cleanup()
        raise InputError(str(exc)) from None
    return Job(obj.name, source, plan, settings, resolved, scene.lipsync.use_nla,
               source.warnings + warnings,
               store_table=not mapping_override and not len(obj.lipsync.rows))


def result_curves(message: dict[str, Any]) -> curves_mod.Curves:
    """The curves of a worker ``result`` message (inline, or a file the worker wrote)."""
    try:
        if "curves" in message:
            return curves_mod.Curves.from_dict(message["curves"])
        path = message["path"]
        try:
            return curves_mod.read_curves(path)
        finally:
            if os.path.exists(path):
                os.unlink(path)
    except (KeyError, curves_mod.CurvesError) as exc:
        raise InputError(f"The inference worker returned unreadable curves ({exc}).") from None


def finish(job: Job, obj: Any, result: dict[str, Any], device: str) -> Report:
    """Write the result's keys on ``obj``; the one place a job changes the scene."""
    c = result_curves(result)
    keys = keyplan.shape_key_keys(c.frames, c.fps, c.start_time, job.source.timing, job.plan,
                                  job.table, job.settings)
    written = keyframe_writer.write_keys(obj, keys, job.plan.first_frame, job.plan.last_frame,
                                         job.use_nla)
    if job.store_table:
        properties.mapping_to_rows(obj, job.table)
    return Report(job.object_name, job.source.name, written, len(keys), job.plan.first_frame,
                  job.plan.last_frame, time.monotonic() - job.started, device,
                  tuple(job.warnings))


@atexit.register
def _remove_temp_files() -> None:
    for path in list(_temp_files):
        try:
            os.unlink(path)
        except OSError:
            pass

"""One lip-sync job, from Blender inputs to keys: checks, the worker request, the writing.

:func:`prepare` reads and checks everything (objects, shape keys, mappings, strip, timing)
before the worker is asked anything, so every bad input is one sentence and nothing is touched;
:func:`finish` turns the worker's result into keys on every mesh of the job (the active one and,
from the operator, the other selected meshes whose shape keys a mapping drives: teeth, tongue,
beard) from the one inference, and keeps the curves in the .blend (capture_store) so a later
change of mapping, lead, intensity or smoothing re-keys without the model. The operator (modal
or not), Re-key and the batch script all go through these two functions.

Imports: bpy, numpy, lipsync_core (relatively), the add-on's own modules.
"""
from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

from ..lipsync_core import curves as curves_mod
from ..lipsync_core import keyplan, mapping
from . import capture_store, keyframe_writer, properties, strip_source, user_presets
from .strip_source import InputError

log = logging.getLogger(__name__)
_temp_files: set[str] = set()          # packed sounds written for running jobs


@dataclass(frozen=True)
class Target:
    """One more mesh keyed by the same job."""
    object_name: str
    table: mapping.Mapping                 # resolved to this mesh's shape-key names
    store_table: bool = False              # the mesh had no rows: keep the preset it got


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
    others: list[Target] = field(default_factory=list)   # more meshes keyed from one inference

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

    meshes: tuple[str, ...] = ()           # other meshes keyed by the same job

    def sentence(self) -> str:
        also = f" (and {', '.join(repr(m) for m in self.meshes)})" if self.meshes else ""
        text = (f"Lip sync on {self.object_name!r}{also}: {self.keys} keys on {self.shape_keys} "
                f"shape keys, frames {self.first_frame}-{self.last_frame}, "
                f"{self.seconds:.1f} s on {self.device}.")
        return " ".join([text, *self.warnings])

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object_name, "strip": self.strip, "keys": self.keys,
                "shape_keys": self.shape_keys, "frames": [self.first_frame, self.last_frame],
                "seconds": round(self.seconds, 3), "device": self.device,
                "warnings": list(self.warnings), "meshes": list(self.meshes)}


_TYPE_WORDS = {"FONT": "text object", "META": "metaball", "GPENCIL": "grease pencil object",
               "GREASEPENCIL": "grease pencil object", "LIGHT_PROBE": "light probe",
               "CURVES": "hair curves object", "POINTCLOUD": "point cloud"}


def kind_of(object_type: str) -> str:
    """'an armature', 'a camera', 'an empty': an object type in a sentence."""
    word = _TYPE_WORDS.get(object_type, object_type.lower().replace("_", " "))
    return ("an " if word[:1] in "aeiou" else "a ") + word


def check_object(obj: Any) -> Any:
    if obj is None:
        raise InputError("No object is active; select the mesh to animate.")
    if obj.type != "MESH":
        raise InputError(f"{obj.name!r} is {kind_of(obj.type)}, not a mesh; select the mesh "
                         "whose shape keys should move.")
    if obj.data.shape_keys is None or len(obj.data.shape_keys.key_blocks) < 2:
        raise InputError(f"Mesh {obj.name!r} has no shape keys to animate; add them (Lip Sync "
                         "panel > Add Shape Keys adds a preset's names) or select another mesh.")
    return obj.data.shape_keys


def moving_shape_keys(obj: Any, eps: float = 1e-6) -> list[str]:
    """The shape keys of ``obj`` that move some vertex (more than ``eps``, object units) from
    their reference key: an empty key (a converted avatar's jawOpen driven by a bone instead)
    says nothing about the rig's conventions, so Auto-match ignores it."""
    key = obj.data.shape_keys
    if key is None:
        return []
    n = len(obj.data.vertices) * 3
    cache: dict[str, np.ndarray] = {}

    def co(block: Any) -> np.ndarray:
        if block.name not in cache:
            arr = np.empty(n, dtype=np.float32)
            block.data.foreach_get("co", arr)
            cache[block.name] = arr
        return cache[block.name]

    names = []
    for block in key.key_blocks:
        ref = block.relative_key
        if block == key.reference_key or ref is None:
            continue
        if n and float(np.abs(co(block) - co(ref)).max()) > eps:
            names.append(block.name)
    return names


def choose_mapping(obj: Any, override: str = "") -> mapping.Mapping:
    """The mapping a job uses: an override (preset name or file), else the object's table,
    else the shipped preset whose names match the most shape keys that move something."""
    if override:
        try:
            return user_presets.load(override)
        except mapping.MappingError as exc:
            raise InputError(str(exc)) from None
    if len(obj.lipsync.rows):
        return properties.rows_to_mapping(obj)
    best, count = mapping.best_preset(moving_shape_keys(obj), user_presets.all_presets())
    if best is None:
        raise InputError(f"No shape key of {obj.name!r} matches a preset's names; fill the "
                         "mapping table (or load a preset) first.")
    return best


def _resolve(obj: Any, table: mapping.Mapping) -> tuple[mapping.Mapping, list[str]]:
    names = [k.name for k in obj.data.shape_keys.key_blocks]
    return mapping.resolve(table, names)


def _missing_warning(obj: Any, missing: list[str]) -> str:
    shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
    return f"Skipped {len(missing)} mapping row target(s) missing on {obj.name!r}: {shown}."


def other_targets(obj: Any, others: Any, table: mapping.Mapping,
                  mapping_override: str = "") -> tuple[list[Target], list[str]]:
    """The other meshes a job keys: each with its own table (its rows, else the override,
    else the preset its names match, else the active mesh's table), when a row reaches one of
    its shape keys. Returns the targets and one note on meshes nothing maps."""
    targets, skipped = [], []
    for other in others:
        if other is obj or other is None or other.type != "MESH":
            continue
        key = other.data.shape_keys
        if key is None or len(key.key_blocks) < 2:
            continue
        try:
            own = choose_mapping(other, mapping_override)
        except InputError:
            own = table
        resolved, _ = _resolve(other, own)
        if not [r for r in resolved.rows if r.enabled]:
            skipped.append(other.name)
            continue
        targets.append(Target(other.name, resolved,
                              store_table=not mapping_override and not len(other.lipsync.rows)))
    notes = [f"Not keyed (no shape key a mapping drives): {', '.join(skipped)}."] if skipped else []
    return targets, notes


def prepare(scene: Any, obj: Any, strip: str = "", lead_ms: float | None = None,
            mapping_override: str = "", sound_scene: Any = None, others: Any = ()) -> Job:
    """Check every input and plan the job; InputError with one sentence otherwise.

    ``scene`` holds the settings and the frame rate; ``sound_scene`` (default: ``scene``) the
    sequencer with the sound strip (Blender 5.0's sequencer scene may differ); ``others`` are
    more meshes to key from the same inference (the operator passes the selected ones).
    """
    check_object(obj)
    table = choose_mapping(obj, mapping_override)
    resolved, missing = _resolve(obj, table)
    if not [r for r in resolved.rows if r.enabled]:
        raise InputError(f"None of the shape keys the mapping {table.name!r} names exist on "
                         f"{obj.name!r}; load a matching preset or use Add Shape Keys.")
    warnings = [_missing_warning(obj, missing)] if missing else []
    targets, notes = other_targets(obj, others, table, mapping_override)
    warnings += notes
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
               store_table=not mapping_override and not len(obj.lipsync.rows), others=targets)


def selected_meshes(context: Any) -> list[Any]:
    """The selected meshes other than the active object (more meshes of the same head)."""
    active = context.active_object
    selected = getattr(context, "selected_objects", None)
    if selected is None:
        view_layer = getattr(context, "view_layer", None)
        selected = [o for o in view_layer.objects if o.select_get()] if view_layer else []
    return [o for o in selected if o is not active and o.type == "MESH"]


def result_curves(message: dict[str, Any] | curves_mod.Curves) -> curves_mod.Curves:
    """The curves of a worker ``result`` message (inline, or a file the worker wrote), or
    curves as they are (a re-key from the kept curves)."""
    if isinstance(message, curves_mod.Curves):
        return message
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


def key_object(job: Job, obj: Any, c: curves_mod.Curves, table: mapping.Mapping) -> tuple[int, int]:
    """Key one mesh from curves; returns (keys written, shape keys keyed)."""
    full = dataclasses.replace(job.settings, tolerance=0.0)      # one value per frame
    keys = keyplan.shape_key_keys(c.frames, c.fps, c.start_time, job.source.timing, job.plan,
                                  table, full)
    written = keyframe_writer.write_keys(obj, keys, job.plan.first_frame, job.plan.last_frame,
                                         job.use_nla, job.settings.interpolation,
                                         job.settings.tolerance, properties.keyed_shapes(obj))
    properties.set_keyed_shapes(obj, list(keys))
    return written, len(keys)


def finish(job: Job, obj: Any, result: dict[str, Any] | curves_mod.Curves, device: str,
           model: dict[str, Any] | None = None, store: bool = True) -> Report:
    """Write the result's keys on ``obj`` and the job's other meshes; the one place a job
    changes the scene. ``model`` (the worker's hello "model") is kept with the curves."""
    c = result_curves(result)
    written, shape_keys = key_object(job, obj, c, job.table)
    if job.store_table:
        properties.mapping_to_rows(obj, job.table)
    meshes: list[str] = []
    for target in job.others:
        other = bpy.data.objects.get(target.object_name)
        if other is None or other.type != "MESH" or other.data.shape_keys is None:
            continue
        n, k = key_object(job, other, c, target.table)
        written, shape_keys = written + n, shape_keys + k
        if target.store_table:
            properties.mapping_to_rows(other, target.table)
        meshes.append(other.name)
    if store:
        capture_store.save(bpy.data, job.source, c, model if model is not None else c.model)
    return Report(job.object_name, job.source.name, written, shape_keys, job.plan.first_frame,
                  job.plan.last_frame, time.monotonic() - job.started, device,
                  tuple(job.warnings), tuple(meshes))


@atexit.register
def _remove_temp_files() -> None:
    for path in list(_temp_files):
        try:
            os.unlink(path)
        except OSError:
            pass

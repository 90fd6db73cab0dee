"""Capture once, key many: Re-key from the curves kept in the .blend, Import Curves, Export Curves.

- ``lipsync.rekey`` keys the active mesh (and the other selected meshes) from the strip's stored
  curves with the current mapping, lead, intensity, smoothing and density, without the model;
- ``lipsync.import_curves`` reads what ``python -m inference predict`` writes (lipsync-curves/1
  JSON, CSV, NPZ), keeps it as the strip's curves and keys from it;
- ``lipsync.export_curves`` writes the strip's curves as JSON, CSV or NPZ, or as a Live Link
  Face CSV (ARKit's 52 columns, for Unreal and Maya) through lipsync_core.livelink.

Imports: bpy, bpy_extras, lipsync_core (relatively), the add-on's own modules.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..lipsync_core import curves as curves_mod
from . import capture_store, compat, job as job_mod
from .strip_source import InputError

if TYPE_CHECKING:
    from .compat import OpResult

log = logging.getLogger(__name__)


def _prepare(context: Any, strip: str = "") -> job_mod.Job:
    scene = context.scene
    sound_scene = compat.sequencer_scene(context)
    if sound_scene.sequence_editor is None:
        sound_scene = scene
    return job_mod.prepare(scene, context.active_object, strip or scene.lipsync.strip, None, "",
                           sound_scene, others=job_mod.selected_meshes(context))


def rekey(context: Any, strip: str = "", only_if_kept: bool = False) -> job_mod.Report | None:
    """Key from the strip's stored curves; InputError with one sentence when there are none
    (``only_if_kept``: None instead)."""
    job = _prepare(context, strip)
    try:
        stored = capture_store.load(bpy.data, job.source.scene_name, job.source.name)
        if stored is None and only_if_kept:
            return None
        if stored is None:
            raise InputError(f"No curves are kept for strip {job.source.name!r}; run Generate "
                             "(or Import Curves) once first.")
        curves, head = stored
        missing = capture_store.uncovered(curves, job.plan.start, job.plan.end)
        span = (f"The kept curves of {job.source.name!r} cover {curves.start_time:.2f}-"
                f"{curves.start_time + curves.duration:.2f} s of the file, but the strip now "
                f"plays {job.plan.start:.2f}-{job.plan.end:.2f} s")
        if missing >= 0.5 * (job.plan.end - job.plan.start):
            raise InputError(f"{span}; run Generate again.")
        if missing > 0.1:
            job.warnings.append(f"{span}: {missing:.2f} s hold the nearest kept values; run "
                                "Generate to fill them.")
        obj = context.active_object
        source = head.get("origin", "model")
        return job_mod.finish(job, obj, curves, f"kept curves ({source})", store=False)
    finally:
        job.cleanup()


class LIPSYNC_OT_rekey(bpy.types.Operator):
    """Key again from the curves kept in the .blend (new mapping, lead, intensity, smoothing or
    density), without running the model"""
    bl_idname = "lipsync.rekey"
    bl_label = "Re-key"
    bl_options = {"REGISTER", "UNDO"}
    strip: StringProperty(name="Strip", default="", options={"SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        try:
            report = rekey(context, self.strip)
        except InputError as exc:
            context.scene.lipsync.last_report = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        assert report is not None
        context.scene.lipsync.last_report = report.sentence()
        self.report({"INFO"}, report.sentence())
        return {"FINISHED"}


class LIPSYNC_OT_import_curves(bpy.types.Operator, ImportHelper):  # type: ignore[misc]
    """Read a curves file written by predict (.json, .csv, .npz), keep it for the strip and
    key from it"""
    bl_idname = "lipsync.import_curves"
    bl_label = "Import Curves"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json;*.csv;*.npz", options={"HIDDEN"})  # type: ignore[valid-type]
    strip: StringProperty(name="Strip", default="", options={"SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        path = self.properties.filepath
        try:
            curves = curves_mod.read_curves(path)
        except curves_mod.CurvesError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        try:
            job = _prepare(context, self.strip)
            try:
                capture_store.save(bpy.data, job.source, curves, curves.model,
                                   origin=f"imported {os.path.basename(path)}")
            finally:
                job.cleanup()
            report = rekey(context, self.strip)
        except InputError as exc:
            context.scene.lipsync.last_report = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        assert report is not None
        context.scene.lipsync.last_report = report.sentence()
        self.report({"INFO"}, report.sentence())
        return {"FINISHED"}


EXPORT_FORMATS = [("AUTO", "By Extension", "lipsync-curves/1 as .json, .csv or .npz"),
                  ("LIVELINK", "Live Link Face CSV", "ARKit's 52 blendshapes per frame, as the "
                                                     "iPhone app writes them (Unreal, Maya)")]


class LIPSYNC_OT_export_curves(bpy.types.Operator, ExportHelper):  # type: ignore[misc]
    """Write the strip's kept curves (.json, .csv, .npz, or Live Link Face CSV)"""
    bl_idname = "lipsync.export_curves"
    bl_label = "Export Curves"
    filename_ext = ".json"
    check_extension = None
    filter_glob: StringProperty(default="*.json;*.csv;*.npz", options={"HIDDEN"})  # type: ignore[valid-type]
    format: EnumProperty(name="Format", items=EXPORT_FORMATS, default="AUTO")  # type: ignore[valid-type]
    strip: StringProperty(name="Strip", default="", options={"SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        from . import strip_source
        path = self.properties.filepath
        scene = compat.sequencer_scene(context)
        if scene.sequence_editor is None:
            scene = context.scene
        try:
            strip = strip_source.find_strip(scene, self.strip or context.scene.lipsync.strip)
        except InputError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        stored = capture_store.load(bpy.data, scene.name, strip.name)
        if stored is None:
            self.report({"ERROR"}, f"No curves are kept for strip {strip.name!r}; run Generate "
                                   "(or Import Curves) first.")
            return {"CANCELLED"}
        curves = stored[0]
        try:
            if self.format == "LIVELINK":
                try:
                    from ..lipsync_core import livelink
                except ImportError:
                    self.report({"ERROR"}, "This build has no Live Link Face writer "
                                           "(lipsync_core/livelink.py); export JSON or CSV.")
                    return {"CANCELLED"}
                livelink.write_livelink(path, curves)
            else:
                curves_mod.write_curves(path, curves)
        except (curves_mod.CurvesError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {curves.num_frames} frames of {strip.name!r} to {path}.")
        return {"FINISHED"}


CLASSES = (LIPSYNC_OT_rekey, LIPSYNC_OT_import_curves, LIPSYNC_OT_export_curves)

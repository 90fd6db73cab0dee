"""Operators on an object's mapping table: presets (shipped and the artist's own, see
user_presets), auto-match, JSON import/export, rows, and
adding a preset's shape keys to a mesh that has none.

Imports: bpy, bpy_extras, lipsync_core (relatively), properties.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..lipsync_core import mapping
from . import curves_io_operators, properties, user_presets
from . import job as job_mod

if TYPE_CHECKING:
    from .compat import OpResult


def _mesh(context: Any) -> Any:
    obj = context.active_object
    return obj if obj is not None and obj.type == "MESH" else None


def _shape_key_names(obj: Any) -> list[str]:
    key = obj.data.shape_keys
    return [k.name for k in key.key_blocks] if key is not None else []


def _load_table(op: Any, obj: Any, table: mapping.Mapping) -> None:
    names = _shape_key_names(obj)
    resolved, missing = mapping.resolve(table, names) if names else (table, [])
    # keep rows for missing keys too (the user may add the keys later); use the rig's spelling
    spelled = {mapping.normalize(r.shape_key): r.shape_key for r in resolved.rows}
    rows = tuple(mapping.Row(r.parameter, spelled.get(mapping.normalize(r.shape_key), r.shape_key),
                             r.weight, r.half, r.enabled) for r in table.rows)
    properties.mapping_to_rows(obj, dataclasses.replace(table, rows=rows))
    if names and missing:
        op.report({"WARNING"}, f"Loaded {table.name!r}; {len(missing)} of its shape keys are not "
                               f"on {obj.name!r}: {', '.join(missing[:8])}"
                               + (" ..." if len(missing) > 8 else "."))
    else:
        op.report({"INFO"}, f"Loaded {table.name!r}: {len(rows)} rows.")


def _rekey_after_table_change(context: Any) -> None:
    """A new table on a mesh keyed before: key it again from the kept curves (no model)."""
    if context.scene.lipsync.auto_rekey:
        properties.auto_rekey(context)


class _MeshOperator(bpy.types.Operator):
    @classmethod
    def poll(cls, context: Any) -> bool:
        return _mesh(context) is not None


class LIPSYNC_OT_load_preset(_MeshOperator):
    """Replace the mapping table with a shipped preset"""
    bl_idname = "lipsync.load_preset"
    bl_label = "Load Preset"
    bl_options = {"REGISTER", "UNDO"}
    preset: StringProperty(name="Preset")  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        obj = _mesh(context)
        name = self.preset or obj.lipsync.preset
        try:
            _load_table(self, obj, user_presets.load(name))
        except mapping.MappingError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _rekey_after_table_change(context)
        return {"FINISHED"}


class LIPSYNC_OT_auto_match(_MeshOperator):
    """Fill the table from the preset whose conventions the rig follows: the one whose names
    match the most shape keys that move something (any spelling: case, _L/_R, CC4, exporter
    prefixes; an empty jawOpen rules ARKit out); says which"""
    bl_idname = "lipsync.auto_match"
    bl_label = "Auto-Match"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OpResult:
        obj = _mesh(context)
        presets = user_presets.all_presets()
        best, count = mapping.best_preset(job_mod.moving_shape_keys(obj), presets)
        if best is None:
            self.report({"ERROR"}, f"No shape key of {obj.name!r} matches a preset's names; "
                                   "add rows by hand or rename the shape keys.")
            return {"CANCELLED"}
        resolved, _ = mapping.resolve(best, _shape_key_names(obj))
        properties.mapping_to_rows(obj, resolved)
        message = f"Matched {count} shape keys with the {mapping.describe(best)} preset."
        context.scene.lipsync.last_report = message
        self.report({"INFO"}, message)
        _rekey_after_table_change(context)
        return {"FINISHED"}


class LIPSYNC_OT_import_mapping(_MeshOperator, ImportHelper):  # type: ignore[misc]
    """Load the mapping table from a JSON file"""
    bl_idname = "lipsync.import_mapping"
    bl_label = "Import Mapping"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        try:
            table = mapping.load(self.properties.filepath)
        except mapping.MappingError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _load_table(self, _mesh(context), table)
        _rekey_after_table_change(context)
        return {"FINISHED"}


class LIPSYNC_OT_export_mapping(_MeshOperator, ExportHelper):  # type: ignore[misc]
    """Save the mapping table as a JSON file"""
    bl_idname = "lipsync.export_mapping"
    bl_label = "Export Mapping"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OpResult:
        obj = _mesh(context)
        try:
            mapping.save(properties.rows_to_mapping(obj), self.properties.filepath)
        except OSError as exc:
            self.report({"ERROR"}, f"Could not write {self.properties.filepath!r} ({exc.strerror}).")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved {len(obj.lipsync.rows)} rows to {self.properties.filepath}.")
        return {"FINISHED"}


class LIPSYNC_OT_save_preset(_MeshOperator):
    """Save the mapping table as your own preset (in the extension's user folder); it is then
    listed beside the shipped presets"""
    bl_idname = "lipsync.save_preset"
    bl_label = "Save Preset"
    name: StringProperty(name="Name", default="")  # type: ignore[valid-type]

    def invoke(self, context: Any, event: Any) -> OpResult:
        if not self.name:
            self.name = _mesh(context).lipsync.table_name or _mesh(context).name
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context: Any) -> OpResult:
        obj = _mesh(context)
        if not len(obj.lipsync.rows):
            self.report({"ERROR"}, f"{obj.name!r} has no mapping rows to save; load a preset "
                                   "or add rows first.")
            return {"CANCELLED"}
        try:
            path = user_presets.save(properties.rows_to_mapping(obj), self.name)
        except mapping.MappingError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"Could not write the preset ({exc.strerror}); check that "
                                   f"{user_presets.folder()} is writable.")
            return {"CANCELLED"}
        obj.lipsync.table_name = path.stem
        self.report({"INFO"}, f"Saved your preset {path.stem!r} ({len(obj.lipsync.rows)} rows) "
                              f"to {path}.")
        return {"FINISHED"}


class LIPSYNC_OT_row_add(_MeshOperator):
    """Add a mapping row"""
    bl_idname = "lipsync.row_add"
    bl_label = "Add Row"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OpResult:
        settings = _mesh(context).lipsync
        settings.rows.add()
        settings.active_row = len(settings.rows) - 1
        return {"FINISHED"}


class LIPSYNC_OT_row_remove(_MeshOperator):
    """Remove the selected mapping row"""
    bl_idname = "lipsync.row_remove"
    bl_label = "Remove Row"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> OpResult:
        settings = _mesh(context).lipsync
        if 0 <= settings.active_row < len(settings.rows):
            settings.rows.remove(settings.active_row)
            settings.active_row = max(0, settings.active_row - 1)
        return {"FINISHED"}


class LIPSYNC_OT_add_shape_keys(_MeshOperator):
    """Add the shape keys a preset drives (empty, for you to sculpt) to the active mesh"""
    bl_idname = "lipsync.add_shape_keys"
    bl_label = "Add Shape Keys"
    bl_options = {"REGISTER", "UNDO"}
    preset: StringProperty(name="Preset", description="Preset name; empty = the panel's "  # type: ignore[valid-type]
                           "preset")
    arkit_all: EnumProperty(name="Names", default="PRESET", items=[  # type: ignore[valid-type]
        ("PRESET", "Preset", "Only the shape keys the preset drives"),
        ("ARKIT52", "All ARKit 52", "All 52 ARKit names (ARKit preset only)")])

    def execute(self, context: Any) -> OpResult:
        obj = _mesh(context)
        name = self.preset or obj.lipsync.preset or "arkit"
        try:
            table = mapping.load_preset(name)
        except mapping.MappingError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        wanted = list(table.shape_keys)
        if name == "arkit" and self.arkit_all == "ARKIT52":
            wanted = list(mapping.ARKIT_52)
        added = add_shape_keys(obj, wanted)
        if not len(obj.lipsync.rows):
            properties.mapping_to_rows(obj, mapping.resolve(table, _shape_key_names(obj))[0])
        self.report({"INFO"}, f"Added {added} shape keys to {obj.name!r}; sculpt them to taste.")
        return {"FINISHED"}


def add_shape_keys(obj: Any, names: list[str]) -> int:
    """Add missing shape keys (a Basis first if there is none); returns how many were added."""
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    have = {mapping.normalize(n) for n in _shape_key_names(obj)}
    added = 0
    for name in names:
        if mapping.normalize(name) not in have:
            obj.shape_key_add(name=name, from_mix=False)
            have.add(mapping.normalize(name))
            added += 1
    return added


# curves_io_operators' classes register with these (lipsync_addon/__init__.py lists modules)
CLASSES = (LIPSYNC_OT_load_preset, LIPSYNC_OT_auto_match, LIPSYNC_OT_import_mapping,
           LIPSYNC_OT_export_mapping, LIPSYNC_OT_save_preset, LIPSYNC_OT_row_add, LIPSYNC_OT_row_remove,
           LIPSYNC_OT_add_shape_keys) + curves_io_operators.CLASSES

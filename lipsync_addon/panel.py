"""The 3D Viewport > Sidebar > Lip Sync panel and the mapping table's UIList.

Imports: bpy, lipsync_core (relatively), the add-on's own modules.
"""
from __future__ import annotations

from typing import Any

import bpy

from ..lipsync_core import mapping
from . import all_strips_operator, compat, properties, run_state, strip_source, worker_client


class LIPSYNC_UL_mapping(bpy.types.UIList):
    """One row: enabled, parameter -> shape key, weight, half."""

    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any,
                  active_data: Any, active_property: Any, index: Any = 0,
                  flt_flag: Any = 0) -> None:
        obj = context.active_object
        key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        row.prop(item, "parameter", text="")
        if key is not None:
            row.prop_search(item, "shape_key", key, "key_blocks", text="",
                            icon="NONE" if item.shape_key in key.key_blocks else "ERROR")
        else:
            row.prop(item, "shape_key", text="")
        row.prop(item, "weight", text="")
        row.prop(item, "half", text="")


class LIPSYNC_PT_panel(bpy.types.Panel):
    bl_label = "Lip Sync"
    bl_idname = "LIPSYNC_PT_panel"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Lip Sync"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        scene = context.scene
        state = scene.lipsync
        obj = context.active_object

        box = layout.box()
        if obj is None or obj.type != "MESH":
            box.label(text="Select a mesh to animate", icon="ERROR")
        else:
            key = obj.data.shape_keys
            count = len(key.key_blocks) - 1 if key is not None else 0
            box.label(text=f"{obj.name}: {count} shape keys",
                      icon="SHAPEKEY_DATA" if count else "ERROR")
            if not count:
                box.operator("lipsync.add_shape_keys", icon="ADD")

        box = layout.box()
        sound_scene = compat.sequencer_scene(context)
        if sound_scene.sequence_editor is None:
            sound_scene = scene
        if sound_scene.sequence_editor is not None:
            box.prop(state, "strip", text="Strip", icon="SOUND")   # searches sound strips only
        try:
            strip = strip_source.find_strip(sound_scene, state.strip)
            fps = scene.render.fps / scene.render.fps_base
            length = (strip.frame_final_end - strip.frame_final_start) / fps
            box.label(text=f"{strip.name}: frames {strip.frame_final_start}-"
                           f"{strip.frame_final_end - 1} ({length:.2f} s)"
                           + (" [muted]" if strip.mute else ""), icon="SEQUENCE")
        except strip_source.InputError as exc:
            box.label(text=str(exc)[:90], icon="ERROR")

        worker = worker_client.current_worker()
        hello = worker.hello if worker is not None and worker.alive else None
        last_device = getattr(worker_client, "last_device", lambda: None)()
        if hello:
            layout.label(text=f"{worker_client.model_label(hello)} on {hello.get('device')}",
                         icon="CHECKMARK")
        elif last_device:
            layout.label(text=f"Last run on {last_device}", icon="TIME")
        else:
            layout.label(text="Worker starts on first use", icon="TIME")

        col = layout.column(align=True)
        col.prop(state, "lead_ms", text="Lead (ms)")
        col.prop(state, "intensity")
        col.prop(state, "smoothing_ms", text="Smoothing (ms)")
        row = col.row(align=True)
        row.prop(state, "density", expand=True)
        if state.density == "REDUCED":
            col.prop(state, "tolerance")
        col.prop(state, "interpolation")
        col.prop(state, "use_nla")
        col.prop(state, "auto_rekey")

        if obj is not None and obj.type == "MESH":
            self.draw_mapping(layout, obj)

        run = run_state.get(str(getattr(state.id_data, "name", "")))
        if run is not None:
            row = layout.row(align=True)
            row.progress(factor=run.progress, type="BAR",
                         text=f"{run.stage} {int(run.progress * 100)}%") \
                if hasattr(row, "progress") else row.label(text=f"{run.stage} "
                                                                f"{int(run.progress * 100)}%")
            row.operator("lipsync.cancel", text="", icon="CANCEL")
        else:
            layout.operator("lipsync.generate", icon="PLAY")
            row = layout.row(align=True)
            row.operator("lipsync.rekey", icon="FILE_REFRESH")
            row.operator("lipsync.import_curves", text="", icon="IMPORT")
            row.operator("lipsync.export_curves", text="", icon="EXPORT")
            all_strips_operator.draw(layout, context)
        if state.last_report:
            for chunk in _wrap(state.last_report, 60):
                layout.label(text=chunk)

    def draw_mapping(self, layout: Any, obj: Any) -> None:
        settings = obj.lipsync
        box = layout.box()
        row = box.row(align=True)
        row.prop(settings, "preset", text="")
        row.operator("lipsync.load_preset", text="Load")
        row.operator("lipsync.auto_match", text="", icon="VIEWZOOM")
        row.operator("lipsync.save_preset", text="", icon="FILE_TICK")
        row = box.row(align=True)
        row.prop(settings, "convention", text="")
        if settings.convention == "arkit":
            row.prop(settings, "seal_jaw")
        elif settings.convention == "solve":
            row.prop(settings, "mode", text="")
            row.prop(settings, "min_hold_ms", text="Hold (ms)")
        if settings.convention == "solve":
            box.label(text="Rows: each shape's signature (what the parameters read at 1.0)",
                      icon="INFO")
        row = box.row()
        row.template_list("LIPSYNC_UL_mapping", "", settings, "rows", settings, "active_row", rows=5)
        col = row.column(align=True)
        col.operator("lipsync.row_add", text="", icon="ADD")
        col.operator("lipsync.row_remove", text="", icon="REMOVE")
        col.separator()
        col.operator("lipsync.import_mapping", text="", icon="IMPORT")
        col.operator("lipsync.export_mapping", text="", icon="EXPORT")
        key = obj.data.shape_keys
        if key is not None and len(settings.rows):
            table = properties.rows_to_mapping(obj)
            names = [k.name for k in key.key_blocks]
            _, missing = mapping.resolve(table, names)
            free = mapping.unmapped(table, names, basis=key.reference_key.name)
            if missing:
                box.label(text=f"Missing: {', '.join(missing[:5])}"
                               + (" ..." if len(missing) > 5 else ""), icon="ERROR")
            if free:
                box.label(text=f"Unmapped: {', '.join(free[:5])}"
                               + (f" (+{len(free) - 5})" if len(free) > 5 else ""), icon="INFO")


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


CLASSES = (LIPSYNC_UL_mapping, LIPSYNC_PT_panel)

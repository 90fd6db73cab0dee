"""Blender properties: the mapping rows stored on each Object, the job settings on each Scene
(and its strip -> mesh list for Generate All Strips); a running job's state is not here
(run_state: never saved).

The rows' parameter list is built from lipsync_core.params, the one source of the 26 names.
Job settings cross into plain Python once, in :func:`read_settings`.

Imports: bpy, lipsync_core (relatively).
"""
from __future__ import annotations

import json
from typing import Any

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty,
                       IntProperty, PointerProperty, StringProperty)

from ..lipsync_core import keyplan, mapping
from ..lipsync_core.params import PARAMS
from . import run_state

PARAMETER_ITEMS = [(p.name, p.name, p.description) for p in PARAMS]
HALF_ITEMS = [("+", "+", "Positive half (max(v, 0)); the whole value of an unsigned parameter"),
              ("-", "-", "Negative half (max(-v, 0)) of a signed parameter"),
              ("both", "±", "Magnitude |v|")]


def _preset_items(self: Any, context: Any) -> list[tuple[str, str, str]]:
    """The shipped presets, then the artist's own (Save Preset; see user_presets)."""
    from . import user_presets
    items = [(name, name, f"assets/mappings/{name}.json") for name in mapping.preset_names()]
    items += [(user_presets.PREFIX + name, f"{name} (yours)",
               f"Your preset: {user_presets.folder() / (name + '.json')}")
              for name in user_presets.names()]
    _preset_items.cache = items  # type: ignore[attr-defined]   # keep strings alive for Blender
    return items


class LIPSYNC_PG_mapping_row(bpy.types.PropertyGroup):
    parameter: EnumProperty(name="Parameter", items=PARAMETER_ITEMS,  # type: ignore[valid-type]
                            description="Mouth parameter this row reads")
    shape_key: StringProperty(name="Shape Key",  # type: ignore[valid-type]
                              description="Shape key this row drives")
    weight: FloatProperty(name="Weight", default=1.0, soft_min=-2.0,  # type: ignore[valid-type]
                          soft_max=2.0, description="Multiplier; negative subtracts")
    half: EnumProperty(name="Half", items=HALF_ITEMS, default="+",  # type: ignore[valid-type]
                       description="Which part of a signed parameter the row uses")
    enabled: BoolProperty(name="Enabled", default=True)  # type: ignore[valid-type]


CONVENTION_ITEMS = [
    ("table", "Weighted Table", "Each shape key is the weighted sum of its rows"),
    ("arkit", "ARKit", "ARKit meanings: mouthClose tied to jawOpen and never above it, the jaw a "
                       "little open through a seal, lip openers give way to a closure and to "
                       "an f/v tuck"),
    ("solve", "Viseme Solve", "Rows are each shape's signature; per frame the rig's own shapes "
                              "that best reproduce the mouth are solved for, and a closure wins")]
MODE_ITEMS = [("blend", "Blend", "Mix the solved shapes"),
              ("hold", "Hold", "One shape at a time at full weight (stylised mouth sets)")]


class LIPSYNC_PG_object(bpy.types.PropertyGroup):
    """Per object: its mapping table and convention (saved in the .blend)."""
    rows: CollectionProperty(type=LIPSYNC_PG_mapping_row)  # type: ignore[valid-type]
    active_row: IntProperty(default=0)  # type: ignore[valid-type]
    preset: EnumProperty(name="Preset", items=_preset_items,  # type: ignore[valid-type]
                         description="Mapping preset to load: the shipped ones and yours")
    table_name: StringProperty(name="Table", default="")  # type: ignore[valid-type]
    convention: EnumProperty(name="Convention", items=CONVENTION_ITEMS,  # type: ignore[valid-type]
                             default="table", description="What the rig's shapes mean")
    seal_jaw: FloatProperty(name="Seal Jaw", default=mapping.Options.seal_jaw,  # type: ignore[valid-type]
                            min=0.0, max=1.0, description="jawOpen through a full seal (ARKit)")
    mode: EnumProperty(name="Mode", items=MODE_ITEMS, default="blend")  # type: ignore[valid-type]
    min_hold_ms: FloatProperty(name="Min Hold", default=0.0, min=0.0,  # type: ignore[valid-type]
                               max=1000.0, precision=0,
                               description="Shortest time a shape is shown, milliseconds")
    aliases_json: StringProperty(default="")  # type: ignore[valid-type]
    keyed_json: StringProperty(default="")  # type: ignore[valid-type]   # shapes the last run keyed


def _settings_changed(self: Any, context: Any) -> None:
    """A key setting changed in the panel: re-key from the kept curves (see auto_rekey)."""
    if bpy.app.background or not self.auto_rekey or \
            run_state.is_running(str(getattr(self.id_data, "name", ""))):
        return                       # scripts and the batch set several settings, then run
    auto_rekey(context)


def auto_rekey(context: Any) -> bool:
    """Re-key the active mesh from its strip's kept curves when it was keyed before and curves
    are kept; the panel's report says what happened. True when it re-keyed."""
    obj = context.active_object
    if obj is None or obj.type != "MESH" or not obj.lipsync.keyed_json:
        return False
    from . import curves_io_operators
    from .strip_source import InputError
    try:
        report = curves_io_operators.rekey(context, only_if_kept=True)
    except InputError as exc:
        context.scene.lipsync.last_report = str(exc)
        return False
    if report is None:
        return False
    context.scene.lipsync.last_report = report.sentence()
    return True


class LIPSYNC_PG_strip_target(bpy.types.PropertyGroup):
    """One row of the All Strips list: a sound strip and the mesh it animates."""
    strip: StringProperty(name="Strip", description="Sound strip name")  # type: ignore[valid-type]
    target: PointerProperty(name="Mesh", type=bpy.types.Object,  # type: ignore[valid-type]
                            poll=lambda self, obj: obj.type == "MESH",
                            description="Mesh this strip's lip sync keys; empty = match by name")


def _sound_strip_names(self: Any, context: Any, edit_text: str) -> list[str]:
    """The strip picker's choices: the sound strips only (of the sequencer scene, else the
    scene that owns these settings)."""
    from . import compat, strip_source
    scene = compat.sequencer_scene(context)
    if scene is None or scene.sequence_editor is None:
        scene = self.id_data
    if scene.sequence_editor is None:
        return []
    return sorted(s.name for s in strip_source.sound_strips(scene))


class LIPSYNC_PG_scene(bpy.types.PropertyGroup):
    """Per scene: the job settings and the state of a running job."""
    strip: StringProperty(name="Sound Strip", search=_sound_strip_names,  # type: ignore[valid-type]
                          description="Sound strip to use; empty = the active sound strip")
    lead_ms: FloatProperty(update=_settings_changed, name="Lead", default=keyplan.DEFAULT_LEAD_MS,  # type: ignore[valid-type]
                           soft_min=-200.0, soft_max=300.0, step=100, precision=0,
                           description="Extra milliseconds the mouth moves ahead of the sound, "
                                       "on top of the lead the model already learned from real "
                                       "speakers; 0 = the model's own timing")
    intensity: FloatProperty(update=_settings_changed, name="Intensity", default=1.0, min=0.0,  # type: ignore[valid-type]
                             soft_max=2.0, description="Multiplier on every shape key")
    smoothing_ms: FloatProperty(update=_settings_changed, name="Smoothing", default=0.0, min=0.0,  # type: ignore[valid-type]
                                soft_max=100.0, precision=0,
                                description="Gaussian smoothing in milliseconds (closures keep "
                                            "their depth); 0 = off")
    density: EnumProperty(update=_settings_changed, name="Keys", default="ALL", items=[  # type: ignore[valid-type]
        ("ALL", "Every Frame", "A key on every frame"),
        ("REDUCED", "Reduced", "Only the keys needed to stay within the tolerance")])
    tolerance: FloatProperty(update=_settings_changed, name="Tolerance", default=0.02, min=0.001,  # type: ignore[valid-type]
                             max=0.5, description="Largest difference of the played curve "
                                                  "from the full one when keys are reduced")
    interpolation: EnumProperty(update=_settings_changed, name="Interpolation", default="BEZIER", items=[  # type: ignore[valid-type]
        ("BEZIER", "Bezier", "Smooth keys (more of them are kept to honour the tolerance)"),
        ("LINEAR", "Linear", "Straight lines between keys")])
    auto_rekey: BoolProperty(name="Re-key on Change", default=True,  # type: ignore[valid-type]
                             description="When lead, intensity, smoothing or key density "
                                         "change, key again from the kept curves (no model)")
    use_nla: BoolProperty(name="Push to NLA", default=False,  # type: ignore[valid-type]
                          description="Put the result in a new NLA strip")
    last_report: StringProperty(default="")  # type: ignore[valid-type]
    # Generate All Strips: which mesh each sound strip animates (see all_strips_operator)
    strip_targets: CollectionProperty(type=LIPSYNC_PG_strip_target)  # type: ignore[valid-type]
    active_strip_target: IntProperty(default=0)  # type: ignore[valid-type]

    # The state of a running job is plain Python (run_state.get(scene.name)), never a Blender
    # property (SKIP_SAVE does not apply to scene properties, so one would be saved in the .blend)
    # and never a Python @property on this class either: bpy 4.2 crashes at exit with those.


def read_settings(scene: Any, lead_ms: float | None = None) -> keyplan.KeySettings:
    s = scene.lipsync
    return keyplan.KeySettings(
        lead_ms=s.lead_ms if lead_ms is None else float(lead_ms),
        intensity=s.intensity,
        smoothing_ms=s.smoothing_ms,
        tolerance=s.tolerance if s.density == "REDUCED" else 0.0,
        interpolation=s.interpolation,
    )


def rows_to_mapping(obj: Any) -> mapping.Mapping:
    s = obj.lipsync
    rows = tuple(mapping.Row(r.parameter, r.shape_key, r.weight, r.half, r.enabled)
                 for r in s.rows if r.shape_key)
    aliases: tuple = ()
    if s.aliases_json:
        try:
            aliases = tuple((k, tuple(v)) for k, v in json.loads(s.aliases_json).items())
        except (ValueError, AttributeError, TypeError):
            aliases = ()
    return mapping.Mapping(s.table_name or obj.name, rows, "", s.convention,
                           mapping.Options(s.seal_jaw, s.mode, s.min_hold_ms), aliases)


def mapping_to_rows(obj: Any, table: mapping.Mapping) -> None:
    s = obj.lipsync
    rows = s.rows
    rows.clear()
    for r in table.rows:
        item = rows.add()
        item.parameter, item.shape_key, item.weight = r.parameter, r.shape_key, r.weight
        item.half, item.enabled = r.half, r.enabled
    s.active_row = 0
    s.table_name = table.name
    s.convention = table.convention
    s.seal_jaw, s.mode, s.min_hold_ms = (table.options.seal_jaw, table.options.mode,
                                         table.options.min_hold_ms)
    s.aliases_json = json.dumps({k: list(v) for k, v in table.aliases}) if table.aliases else ""


def keyed_shapes(obj: Any) -> list[str]:
    """Shape keys the last lip-sync run keyed on ``obj``."""
    try:
        names = json.loads(obj.lipsync.keyed_json or "[]")
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)]


def set_keyed_shapes(obj: Any, names: list[str]) -> None:
    obj.lipsync.keyed_json = json.dumps(names, ensure_ascii=False)


CLASSES = (LIPSYNC_PG_mapping_row, LIPSYNC_PG_object, LIPSYNC_PG_strip_target, LIPSYNC_PG_scene)


def register_props() -> None:
    setattr(bpy.types.Object, "lipsync", PointerProperty(type=LIPSYNC_PG_object))  # type: ignore[func-returns-value]
    setattr(bpy.types.Scene, "lipsync", PointerProperty(type=LIPSYNC_PG_scene))  # type: ignore[func-returns-value]


def unregister_props() -> None:
    delattr(bpy.types.Scene, "lipsync")
    delattr(bpy.types.Object, "lipsync")

"""Differences between Blender 4.2, 4.5 and 5.0 that the add-on touches, in one place.

- Sequencer: 5.0 has ``strips``/``strips_all`` only, 4.2 ``sequences``/``sequences_all`` only.
- Context: 5.0 adds ``context.sequencer_scene`` (None in script-made files).
- F-curves: 4.4 added layered actions and ``Action.fcurve_ensure_for_datablock``; 5.0 removed
  ``Action.fcurves``. Before 4.4 F-curves live in ``action.fcurves``.
- NLA: from 4.4 an NLA strip needs the action slot (``strip.action_slot``).

The branch choice is a pure function of the version tuple (:func:`fcurve_api`) so it is unit
tested without Blender. Imports: bpy (lazily, inside functions that need it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from typing import Literal
    # what an operator's execute/invoke/modal returns
    OpResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]

LAYERED_ACTIONS_VERSION = (4, 4, 0)


def fcurve_api(version: tuple[int, ...]) -> str:
    """``"layered"`` (4.4+: slots and channelbags) or ``"legacy"`` (``action.fcurves``)."""
    return "layered" if tuple(version[:3]) >= LAYERED_ACTIONS_VERSION else "legacy"


def _version() -> tuple[int, ...]:
    import bpy
    return tuple(bpy.app.version)


def strips(sequence_editor: Any, all_levels: bool = True) -> Iterable[Any]:
    """Every strip of a sequence editor (inside meta strips too when ``all_levels``)."""
    if sequence_editor is None:
        return ()
    name = ("strips_all" if all_levels else "strips")
    if hasattr(sequence_editor, name):
        return getattr(sequence_editor, name)
    return getattr(sequence_editor, "sequences_all" if all_levels else "sequences")


def sequencer_scene(context: Any) -> Any:
    """The scene whose sequencer holds the sound (5.0's ``sequencer_scene``, else the scene)."""
    return getattr(context, "sequencer_scene", None) or context.scene


def find_fcurve(action: Any, key_id: Any, data_path: str) -> Any:
    """An existing F-curve for ``data_path`` of ``key_id`` in ``action``, or None."""
    if fcurve_api(_version()) == "legacy":
        return action.fcurves.find(data_path)
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                ad = key_id.animation_data
                if ad is not None and ad.action_slot is not None and bag.slot != ad.action_slot:
                    continue
                found = bag.fcurves.find(data_path)
                if found is not None:
                    return found
    return None


def remove_fcurve(action: Any, key_id: Any, fcurve: Any) -> None:
    """Remove ``fcurve`` from ``action`` (its channelbag on 4.4+)."""
    if fcurve_api(_version()) == "legacy":
        action.fcurves.remove(fcurve)
        return
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                if any(fc == fcurve for fc in bag.fcurves):
                    bag.fcurves.remove(fcurve)
                    return


def ensure_fcurve(action: Any, key_id: Any, data_path: str, group: str | None = None) -> Any:
    """The F-curve for ``data_path`` of ``key_id`` in ``action``, created if missing."""
    if fcurve_api(_version()) == "legacy":
        fcurve = action.fcurves.find(data_path)
        if fcurve is None:
            fcurve = action.fcurves.new(data_path, action_group=group or "")
        return fcurve
    fcurve = action.fcurve_ensure_for_datablock(key_id, data_path)
    if group and fcurve.group is None:
        # Groups are optional cosmetics; where the API differs, skip them.
        try:
            bag = fcurve.id_data.layers[0].strips[0].channelbag(key_id.animation_data.action_slot)
            grp = bag.groups.get(group) or bag.groups.new(group)
            fcurve.group = grp
        except (AttributeError, IndexError, RuntimeError, TypeError):
            pass
    return fcurve


def push_to_nla(id_data: Any, name: str) -> Any:
    """Move ``id_data``'s active action into a new NLA track; returns the NLA strip."""
    ad = id_data.animation_data
    action = ad.action
    track = ad.nla_tracks.new()
    track.name = name
    start = int(action.frame_range[0])
    strip = track.strips.new(name, start, action)
    if fcurve_api(_version()) == "layered" and hasattr(strip, "action_slot"):
        strip.action_slot = ad.action_slot
    ad.action = None
    return strip

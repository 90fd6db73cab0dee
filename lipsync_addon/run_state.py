"""The state of running lip-sync jobs, per scene, kept in Python and never in the .blend.

A job (one Generate, or one Generate All Strips run) registers a :class:`RunState` under its
scene's *name*; the panel's progress bar, ``poll()`` of Generate and Check, and the per-scene
Cancel read it from here. Nothing of it is a Blender property, so nothing about a running job
can be saved into a file (``SKIP_SAVE`` does not apply to scene properties), and a file load
(``load_post``, a persistent handler) cancels every job: a modal handler that Blender drops
with the old file can never leave a scene stuck in "running".

The modal operators hold the :class:`RunState` (plain Python) and the scene's name across
ticks, never the scene or its property group (Ctrl+Z can free those under them).

Imports: bpy (the handler decorator only).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import bpy

log = logging.getLogger(__name__)


@dataclass
class RunState:
    scene_name: str
    stage: str = "starting worker"
    progress: float = 0.0                 # 0..1 of the whole run
    cancel_requested: bool = False
    # called once when a file load drops the job (cancel the worker's request, remove temps)
    on_drop: list[Callable[[], None]] = field(default_factory=list)


_runs: dict[str, RunState] = {}           # scene name -> its running job


def get(scene_name: str) -> RunState | None:
    return _runs.get(scene_name)


def is_running(scene_name: str) -> bool:
    return scene_name in _runs


def any_running() -> bool:
    return bool(_runs)


def begin(scene_name: str) -> RunState:
    """Register a new job in ``scene_name``; ValueError when one runs there already."""
    if scene_name in _runs:
        raise ValueError(f"A lip-sync job is already running in scene {scene_name!r}.")
    state = _runs[scene_name] = RunState(scene_name)
    return state


def end(state: RunState) -> None:
    """The job of ``state`` is over (whatever the outcome); a later job may start."""
    if _runs.get(state.scene_name) is state:
        del _runs[state.scene_name]


def request_cancel(scene_name: str) -> bool:
    """Ask the job of ``scene_name`` (only that one) to stop; False when none runs there."""
    state = _runs.get(scene_name)
    if state is None:
        return False
    state.cancel_requested = True
    return True


def drop_all() -> None:
    """Cancel and forget every job (a file is being loaded: their scenes are going away)."""
    for state in list(_runs.values()):
        state.cancel_requested = True
        for drop in state.on_drop:
            try:
                drop()
            except Exception:                 # noqa: BLE001 - a load must never fail here
                log.exception("could not drop a lip-sync job")
        state.on_drop.clear()
    _runs.clear()


@bpy.app.handlers.persistent
def reset_on_load(*_args: Any) -> None:
    """load_pre / load_post: no job survives a file load (see the module docstring)."""
    drop_all()


def register_handlers() -> None:
    for handlers in (bpy.app.handlers.load_pre, bpy.app.handlers.load_post):
        if reset_on_load not in handlers:
            handlers.append(reset_on_load)


def unregister_handlers() -> None:
    for handlers in (bpy.app.handlers.load_pre, bpy.app.handlers.load_post):
        if reset_on_load in handlers:
            handlers.remove(reset_on_load)

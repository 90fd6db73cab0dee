"""The Blender side of Lip Sync: properties, operators, panel, preferences and the headless
batch script. Everything that imports bpy lives in this package; it imports the shared pure code
relatively (``from ..lipsync_core import ...``) because it ships inside the extension package,
and it never imports torch, transformers, onnxruntime or inference (the worker, lipsync_runtime,
runs the model in its own process with Blender's own Python).

Modules, by what they own:
  properties          PropertyGroups (mapping rows on Object, job settings on Scene)
  compat              Blender 4.2 / 4.4+ / 5.0 differences (strips, F-curves, NLA)
  strip_source        the sound strip: which, its file (packed too), its timing
  worker_client       spawning and talking to ``python -m lipsync_runtime serve``; its watchdog
  worker_log          the worker's log file in the extension's user folder
  environment         which Python runs the worker, its import paths, model and device
  job                 checks and plans a job, writes its result
  keyframe_writer     fast shape-key F-curve writing that replaces only its own range
  generate_operator   ``lipsync.generate`` (execute: synchronous; invoke: modal) and cancel
  all_strips_operator ``lipsync.generate_all``: every sound strip onto its mesh, one run
  run_state           per-scene state of running jobs (Python only, never saved; reset on load)
  mapping_operators   presets, auto-match, JSON import/export, rows, add shape keys
  user_presets        the artist's own mapping presets in the extension's user folder
  curves_io_operators Re-key, Import Curves, Export Curves (capture once, key many)
  capture_store       a strip's curves kept in the .blend with the model's identity
  panel               the sidebar panel and the mapping UIList
  preferences         add-on preferences: device, Check, Open Log, another Python
  batch               ``blender -b file.blend --python lipsync_addon/batch.py -- ...``
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _classes() -> tuple:
    from . import (all_strips_operator, generate_operator, mapping_operators, panel, preferences,
                   properties)
    return (properties.CLASSES + preferences.CLASSES + generate_operator.CLASSES
            + all_strips_operator.CLASSES + mapping_operators.CLASSES + panel.CLASSES)


def register() -> None:
    import bpy
    from . import properties, run_state
    for cls in _classes():
        bpy.utils.register_class(cls)
    properties.register_props()
    run_state.register_handlers()


def unregister() -> None:
    import bpy
    from . import properties, run_state, worker_client
    run_state.unregister_handlers()
    worker_client.shutdown_worker()    # the worker also exits by itself when Blender quits
    properties.unregister_props()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)

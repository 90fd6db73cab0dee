"""``python -m inference batch``: many dialogue lines -> curves files, cached and resumable.

Modules: ``manifest`` (the list of lines), ``cache`` (content-addressed results), ``work`` (one
line through a warm engine, shared by every engine), ``engines.local`` (worker processes on this
machine), ``engines.ray`` (an actor pool on a Ray cluster), ``summary`` (summary.json),
``progress`` and ``cli``.

The batch path runs on the ONNX runtime (lipsync_runtime) and lipsync_core only: it never
imports torch, transformers or bpy, so a farm node needs the runtime's small dependencies only.
"""

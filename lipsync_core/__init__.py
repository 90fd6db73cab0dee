"""Pieces both sides of the project need: the 26-parameter schema, mapping maths, frame timing,
the curves file format and the worker protocol.

Imports only the standard library and numpy: never ``bpy`` and never ``torch``. The Blender
add-on imports this package relatively (it ships inside the extension); the inference worker
imports it as the top-level package ``lipsync_core``.
"""

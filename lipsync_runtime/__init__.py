"""The lip-sync runtime that ships in the Blender extension: speech -> the 26 mouth curves on
ONNX Runtime and numpy, and the JSON Lines worker the add-on spawns.

Imports numpy, onnxruntime, soundfile, soxr and lipsync_core; never torch, transformers, bpy or
inference (tests/unit/test_boundaries.py checks). ``python -m inference export`` makes the model
folders it runs.
"""

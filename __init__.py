"""Blender extension entry point: the add-on lives in lipsync_addon/ (see blender_manifest.toml)."""
from .lipsync_addon import register, unregister  # noqa: F401
